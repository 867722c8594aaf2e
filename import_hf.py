"""Imports a Hugging Face BERT directory as a TF checkpoint with Google BERT's variable names.

Example:
  python import_hf.py --hf_dir=path/to/hf_bert --output_dir=out/imported
  python run_classifier.py --init_checkpoint=out/imported/bert_model.ckpt \
    --bert_config_file=out/imported/bert_config.json --vocab_file=out/imported/vocab.txt ...

Reads model.safetensors (no torch needed) or pytorch_model.bin (needs torch), sharded forms included.
"""
import sys

from absl import app
from absl import flags
from absl import logging

from bert import hf_interop
from bert.errors import UsageError

FLAGS = flags.FLAGS

flags.DEFINE_string("hf_dir", None, "Hugging Face model directory (config.json with model_type bert, weights, vocab).")
flags.DEFINE_string("output_dir", None,
                    "Where to write bert_model.ckpt.*, checkpoint, bert_config.json and vocab.txt.")

flags.mark_flag_as_required("hf_dir")
flags.mark_flag_as_required("output_dir")


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    summary = hf_interop.import_hf(FLAGS.hf_dir, FLAGS.output_dir)
  except UsageError as e:
    sys.exit("error: %s" % e)
  for note in summary.notes:
    logging.warning("%s", note)
  if summary.ignored:
    logging.warning("ignored %d tensors that have no BERT variable: %s", len(summary.ignored),
                    ", ".join(summary.ignored))
  logging.info("read %s: %d variables, heads: %s", summary.weights_file, summary.num_variables,
               ", ".join(summary.heads) or "none")
  if summary.id2label:
    logging.info("classifier labels (id: name): %s", summary.id2label)
  if summary.do_lower_case is not None:
    logging.info("the tokenizer was trained with do_lower_case=%s: pass --do_lower_case=%s to the BERT scripts",
                 summary.do_lower_case, summary.do_lower_case)
  logging.info("wrote %s", summary.checkpoint)


if __name__ == "__main__":
  app.run(main)
