r"""Holds out every N-th document, article or row of a data file: a deterministic train / held-out split.

For data that ships without the split an experiment needs (see bert/data_split.py):
  # held-out documents of a pretraining corpus
  python split_data.py --format=documents --input_file=corpus.txt --heldout_every=10 \
    --train_output=train.txt --heldout_output=heldout.txt
  # DRCD test as train/dev by article; OCNLI by premise
  python split_data.py --format=squad --input_file=DRCD_test.json --heldout_every=5 \
    --train_output=drcd_train.json --heldout_output=drcd_dev.json
  python split_data.py --format=jsonl --group_field=prem_id --input_file=train.10k.json --heldout_every=5 \
    --train_output=train.json --heldout_output=dev.json
"""
import json
import sys

from absl import app
from absl import flags

from bert import data_split
from bert.errors import UsageError

FLAGS = flags.FLAGS

flags.DEFINE_string("input_file", None, "The file to split.")
flags.DEFINE_enum("format", None, data_split.FORMATS,
                  "documents: pretraining corpus (blank line between documents); squad: SQuAD-format JSON, "
                  "split by article; jsonl: JSON lines, split by row or by --group_field.")
flags.DEFINE_integer("heldout_every", 10, "Hold out one unit in this many (unit k is held out when k % N == N-1).")
flags.DEFINE_string("train_output", None, "Where the training part goes.")
flags.DEFINE_string("heldout_output", None, "Where the held-out part goes.")
flags.DEFINE_string("group_field", None, "jsonl: rows with the same value of this field stay on one side.")


def main(_):
  try:
    if not FLAGS.input_file or not FLAGS.format:
      raise UsageError("--input_file and --format are required")
    counts = data_split.split_file(FLAGS.input_file, FLAGS.format, FLAGS.heldout_every, FLAGS.train_output,
                                   FLAGS.heldout_output, group_field=FLAGS.group_field)
  except UsageError as error:
    sys.exit("error: %s" % error)
  print(json.dumps(counts, sort_keys=True))


if __name__ == "__main__":
  app.run(main)
