"""What run_sentence_embedding.py does, as a library function: read pairs, train, evaluate, predict, export.

    args = Args(task_name="stsb", data_dir=..., vocab_file=..., bert_config_file=..., output_dir=...,
                init_checkpoint=..., do_train=True, do_eval=True)
    results = run(args, options)        # options: estimator_utils.RunOptions (CPU/GPU/TPU, precision, ...)

Every requested split is read and checked before anything is built, so bad data fails at once. A rerun with
the same output_dir resumes from its latest checkpoint. --do_eval / --do_predict without --do_train use the
latest checkpoint in output_dir, or the --init_checkpoint model when there is none (the baseline before
fine-tuning). Files in output_dir: eval_results.txt/.json (--do_eval); test_embeddings_a.npy,
test_embeddings_b.npy, test_results.tsv (id, cosine[, gold]) and, for a labelled test set, test_eval_results.json
(--do_predict). --export_dir writes a sentence-transformers directory (transformers BertModel + pooling).
"""
import dataclasses
import json
import os
import random

import numpy as np
import tensorflow as tf
from absl import logging

import tokenization
from bert.classifier import run as classifier_runner
from bert import common_flags
from bert import distribution
from bert import estimator_utils
from bert import file_io
from bert import hf_interop
from bert import modeling
from bert.errors import UsageError
from bert.sentence_embedding import data
from bert.sentence_embedding import evaluation
from bert.sentence_embedding import model


@dataclasses.dataclass
class Args(common_flags.TaskArgs):
  """The run_sentence_embedding.py flags that are not RunOptions (Google's names where Google has one)."""
  text_b_field: str = "text_b"
  pooling: str = "mean"
  loss: str = "cosine_mse"
  mnrl_scale: float = 20.0
  mnrl_min_score: float = 0.8
  score_min: float = None
  score_max: float = None

  def validate(self):
    """Raises UsageError for missing or impossible values (TaskArgs' checks, then the pooling and loss)."""
    super(Args, self).validate()
    if self.pooling not in model.POOLING_MODES:
      raise UsageError("--pooling=%s is not one of %s" % (self.pooling, ", ".join(model.POOLING_MODES)))
    if self.loss not in model.LOSSES:
      raise UsageError("--loss=%s is not one of %s" % (self.loss, ", ".join(model.LOSSES)))
    if self.loss == "mnrl" and self.do_train and self.train_batch_size < 2:
      raise UsageError("--loss=mnrl needs --train_batch_size >= 2 (the other pairs of a batch are the negatives)")
    if self.mnrl_scale <= 0:
      raise UsageError("--mnrl_scale must be > 0, got %g" % self.mnrl_scale)


def run(args, options=None, flag_values=None):
  """Runs the requested steps (train, eval, predict, export).

  Args:
    args: Args.
    options: estimator_utils.RunOptions (default: CPU, fp32).
    flag_values: dict of all flags, recorded in output_dir/run_flags.json (default: args and options).

  Returns:
    dict with "eval" (dev metrics), "test" (metrics of a labelled test set), "export_dir" when done.

  Raises:
    UsageError: bad flags, config, data or checkpoint.
  """
  options = options or estimator_utils.RunOptions()
  args.validate()
  options.validate()
  distribution.prepare_devices(options)  # before the first TensorFlow op fixes the devices
  tokenization.validate_case_matches_checkpoint(args.do_lower_case, args.init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(args.bert_config_file)
  modeling.check_sequence_length(bert_config, args.max_seq_length, what="--max_seq_length")
  task = data.build_task(args.task_name, data_dir=args.data_dir, skip_bad_rows=args.skip_bad_rows,
                         train_file=args.train_file, dev_file=args.dev_file, test_file=args.test_file,
                         xnli_language=args.xnli_language, text_a_field=args.text_a_field,
                         text_b_field=args.text_b_field, label_field=args.label_field, id_field=args.id_field,
                         score_min=args.score_min, score_max=args.score_max)
  # Every requested split is read before anything is trained, so a missing or malformed file fails at once.
  train_pairs, num_train_steps, num_warmup_steps = None, 1, 0
  if args.do_train:
    train_pairs = task.read(args.data_dir, "train")
    if args.loss == "mnrl":
      train_pairs = task.positive_pairs(train_pairs, args.mnrl_min_score)
    num_train_steps = classifier_runner.num_train_steps_for(len(train_pairs), args.train_batch_size,
                                                            args.num_train_epochs, args.num_train_steps)
    num_warmup_steps = int(num_train_steps * args.warmup_proportion)
  dev_pairs = task.read(args.data_dir, "dev") if args.do_eval else None
  test_pairs = task.read(args.data_dir, "test", labelled=False) if args.do_predict else None
  for path, stats in task.processor.stats.items():
    logging.info("%s: %d pairs, %d bad rows skipped, %d without gold label dropped", path,
                 stats.examples, stats.skipped_bad_rows, stats.dropped_no_gold_label)
  if not args.do_train and not args.init_checkpoint and not _latest(args.output_dir):
    if args.export_dir:
      raise UsageError("--export_dir needs a checkpoint: train with --do_train, or give --init_checkpoint")
    logging.warning("no checkpoint in --output_dir %s and no --init_checkpoint: evaluating a randomly initialised "
                    "encoder", args.output_dir)
  tf.io.gfile.makedirs(args.output_dir)
  if flag_values is None:
    flag_values = estimator_utils.run_flags(args, options)
  estimator_utils.write_run_metadata(args.output_dir, bert_config, flag_values)
  tokenizer = tokenization.FullTokenizer(vocab_file=args.vocab_file, do_lower_case=args.do_lower_case)
  model_fn = model.model_fn_builder(bert_config, args.init_checkpoint, args.learning_rate, num_train_steps,
                                    num_warmup_steps, options, pooling=args.pooling, loss=args.loss,
                                    mnrl_scale=args.mnrl_scale, output_dir=args.output_dir)

  def make_estimator(predict_batch_size):
    return estimator_utils.build_estimator(model_fn, options, args.output_dir, args.train_batch_size,
                                           eval_batch_size=predict_batch_size, predict_batch_size=predict_batch_size)

  results = {}
  if args.do_train:
    seed = 12345 if options.tf_random_seed is None else options.tf_random_seed
    train(make_estimator(args.predict_batch_size), task, train_pairs, tokenizer, args, num_train_steps, seed)
  if not distribution.is_chief():
    logging.info("Not the chief: evaluation, prediction and export are left to worker 0.")
    return results
  if args.do_eval:
    results["eval"] = evaluate(make_estimator(args.eval_batch_size), task, dev_pairs, tokenizer, args, options)
  if args.do_predict:
    threshold = _dev_threshold(results.get("eval"), args.output_dir) if task.kind == data.BINARY else None
    test = predict_test_set(make_estimator(args.predict_batch_size), task, test_pairs, tokenizer, args, options,
                            threshold)
    if test:
      results["test"] = test
  if args.export_dir:
    results["export_dir"] = export(args, bert_config)
  return results


def train(estimator, task, pairs, tokenizer, args, num_train_steps, seed):
  """Writes the training pairs (shuffled once with `seed`) as TFRecords and trains to num_train_steps."""
  pairs = list(pairs)
  random.Random(seed).shuffle(pairs)
  path = data.records_file(args.output_dir, "train")
  data.write_pair_records(pairs, tokenizer, args.max_seq_length, path, task.target)
  logging.info("***** Training (%s, %s pooling): %d pairs, batch %d, %d steps *****", args.loss, args.pooling,
               len(pairs), args.train_batch_size, num_train_steps)
  input_fn = data.input_fn_builder(path, args.max_seq_length, is_training=True, drop_remainder=True, seed=seed)
  distribution.train_estimator(estimator, input_fn, num_train_steps)


def embed_pairs(estimator, task, pairs, tokenizer, args, options, batch_size, name):
  """(embeddings_a, embeddings_b) [n, hidden] of `pairs` (padded to whole batches on TPU, padding dropped)."""
  path = data.records_file(args.output_dir, name)
  data.write_pair_records(pairs, tokenizer, args.max_seq_length, path, task.target,
                          pad_to_multiple=batch_size if options.use_tpu else None)
  input_fn = data.input_fn_builder(path, args.max_seq_length, is_training=False, drop_remainder=options.use_tpu)
  side_a, side_b = [], []
  for prediction in distribution.predict_estimator(estimator, input_fn, yield_single_examples=True):
    if prediction["is_real_example"]:
      side_a.append(prediction["embedding_a"])
      side_b.append(prediction["embedding_b"])
  if len(side_a) != len(pairs):
    raise RuntimeError("embedded %d of %d pairs" % (len(side_a), len(pairs)))
  return np.stack(side_a).astype(np.float32), np.stack(side_b).astype(np.float32)


def evaluate(estimator, task, pairs, tokenizer, args, options):
  """Scores the dev pairs and writes eval_results.txt/.json; returns the metrics (with global_step)."""
  logging.info("***** Evaluation: %d pairs *****", len(pairs))
  side_a, side_b = embed_pairs(estimator, task, pairs, tokenizer, args, options, args.eval_batch_size, "eval")
  results = {"global_step": _global_step(args.output_dir)}
  results.update(evaluation.score_pairs(task, pairs, evaluation.cosine_scores(side_a, side_b), "eval_",
                                        choose_threshold=True))
  evaluation.write_eval_results(args.output_dir, results)
  for key in sorted(results):
    logging.info("  %s = %s", key, results[key])
  return results


def predict_test_set(estimator, task, pairs, tokenizer, args, options, threshold):
  """Writes the test embeddings and per-pair cosines; returns the metrics when every pair is labelled."""
  logging.info("***** Prediction: %d pairs *****", len(pairs))
  side_a, side_b = embed_pairs(estimator, task, pairs, tokenizer, args, options, args.predict_batch_size, "test")
  cosines = evaluation.cosine_scores(side_a, side_b)
  path_a, path_b, scores_path = evaluation.prediction_paths(args.output_dir, "test")
  evaluation.write_embeddings(path_a, side_a)
  evaluation.write_embeddings(path_b, side_b)
  evaluation.write_pair_scores(scores_path, pairs, cosines)
  logging.info("wrote %s, %s, %s", path_a, path_b, scores_path)
  if not all(pair.score is not None for pair in pairs):
    return None
  if task.kind == data.BINARY and threshold is None:
    logging.info("no dev threshold (run --do_eval): test accuracy is not reported, average precision is")
  results = {"global_step": _global_step(args.output_dir)}
  results.update(evaluation.score_pairs(task, pairs, cosines, "test_", threshold=threshold))
  file_io.write_json_atomically(os.path.join(args.output_dir, "test_eval_results.json"), results)
  return results


def export(args, bert_config):
  """Writes the latest checkpoint (or --init_checkpoint) as a sentence-transformers directory in export_dir."""
  checkpoint = _latest(args.output_dir) or args.init_checkpoint
  if not checkpoint:
    raise UsageError("--export_dir needs a checkpoint: train with --do_train, or give --init_checkpoint")
  hf_interop.export_hf(checkpoint, args.bert_config_file, args.vocab_file, args.export_dir, head="none",
                       do_lower_case=args.do_lower_case)
  # The sentence-transformers modules: this run's pooling, inputs truncated to this run's max_seq_length.
  hf_interop.write_sentence_transformers_files(args.export_dir, bert_config.hidden_size, args.pooling,
                                               args.max_seq_length)
  logging.info("sentence-transformers model (%s pooling) from %s written to %s", args.pooling, checkpoint,
               args.export_dir)
  return args.export_dir


def _dev_threshold(eval_results, output_dir):
  """The cosine threshold chosen on dev: this run's, else the one in output_dir/eval_results.json, else None."""
  if eval_results and "eval_threshold" in eval_results:
    return eval_results["eval_threshold"]
  path = os.path.join(output_dir, "eval_results.json")
  if tf.io.gfile.exists(path):
    with tf.io.gfile.GFile(path) as handle:
      threshold = json.load(handle).get("eval_threshold")
    if threshold is not None:
      logging.info("test accuracy uses the dev threshold %g from %s", threshold, path)
    return threshold
  return None


def _latest(output_dir):
  return tf.train.latest_checkpoint(output_dir) if output_dir and tf.io.gfile.isdir(output_dir) else None


def _global_step(output_dir):
  checkpoint = _latest(output_dir)
  return int(tf.train.load_variable(checkpoint, "global_step")) if checkpoint else 0
