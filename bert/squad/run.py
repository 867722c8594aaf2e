"""What run_squad.py does, as a library function: read the SQuAD-format files, train, predict, score.

    args = Args(vocab_file=..., bert_config_file=..., output_dir=..., init_checkpoint=..., do_train=True,
                train_file="cmrc2018_train.json", do_predict=True, predict_file="cmrc2018_dev.json", eval=True)
    run(args, options)                  # options: estimator_utils.RunOptions (CPU/GPU/TPU, precision, ...)

Both files are read and checked before anything is built, so bad input fails at once. Files in output_dir:
train.tf_record / eval.tf_record (features), predictions.json, nbest_predictions.json, null_odds.json (SQuAD
2.0) and eval_results.json (--eval). In a TF_CONFIG cluster every worker trains; only the chief predicts and
scores.
"""
import dataclasses
import os
import random

from absl import logging

import tokenization
from bert import common_flags
from bert import distribution
from bert import estimator_utils
from bert import file_io
from bert import modeling
from bert import errors
from bert.errors import UsageError
from bert.squad import data as squad_data
from bert.squad import model as squad_model
from bert.squad import postprocess as squad_postprocess
from bert.squad import scoring as squad_scoring


@dataclasses.dataclass
class Args(common_flags.FinetuningArgs):
  """The run_squad.py flags that are not RunOptions (Google's names and defaults)."""
  max_seq_length: int = 384
  train_file: str = None
  predict_file: str = None
  doc_stride: int = 128
  max_query_length: int = 64
  n_best_size: int = 20
  max_answer_length: int = 30
  verbose_logging: bool = False
  version_2_with_negative: bool = False
  null_score_diff_threshold: float = 0.0
  dataset: str = "auto"
  eval: bool = False


def validate(args, bert_config):
  """Google's validate_flags_or_throw, with one-line UsageErrors naming the flag."""
  if not args.do_train and not args.do_predict:
    raise UsageError("at least one of --do_train or --do_predict must be given")
  if args.do_train and not args.train_file:
    raise UsageError("--do_train needs --train_file")
  if args.num_train_steps is not None and args.num_train_steps < 1:
    raise UsageError("--num_train_steps must be >= 1, got %d" % args.num_train_steps)
  if args.do_predict and not args.predict_file:
    raise UsageError("--do_predict needs --predict_file")
  if args.eval and not args.do_predict:
    raise UsageError("--eval scores the predictions of --do_predict; give --do_predict too")
  for name in ("train_file", "predict_file"):
    path = getattr(args, name)
    if path and (args.do_train if name == "train_file" else args.do_predict):
      if "://" not in path and not os.path.exists(path):
        raise UsageError("--%s %s does not exist" % (name, path))
  modeling.check_sequence_length(bert_config, args.max_seq_length, "--max_seq_length")
  squad_data.check_sequence_lengths(args.max_seq_length, args.max_query_length)
  for name in ("doc_stride", "n_best_size", "max_answer_length", "train_batch_size", "predict_batch_size"):
    if getattr(args, name) < 1:
      raise UsageError("--%s must be >= 1, got %d" % (name, getattr(args, name)))


def train(estimator, tokenizer, args, num_train_steps, train_examples):
  """Writes train.tf_record from the examples and trains."""
  train_path = os.path.join(args.output_dir, "train.tf_record")
  writer = squad_model.FeatureWriter(train_path, is_training=True)
  squad_data.convert_examples_to_features(
      train_examples, tokenizer, args.max_seq_length, args.doc_stride, args.max_query_length,
      is_training=True, output_fn=writer.process_feature)
  writer.close()
  logging.info("Training: %d examples, %d features, batch size %d, %d steps", len(train_examples),
               writer.num_features, args.train_batch_size, num_train_steps)
  input_fn = squad_model.input_fn_builder(train_path, args.max_seq_length, is_training=True,
                                          drop_remainder=True)
  # Through bert.distribution so a TF_CONFIG multi-worker cluster trains too (Estimator.train refuses one).
  distribution.train_estimator(estimator, input_fn, num_train_steps)


def predict(estimator, tokenizer, args, examples):
  """Predicts the examples of --predict_file; writes predictions.json, nbest_predictions.json (null_odds.json)."""
  features = []
  eval_path = os.path.join(args.output_dir, "eval.tf_record")
  writer = squad_model.FeatureWriter(eval_path, is_training=False)

  def keep(feature):
    features.append(feature)
    writer.process_feature(feature)

  squad_data.convert_examples_to_features(
      examples, tokenizer, args.max_seq_length, args.doc_stride, args.max_query_length,
      is_training=False, output_fn=keep)
  writer.close()
  logging.info("Predicting: %d examples, %d features, batch size %d", len(examples), len(features),
               args.predict_batch_size)
  input_fn = squad_model.input_fn_builder(eval_path, args.max_seq_length, is_training=False,
                                          drop_remainder=False)
  results = []
  for prediction in distribution.predict_estimator(estimator, input_fn, yield_single_examples=True):
    results.append(squad_postprocess.RawResult(int(prediction["unique_ids"]), prediction["start_logits"],
                                               prediction["end_logits"]))
    if len(results) % 1000 == 0:
      logging.info("Processed %d features", len(results))
  output = args.output_dir
  squad_postprocess.write_predictions(
      examples, features, results, args.n_best_size, args.max_answer_length,
      os.path.join(output, "predictions.json"), os.path.join(output, "nbest_predictions.json"),
      os.path.join(output, "null_odds.json"), args.version_2_with_negative,
      args.null_score_diff_threshold)
  logging.info("Wrote predictions for %d questions to %s", len(examples), output)


def evaluate(args):
  """Scores predictions.json against --predict_file; prints and writes eval_results.json."""
  output = args.output_dir
  dataset = squad_scoring.load_json(args.predict_file, "--predict_file")
  predictions = squad_scoring.load_json(os.path.join(output, "predictions.json"), "predictions")
  na_probs = None
  if args.version_2_with_negative:
    na_probs = squad_scoring.load_json(os.path.join(output, "null_odds.json"), "null odds")
  result = squad_scoring.evaluate(dataset, predictions, args.dataset, na_probs=na_probs,
                                  version_2=args.version_2_with_negative or None,
                                  source=args.predict_file)
  file_io.write_json_atomically(os.path.join(output, "eval_results.json"), result, sort_keys=False)
  for key, value in result.items():
    logging.info("  %s = %s", key, value)
  print("eval_results: " + ", ".join("%s=%s" % (k, round(v, 3) if isinstance(v, float) else v)
                                     for k, v in result.items()))
  return result


def run(args, options=None, flag_values=None):
  """Trains, predicts and scores as `args` (Args) asks, placed by `options` (RunOptions; default CPU, fp32).
  `flag_values` (default: args and options) goes to output_dir/run_flags.json. Bad flags, config, data or
  checkpoint raise UsageError.
  """
  options = options or estimator_utils.RunOptions()
  options.validate()
  errors.require(args, ("vocab_file", "bert_config_file", "output_dir"))
  tokenization.validate_case_matches_checkpoint(args.do_lower_case, args.init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(args.bert_config_file)
  validate(args, bert_config)
  distribution.prepare_devices(options)  # before the first TensorFlow op fixes the devices
  tokenizer = tokenization.FullTokenizer(vocab_file=args.vocab_file,
                                         do_lower_case=args.do_lower_case)

  # The training set is read before the estimator is built, so bad input fails fast.
  train_examples, num_train_steps, num_warmup_steps = None, None, None
  if args.do_train:
    train_examples, stats = squad_data.read_squad_examples(
        args.train_file, is_training=True, version_2_with_negative=args.version_2_with_negative,
        verbose=args.verbose_logging)
    logging.info("Train file %s: %s", args.train_file, stats.summary())
    if not train_examples:
      raise UsageError("--train_file %s has no usable training question" % args.train_file)
    num_train_steps = args.num_train_steps or max(
        1, int(len(train_examples) / args.train_batch_size * args.num_train_epochs))
    num_warmup_steps = int(num_train_steps * args.warmup_proportion)
    # Google shuffles the examples once so that windows of one document are spread over the epoch.
    random.Random(12345).shuffle(train_examples)
  predict_examples = None
  if args.do_predict:
    # Read now, so that a malformed predict file fails before training rather than after it.
    predict_examples, stats = squad_data.read_squad_examples(
        args.predict_file, is_training=False, version_2_with_negative=args.version_2_with_negative,
        verbose=args.verbose_logging)
    logging.info("Predict file %s: %s", args.predict_file, stats.summary())
    if args.eval:
      # --eval needs reference answers: check now rather than after prediction.
      squad_scoring.gold_questions(squad_scoring.load_json(args.predict_file, "--predict_file"),
                                   args.predict_file)

  if flag_values is None:
    flag_values = estimator_utils.run_flags(args, options)
  estimator_utils.write_run_metadata(args.output_dir, bert_config, flag_values)
  model_fn = squad_model.model_fn_builder(bert_config, args.init_checkpoint, args.learning_rate,
                                          num_train_steps, num_warmup_steps, options, args.output_dir)
  estimator = estimator_utils.build_estimator(model_fn, options, args.output_dir,
                                              args.train_batch_size,
                                              predict_batch_size=args.predict_batch_size)
  if args.do_train:
    train(estimator, tokenizer, args, num_train_steps, train_examples)
  if not distribution.is_chief():
    logging.info("Not the chief: prediction and scoring are left to worker 0.")
    return
  if args.do_predict:
    predict(estimator, tokenizer, args, predict_examples)
  if args.eval:
    evaluate(args)
