"""`make demo`: pretrain a tiny Chinese BERT with whole-word masking on the sample corpus, on CPU, in minutes.

Builds whole-word-masked data from sample_data/zh_corpus.txt with Google's Chinese vocabulary
(vocab/zh_vocab.txt), pretrains configs/bert_tiny_zh.json, evaluates on held-out documents and compares the
masked-LM accuracy with the majority-token baseline. See bert/pretraining/demo.py.

  python demo.py [--corpus=FILE] [--num_train_steps=N] [--output_dir=demo_output]
"""
import os
import sys

# The demo reads the held-out records with TensorFlow; its C++ start-up messages would clutter the display.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags

from bert.pretraining import demo as pretraining_demo
from bert.errors import UsageError

ROOT = os.path.dirname(os.path.abspath(__file__))
DEFAULTS = pretraining_demo.DemoSettings(corpus="", vocab_file="", bert_config_file="", output_dir="")

flags.DEFINE_string("corpus", os.path.join(ROOT, "sample_data", "zh_corpus.txt"),
                    "Pretraining-format text: one sentence per line, blank line between documents.")
flags.DEFINE_string("vocab_file", os.path.join(ROOT, "vocab", "zh_vocab.txt"),
                    "WordPiece vocabulary (Google's Chinese vocabulary, 21128 tokens).")
flags.DEFINE_string("bert_config_file", os.path.join(ROOT, "configs", "bert_tiny_zh.json"), "Model config.")
flags.DEFINE_string("output_dir", os.path.join(ROOT, "demo_output"),
                    "Where data, checkpoints and logs go (rebuilt on each run).")
flags.DEFINE_integer("heldout_every", DEFAULTS.heldout_every, "Hold out every N-th document for evaluation.")
flags.DEFINE_integer("max_seq_length", DEFAULTS.max_seq_length, "Sequence length of the demo data.")
flags.DEFINE_integer("max_predictions_per_seq", DEFAULTS.max_predictions_per_seq, "Masked tokens per sequence.")
flags.DEFINE_integer("dupe_factor", DEFAULTS.dupe_factor, "Differently masked copies of the training text.")
flags.DEFINE_integer("train_batch_size", DEFAULTS.train_batch_size, "Training batch size.")
flags.DEFINE_integer("num_train_steps", DEFAULTS.num_train_steps, "Training steps.")
flags.DEFINE_integer("num_warmup_steps", DEFAULTS.num_warmup_steps, "Warmup steps.")
flags.DEFINE_float("learning_rate", DEFAULTS.learning_rate, "Peak learning rate.")
flags.DEFINE_integer("random_seed", DEFAULTS.random_seed, "Seed for data creation and training.")
flags.DEFINE_integer("num_workers", DEFAULTS.num_workers, "Processes for data creation.")

FLAGS = flags.FLAGS


def main(_):
  settings = pretraining_demo.DemoSettings(
      **{name: FLAGS[name].value for name in pretraining_demo.DemoSettings.__dataclass_fields__})
  try:
    pretraining_demo.run_demo(settings)
  except UsageError as error:
    sys.exit("error: %s" % error)


if __name__ == "__main__":
  app.run(main)
