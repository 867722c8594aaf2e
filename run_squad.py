"""Fine-tunes and runs BERT on SQuAD 1.1/2.0, CMRC 2018 and DRCD (SQuAD-format extractive QA).

Google's run_squad.py flags are all kept, with their defaults. Additions:
  --dataset {auto,squad,cmrc2018,drcd}: scoring rules for --eval (auto: CMRC rules for Chinese contexts).
  --eval: after --do_predict, score predictions.json against --predict_file (which must have answers) and write
          eval_results.json.
  and the shared accelerator flags (--num_gpus, --precision, --use_xla, --optimizer, ...).

Example (CMRC 2018):
  python run_squad.py --vocab_file=vocab/zh_vocab.txt --bert_config_file=$BERT/bert_config.json \
    --init_checkpoint=$BERT/bert_model.ckpt --do_train --train_file=cmrc2018_train.json \
    --do_predict --predict_file=cmrc2018_dev.json --eval --max_seq_length=512 --doc_stride=128 \
    --max_answer_length=64 --output_dir=out/cmrc2018
"""

import os
import random
import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert import distribution
from bert import estimator_utils
from bert import file_io
from bert import modeling
from bert.squad import data as squad_data
from bert.squad import model as squad_model
from bert.squad import postprocess as squad_postprocess
from bert.squad import scoring as squad_scoring
from bert.errors import UsageError
import tokenization

FLAGS = flags.FLAGS

## Google's flags: the shared ones from bert/common_flags.py (required ones are checked in main), then this
## script's own.
common_flags.define_finetuning_flags(("train", "predict"), max_seq_length=384)
flags.DEFINE_string("train_file", None,
                    "SQuAD-format JSON to train on with --do_train (e.g. SQuAD's train-v1.1.json, CMRC 2018's "
                    "train set).")
flags.DEFINE_string("predict_file", None,
                    "SQuAD-format JSON whose questions --do_predict answers (e.g. dev-v1.1.json); --eval also "
                    "needs its reference answers.")
flags.DEFINE_integer("doc_stride", 128,
                     "A context too long for one input is cut into overlapping windows; each window starts this "
                     "many tokens after the previous one.")
flags.DEFINE_integer("max_query_length", 64, "Questions are cut to at most this many WordPiece tokens.")
flags.DEFINE_integer("n_best_size", 20,
                     "How many top-scoring candidate answers per question go into nbest_predictions.json (and "
                     "are considered for predictions.json).")
flags.DEFINE_integer("max_answer_length", 30,
                     "Longest answer, in WordPiece tokens, that may be predicted. Start and end positions are "
                     "scored independently, so this bound rules out implausibly long spans.")
flags.DEFINE_bool("verbose_logging", False,
                  "Log each answer that had to be repaired or could not be found while reading the data (the "
                  "counts are logged either way).")
flags.DEFINE_bool("version_2_with_negative", False,
                  "SQuAD 2.0 style data: some questions have no answer in the context, and the model may "
                  "answer none (null_odds.json is written too).")
flags.DEFINE_float("null_score_diff_threshold", 0.0,
                   "With --version_2_with_negative: answer nothing when the no-answer score beats the best "
                   "span's score by more than this margin.")

## Additions
flags.DEFINE_enum("dataset", "auto", list(squad_scoring.DATASETS),
                  "Scoring rules for --eval: squad (v1.1, or v2.0 with --version_2_with_negative), cmrc2018 or "
                  "drcd (CMRC 2018 EM/F1), auto (CMRC rules when the contexts are Chinese, else SQuAD).")
flags.DEFINE_integer("num_train_steps", None,
                     "Train for this many steps instead of num_train_epochs (Google's count: epochs x questions "
                     "/ batch size).")
flags.DEFINE_bool("eval", False,
                  "After --do_predict, score predictions.json against --predict_file with the official rules "
                  "of --dataset and write eval_results.json.")

# `--help` lists the shared flags with the script's own.
flags.adopt_module_key_flags(common_flags)


def validate_flags(flag_values, bert_config):
  """Google's validate_flags_or_throw, with one-line UsageErrors naming the flag."""
  if not flag_values.do_train and not flag_values.do_predict:
    raise UsageError("at least one of --do_train or --do_predict must be given")
  if flag_values.do_train and not flag_values.train_file:
    raise UsageError("--do_train needs --train_file")
  if flag_values.num_train_steps is not None and flag_values.num_train_steps < 1:
    raise UsageError("--num_train_steps must be >= 1, got %d" % flag_values.num_train_steps)
  if flag_values.do_predict and not flag_values.predict_file:
    raise UsageError("--do_predict needs --predict_file")
  if flag_values.eval and not flag_values.do_predict:
    raise UsageError("--eval scores the predictions of --do_predict; give --do_predict too")
  for name in ("train_file", "predict_file"):
    path = flag_values[name].value
    if path and (flag_values.do_train if name == "train_file" else flag_values.do_predict):
      if "://" not in path and not os.path.exists(path):
        raise UsageError("--%s %s does not exist" % (name, path))
  modeling.check_sequence_length(bert_config, flag_values.max_seq_length, "--max_seq_length")
  squad_data.check_sequence_lengths(flag_values.max_seq_length, flag_values.max_query_length)
  for name in ("doc_stride", "n_best_size", "max_answer_length", "train_batch_size", "predict_batch_size"):
    if flag_values[name].value < 1:
      raise UsageError("--%s must be >= 1, got %d" % (name, flag_values[name].value))


def train(estimator, tokenizer, flag_values, num_train_steps, train_examples):
  """Writes train.tf_record from the examples and trains."""
  train_path = os.path.join(flag_values.output_dir, "train.tf_record")
  writer = squad_model.FeatureWriter(train_path, is_training=True)
  squad_data.convert_examples_to_features(
      train_examples, tokenizer, flag_values.max_seq_length, flag_values.doc_stride, flag_values.max_query_length,
      is_training=True, output_fn=writer.process_feature)
  writer.close()
  logging.info("Training: %d examples, %d features, batch size %d, %d steps", len(train_examples),
               writer.num_features, flag_values.train_batch_size, num_train_steps)
  input_fn = squad_model.input_fn_builder(train_path, flag_values.max_seq_length, is_training=True,
                                          drop_remainder=True)
  # Through bert.distribution so a TF_CONFIG multi-worker cluster trains too (Estimator.train refuses one).
  distribution.train_estimator(estimator, input_fn, num_train_steps)


def predict(estimator, tokenizer, flag_values, examples):
  """Predicts the examples of --predict_file; writes predictions.json, nbest_predictions.json (null_odds.json).

  In a TF_CONFIG cluster only the chief predicts (distribution.predict_estimator); it returns False elsewhere.
  """
  if not distribution.is_chief():
    logging.info("Not the chief: prediction and scoring are left to worker 0.")
    return False
  features = []
  eval_path = os.path.join(flag_values.output_dir, "eval.tf_record")
  writer = squad_model.FeatureWriter(eval_path, is_training=False)

  def keep(feature):
    features.append(feature)
    writer.process_feature(feature)

  squad_data.convert_examples_to_features(
      examples, tokenizer, flag_values.max_seq_length, flag_values.doc_stride, flag_values.max_query_length,
      is_training=False, output_fn=keep)
  writer.close()
  logging.info("Predicting: %d examples, %d features, batch size %d", len(examples), len(features),
               flag_values.predict_batch_size)
  input_fn = squad_model.input_fn_builder(eval_path, flag_values.max_seq_length, is_training=False,
                                          drop_remainder=False)
  results = []
  for prediction in distribution.predict_estimator(estimator, input_fn, yield_single_examples=True):
    results.append(squad_postprocess.RawResult(int(prediction["unique_ids"]), prediction["start_logits"],
                                               prediction["end_logits"]))
    if len(results) % 1000 == 0:
      logging.info("Processed %d features", len(results))
  output = flag_values.output_dir
  squad_postprocess.write_predictions(
      examples, features, results, flag_values.n_best_size, flag_values.max_answer_length,
      os.path.join(output, "predictions.json"), os.path.join(output, "nbest_predictions.json"),
      os.path.join(output, "null_odds.json"), flag_values.version_2_with_negative,
      flag_values.null_score_diff_threshold)
  logging.info("Wrote predictions for %d questions to %s", len(examples), output)
  return True


def evaluate(flag_values):
  """Scores predictions.json against --predict_file; prints and writes eval_results.json."""
  output = flag_values.output_dir
  dataset = squad_scoring.load_json(flag_values.predict_file, "--predict_file")
  predictions = squad_scoring.load_json(os.path.join(output, "predictions.json"), "predictions")
  na_probs = None
  if flag_values.version_2_with_negative:
    na_probs = squad_scoring.load_json(os.path.join(output, "null_odds.json"), "null odds")
  result = squad_scoring.evaluate(dataset, predictions, flag_values.dataset, na_probs=na_probs,
                                  version_2=flag_values.version_2_with_negative or None,
                                  source=flag_values.predict_file)
  file_io.write_json_atomically(os.path.join(output, "eval_results.json"), result, sort_keys=False)
  for key, value in result.items():
    logging.info("  %s = %s", key, value)
  print("eval_results: " + ", ".join("%s=%s" % (k, round(v, 3) if isinstance(v, float) else v)
                                     for k, v in result.items()))
  return result


def run(flag_values):
  """The whole script after flag parsing (UsageError for bad input)."""
  common_flags.require_flags(flag_values, ["vocab_file", "bert_config_file", "output_dir"])
  tokenization.validate_case_matches_checkpoint(flag_values.do_lower_case, flag_values.init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(flag_values.bert_config_file)
  validate_flags(flag_values, bert_config)
  options = common_flags.run_options_from_flags(flag_values)
  distribution.prepare_devices(options)  # before the first TensorFlow op fixes the devices
  tokenizer = tokenization.FullTokenizer(vocab_file=flag_values.vocab_file,
                                         do_lower_case=flag_values.do_lower_case)

  # The training set is read before the estimator is built, so bad input fails fast.
  train_examples, num_train_steps, num_warmup_steps = None, None, None
  if flag_values.do_train:
    train_examples, stats = squad_data.read_squad_examples(
        flag_values.train_file, is_training=True, version_2_with_negative=flag_values.version_2_with_negative,
        verbose=flag_values.verbose_logging)
    logging.info("Train file %s: %s", flag_values.train_file, stats.summary())
    if not train_examples:
      raise UsageError("--train_file %s has no usable training question" % flag_values.train_file)
    num_train_steps = flag_values.num_train_steps or max(
        1, int(len(train_examples) / flag_values.train_batch_size * flag_values.num_train_epochs))
    num_warmup_steps = int(num_train_steps * flag_values.warmup_proportion)
    # Google shuffles the examples once so that windows of one document are spread over the epoch.
    random.Random(12345).shuffle(train_examples)
  predict_examples = None
  if flag_values.do_predict:
    # Read now, so that a malformed predict file fails before training rather than after it.
    predict_examples, stats = squad_data.read_squad_examples(
        flag_values.predict_file, is_training=False, version_2_with_negative=flag_values.version_2_with_negative,
        verbose=flag_values.verbose_logging)
    logging.info("Predict file %s: %s", flag_values.predict_file, stats.summary())
    if flag_values.eval:
      # --eval needs reference answers: check now rather than after prediction.
      squad_scoring.gold_questions(squad_scoring.load_json(flag_values.predict_file, "--predict_file"),
                                   flag_values.predict_file)

  estimator_utils.write_run_metadata(flag_values.output_dir, bert_config, common_flags.flag_dict(flag_values))
  model_fn = squad_model.model_fn_builder(bert_config, flag_values.init_checkpoint, flag_values.learning_rate,
                                          num_train_steps, num_warmup_steps, options, flag_values.output_dir)
  estimator = estimator_utils.build_estimator(model_fn, options, flag_values.output_dir,
                                              flag_values.train_batch_size,
                                              predict_batch_size=flag_values.predict_batch_size)
  if flag_values.do_train:
    train(estimator, tokenizer, flag_values, num_train_steps, train_examples)
  predicted = True
  if flag_values.do_predict:
    predicted = predict(estimator, tokenizer, flag_values, predict_examples)
  if flag_values.eval and predicted:
    evaluate(flag_values)


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    run(FLAGS)
  except UsageError as error:
    sys.exit("error: %s" % error)


if __name__ == "__main__":
  app.run(main)
