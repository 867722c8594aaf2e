"""Trains a WordPiece vocab.txt for BERT from raw text files.

Example:
  python build_vocab.py --input_file=corpus/*.txt --output_file=out/vocab.txt \
    --vocab_size=21128 --num_unused_tokens=99 --extra_tokens='<S>,<T>'
"""
import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert import vocab_builder
from bert.errors import UsageError

FLAGS = flags.FLAGS

common_flags.define_tokenizer_flags(with_vocab_file=False)
flags.DEFINE_string("input_file", None,
                    "Comma-separated text files or glob patterns (same format as create_pretraining_data.py).")
flags.DEFINE_string("output_file", None, "Where to write vocab.txt (one token per line).")
flags.DEFINE_integer("vocab_size", vocab_builder.DEFAULT_VOCAB_SIZE,
                     "Target vocabulary size including reserved tokens (21128 = Google's Chinese vocab).")
flags.DEFINE_bool("strip_accents", None,
                  "Strip accents (NFD, drop combining marks). Default: same as --do_lower_case, like "
                  "tokenization.FullTokenizer.")
flags.DEFINE_integer("num_unused_tokens", 0,
                     "Number of [unusedN] placeholder tokens reserved right after [PAD] [UNK] [CLS] [SEP] [MASK].")
flags.DEFINE_list("extra_tokens", [], "Further reserved tokens after the unused slots, e.g. '<S>,<T>'.")
flags.DEFINE_integer("min_frequency", 2, "Minimum count of a merged WordPiece (single characters are always kept).")
flags.DEFINE_integer("limit_alphabet", None,
                     "Keep only this many most frequent characters (default: all, so no training character is [UNK]).")

# `--help` lists the shared flag with the script's own.
flags.adopt_module_key_flags(common_flags)

flags.mark_flag_as_required("input_file")
flags.mark_flag_as_required("output_file")


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    files = vocab_builder.expand_input_files(FLAGS.input_file)
    tokens = vocab_builder.train_vocab(
        files, vocab_size=FLAGS.vocab_size, do_lower_case=FLAGS.do_lower_case, strip_accents=FLAGS.strip_accents,
        num_unused_tokens=FLAGS.num_unused_tokens, extra_tokens=FLAGS.extra_tokens,
        min_frequency=FLAGS.min_frequency, limit_alphabet=FLAGS.limit_alphabet, show_progress=True)
    vocab_builder.write_vocab(tokens, FLAGS.output_file)
  except UsageError as e:
    sys.exit("error: %s" % e)
  if len(tokens) != FLAGS.vocab_size:
    # Fewer: the corpus ran out of merges. More: its characters alone exceed the size (they are always kept).
    logging.warning("the vocabulary has %d tokens (asked for %d); set vocab_size=%d in bert_config.json",
                    len(tokens), FLAGS.vocab_size, len(tokens))
  logging.info("wrote %d tokens from %d file(s) to %s", len(tokens), len(files), FLAGS.output_file)


if __name__ == "__main__":
  app.run(main)
