"""Extracts pre-computed token features (Google's JSON-lines format) or sentence vectors from a BERT checkpoint.

Examples:
  # Per-token features of the top four layers, Google's output format:
  python extract_features.py --input_file=sentences.txt --output_file=features.jsonl \
    --vocab_file=chinese_L-12_H-768_A-12/vocab.txt --bert_config_file=chinese_L-12_H-768_A-12/bert_config.json \
    --init_checkpoint=chinese_L-12_H-768_A-12/bert_model.ckpt --layers=-1,-2,-3,-4 --max_seq_length=128

  # One mean-pooled sentence vector (last layer) per line, as a float32 matrix:
  python extract_features.py ... --layers=-1 --pooling=mean --output_file=vectors.npy

Input: one example per line, "text" or "text_a ||| text_b".
"""
import shutil
import sys
import tempfile

from absl import app
from absl import flags
from absl import logging

import tokenization
from bert import common_flags
from bert import errors
from bert import estimator_utils
from bert import feature_extraction
from bert import hf_interop
from bert import modeling
from bert.errors import UsageError

FLAGS = flags.FLAGS

common_flags.define_model_flags()
common_flags.define_tokenizer_flags()
common_flags.define_max_seq_length_flag(128)
common_flags.define_tpu_flags()
flags.DEFINE_string("input_file", None, "Text file, one example per line: \"text\" or \"text_a ||| text_b\".")
flags.DEFINE_string("output_file", None, "Where to write the features (JSON lines, or .npy with --pooling).")
flags.DEFINE_string("layers", "-1,-2,-3,-4", "Encoder layers to output (-1 is the top layer, 0 the first).")
flags.DEFINE_integer("batch_size", 32, "Examples per prediction batch.")
flags.DEFINE_bool("use_one_hot_embeddings", False,
                  "Look the word embeddings up as a one-hot matrix product instead of a gather; the product is "
                  "the faster choice on TPUs.")
flags.DEFINE_enum("pooling", "none", feature_extraction.POOLING_MODES,
                  "none: per-token features (Google's JSON lines). cls / mean: one sentence vector per input line "
                  "(the pooled vectors of the --layers, concatenated), written as a .npy matrix when "
                  "--output_file ends in .npy, else as JSON lines {\"linex_index\", \"values\"}.")
# `--help` lists the shared flags with the script's own.
flags.adopt_module_key_flags(common_flags)

REQUIRED_FLAGS = ("input_file", "output_file", "vocab_file", "bert_config_file", "init_checkpoint")


def run(flag_values):
  """Validates the flags, builds the estimator and writes the output; returns the number of lines written."""
  errors.require(flag_values, REQUIRED_FLAGS)
  options = common_flags.run_options_from_flags(flag_values)
  bert_config = modeling.BertConfig.from_json_file(flag_values.bert_config_file)
  modeling.check_sequence_length(bert_config, flag_values.max_seq_length, "--max_seq_length")
  layer_indexes = feature_extraction.parse_layers(flag_values.layers, bert_config.num_hidden_layers)
  tokenization.validate_case_matches_checkpoint(flag_values.do_lower_case, flag_values.init_checkpoint)
  hf_interop.check_vocab_size(flag_values.vocab_file, bert_config.vocab_size, "--vocab_file", "--bert_config_file")
  # The pooler is not used here, so checkpoints saved without one (e.g. imported QA models) are fine.
  checkpoint = hf_interop.check_bert_checkpoint(flag_values.init_checkpoint, bert_config.to_dict(),
                                                with_pooler=False)
  tokenizer = tokenization.FullTokenizer(flag_values.vocab_file, do_lower_case=flag_values.do_lower_case)
  model_fn = feature_extraction.model_fn_builder(
      bert_config, checkpoint, layer_indexes, use_tpu=options.use_tpu,
      use_one_hot_embeddings=flag_values.use_one_hot_embeddings, pooling=flag_values.pooling)
  feature_extraction.check_output_dir(flag_values.output_file)
  # Prediction writes nothing worth keeping to the model directory.
  model_dir = tempfile.mkdtemp(prefix="extract_features_")
  try:
    estimator = estimator_utils.build_estimator(model_fn, options, model_dir, train_batch_size=flag_values.batch_size,
                                                predict_batch_size=flag_values.batch_size)
    return feature_extraction.extract(estimator, feature_extraction.read_examples(flag_values.input_file), tokenizer,
                                      flag_values.max_seq_length, layer_indexes, flag_values.output_file,
                                      pooling=flag_values.pooling)
  finally:
    shutil.rmtree(model_dir, ignore_errors=True)


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    count = run(FLAGS)
  except UsageError as e:
    sys.exit("error: %s" % e)
  logging.info("wrote %d lines to %s", count, FLAGS.output_file)


if __name__ == "__main__":
  app.run(main)
