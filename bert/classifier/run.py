"""What run_classifier.py does, as a library function, and its steps (train, evaluate, predict, export).

    args = Args(task_name="chnsenticorp", data_dir=..., vocab_file=..., bert_config_file=..., output_dir=...,
                init_checkpoint=..., do_train=True, do_eval=True)
    results = run(args, options)        # options: estimator_utils.RunOptions (CPU/GPU/TPU, precision, ...)

Every requested split is read before anything is trained, so a missing or malformed file fails at once. In a
TF_CONFIG cluster every worker trains; only the chief evaluates, predicts and exports. Tests and benchmarks
can call the steps directly.
"""
import dataclasses
import os
import random

import numpy as np
import tensorflow as tf
from absl import logging

import tokenization
from bert import modeling
from bert.classifier import tasks
from bert.classifier import data as classifier_data
from bert.classifier import model as classifier_model
from bert.classifier import outputs as classifier_outputs
from bert import common_flags
from bert import distribution
from bert import estimator_utils
from bert import file_io
from bert import metrics
from bert.errors import UsageError


@dataclasses.dataclass
class Args(common_flags.TaskArgs):
  """The run_classifier.py flags that are not RunOptions (Google's names and defaults)."""
  text_b_field: str = None
  labels: list = None


@dataclasses.dataclass
class ClassifierSetup:
  """Everything the steps share: the task, its labels, the tokenizer and the model's input size."""
  processor: object
  label_list: list
  tokenizer: object
  max_seq_length: int
  output_dir: str
  use_tpu: bool = False

  @property
  def is_regression(self):
    return self.processor.is_regression

  @property
  def num_labels(self):
    return 1 if self.is_regression else len(self.label_list)


def num_train_steps_for(num_examples, train_batch_size, num_train_epochs, override=None):
  """Google's step count int(examples / batch * epochs), or `override` when given; at least 1."""
  if override:
    return int(override)
  return max(1, int(num_examples / train_batch_size * num_train_epochs))


def train(estimator, setup, examples, num_train_steps, seed=12345):
  """Writes train.tf_record and trains for num_train_steps.

  The examples are shuffled once here with `seed` (the input pipeline's shuffle buffer is only 100 examples,
  too small for files sorted by label).
  """
  examples = list(examples)
  random.Random(seed).shuffle(examples)
  train_file = classifier_data.features_file(setup.output_dir, "train")
  classifier_data.file_based_convert_examples_to_features(
      examples, setup.label_list, setup.max_seq_length, setup.tokenizer, train_file, setup.is_regression)
  logging.info("***** Running training: %d examples, %d steps *****", len(examples), num_train_steps)
  input_fn = classifier_data.file_based_input_fn_builder(
      train_file, setup.max_seq_length, is_training=True, drop_remainder=True, is_regression=setup.is_regression,
      seed=seed)
  # Through bert.distribution so a TF_CONFIG multi-worker cluster trains too (Estimator.train refuses one).
  distribution.train_estimator(estimator, input_fn, num_train_steps)


def predict(estimator, setup, examples, batch_size, name):
  """Runs the model over `examples` (padded to full batches on TPU) and returns the real examples' outputs.

  Args:
    estimator: the TPUEstimator.
    setup: ClassifierSetup.
    examples: InputExamples.
    batch_size: the estimator's batch size for this mode (padding on TPU).
    name: cache file name stem, e.g. "eval" or "predict_matched".

  Returns:
    (outputs, per_example_loss): probabilities [n, num_labels] or scores [n]; the per-example losses [n].
  """
  padded, num_real = (classifier_data.pad_examples(examples, batch_size) if setup.use_tpu
                      else (list(examples), len(examples)))
  record_file = classifier_data.features_file(setup.output_dir, name)
  classifier_data.file_based_convert_examples_to_features(
      padded, setup.label_list, setup.max_seq_length, setup.tokenizer, record_file, setup.is_regression)
  input_fn = classifier_data.file_based_input_fn_builder(
      record_file, setup.max_seq_length, is_training=False, drop_remainder=setup.use_tpu,
      is_regression=setup.is_regression)
  key = classifier_model.output_key(setup.is_regression)
  outputs, losses = [], []
  for prediction in distribution.predict_estimator(estimator, input_fn, yield_single_examples=True):
    if not prediction["is_real_example"]:
      continue
    outputs.append(prediction[key])
    losses.append(prediction["per_example_loss"])
  if len(outputs) != num_real:
    raise RuntimeError("predicted %d of %d examples" % (len(outputs), num_real))
  return np.asarray(outputs), np.asarray(losses)


def label_targets(setup, examples):
  """Gold targets of labelled examples: label ids, or float scores for regression."""
  if setup.is_regression:
    return [float(example.label) for example in examples]
  return [setup.label_list.index(example.label) for example in examples]


def score(setup, examples, outputs, losses, prefix):
  """Metrics of one evaluation set, keyed `<prefix><metric>` (e.g. eval_accuracy, eval_matched_accuracy)."""
  targets = label_targets(setup, examples)
  predicted = outputs if setup.is_regression else np.argmax(outputs, axis=-1)
  names = list(setup.processor.metric_names)
  if not setup.is_regression and "accuracy" not in names:
    names.append("accuracy")
  results = {prefix + name: value for name, value in metrics.compute_metrics(names, targets, predicted).items()}
  results[prefix + "loss"] = float(np.mean(losses))
  results[prefix + "num_examples"] = len(examples)
  return results


def evaluate(estimator, setup, dev_sets, batch_size):
  """Scores every dev set and writes eval_results.txt/.json.

  Args:
    dev_sets: list of (name, examples) from DataProcessor.dev_sets.

  Returns:
    dict of all metrics (plus global_step).
  """
  results = {"global_step": _global_step(setup.output_dir)}
  for name, examples in dev_sets:
    logging.info("***** Running evaluation%s: %d examples *****", " (%s)" % name if name else "", len(examples))
    outputs, losses = predict(estimator, setup, examples, batch_size, "eval" + ("_" + name if name else ""))
    results.update(score(setup, examples, outputs, losses, "eval_%s" % (name + "_" if name else "")))
  classifier_outputs.write_eval_results(setup.output_dir, results)
  for key in sorted(results):
    logging.info("  %s = %s", key, results[key])
  return results


def predict_test_sets(estimator, setup, test_sets, batch_size):
  """Writes test_results.tsv (probabilities) and the benchmark submission file for every test set.

  When every example of a test set is labelled (FewCLUE's test_public, STS Benchmark), its metrics are also
  written to test_eval_results.json.

  Returns:
    list of the paths written.
  """
  written, labelled_results = [], {}
  for name, examples in test_sets:
    logging.info("***** Running prediction%s: %d examples *****", " (%s)" % name if name else "", len(examples))
    outputs, losses = predict(estimator, setup, examples, batch_size, "predict" + ("_" + name if name else ""))
    path = os.path.join(setup.output_dir, classifier_outputs.test_results_name(name))
    classifier_outputs.write_test_results(path, outputs)
    written.append(path)
    if setup.processor.submission:
      labels = classifier_outputs.predicted_labels(outputs, setup.label_list, setup.is_regression)
      written.append(classifier_outputs.write_submission(setup.output_dir, setup.processor.submission, name,
                                                         examples, labels))
    if all(example.label is not None for example in examples):
      labelled_results.update(score(setup, examples, outputs, losses, "test_%s" % (name + "_" if name else "")))
  if labelled_results:
    path = os.path.join(setup.output_dir, "test_eval_results.json")
    file_io.write_json_atomically(path, labelled_results)
    written.append(path)
  return written


def export(make_model_fn, options, setup, export_dir):
  """Exports the latest checkpoint in output_dir as a SavedModel for CPU/GPU serving (fp32, no TPU).

  Args:
    make_model_fn: callable(RunOptions) -> model_fn; called with the export options.
    options: the run's RunOptions (copied with use_tpu=False, num_gpus=0, precision fp32).
    setup: ClassifierSetup.
    export_dir: base export directory (the SavedModel goes to export_dir/<timestamp>).

  Returns:
    The SavedModel path.

  Raises:
    UsageError: no checkpoint in output_dir.
  """
  checkpoint = tf.train.latest_checkpoint(setup.output_dir)
  if checkpoint is None:
    raise UsageError("--export_dir needs a trained checkpoint in --output_dir %s (train first with --do_train)"
                     % setup.output_dir)
  cpu_options = dataclasses.replace(options, use_tpu=False, num_gpus=0, precision="fp32")
  # export_to_tpu=False: one MetaGraph (tag "serve"), so tf.saved_model.load and TF Serving take it as is.
  estimator = tf.compat.v1.estimator.tpu.TPUEstimator(
      use_tpu=False, model_fn=make_model_fn(cpu_options),
      config=estimator_utils.build_run_config(cpu_options, setup.output_dir), train_batch_size=1,
      predict_batch_size=1, export_to_tpu=False)
  path = classifier_model.export_saved_model(estimator, export_dir, setup.max_seq_length, checkpoint)
  logging.info("SavedModel written to %s", path)
  return path


def _global_step(output_dir):
  checkpoint = tf.train.latest_checkpoint(output_dir)
  if checkpoint is None:
    return 0
  return int(tf.train.load_variable(checkpoint, "global_step"))


def build_processor(args):
  """The task's DataProcessor, configured from the flags."""
  return tasks.get_processor(
      args.task_name, data_dir=args.data_dir, skip_bad_rows=args.skip_bad_rows,
      train_file=args.train_file, dev_file=args.dev_file, test_file=args.test_file,
      xnli_language=args.xnli_language, text_a_field=args.text_a_field,
      text_b_field=args.text_b_field, label_field=args.label_field, labels=args.labels,
      id_field=args.id_field)


def log_data_stats(processor):
  """Logs, per file read, how many examples were kept, skipped (bad rows) and dropped (no gold label)."""
  for path, stats in processor.stats.items():
    counts = stats.as_dict()
    logging.info("%s: %d examples, %d bad rows skipped, %d without gold label dropped", path,
                 counts["examples"], counts["skipped_bad_rows"], counts["dropped_no_gold_label"])


def run(args, options=None, flag_values=None):
  """Trains, evaluates, predicts and exports as `args` (Args) asks, placed by `options` (RunOptions; default
  CPU, fp32). `flag_values` (default: args and options) goes to output_dir/run_flags.json. Bad flags, config,
  data or checkpoint raise UsageError.
  """
  options = options or estimator_utils.RunOptions()
  options.validate()
  args.validate()
  tokenization.validate_case_matches_checkpoint(args.do_lower_case, args.init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(args.bert_config_file)
  modeling.check_sequence_length(bert_config, args.max_seq_length, what="--max_seq_length")
  distribution.prepare_devices(options)  # before the first TensorFlow op fixes the devices
  processor = build_processor(args)
  label_list = processor.get_labels()
  tokenizer = tokenization.FullTokenizer(vocab_file=args.vocab_file, do_lower_case=args.do_lower_case)
  setup = ClassifierSetup(processor, label_list, tokenizer, args.max_seq_length, args.output_dir,
                          use_tpu=options.use_tpu)
  # Every requested split is read before anything is trained, so a missing or malformed file fails at once.
  train_examples, num_train_steps, num_warmup_steps = None, 1, 0
  if args.do_train:
    train_examples = processor.get_train_examples(args.data_dir)
    num_train_steps = num_train_steps_for(
        len(train_examples), args.train_batch_size, args.num_train_epochs, args.num_train_steps)
    num_warmup_steps = int(num_train_steps * args.warmup_proportion)
  dev_sets = processor.dev_sets(args.data_dir) if args.do_eval else None
  test_sets = processor.test_sets(args.data_dir) if args.do_predict else None
  log_data_stats(processor)
  if flag_values is None:
    flag_values = estimator_utils.run_flags(args, options)
  estimator_utils.write_run_metadata(args.output_dir, bert_config, flag_values)

  def make_model_fn(run_options):
    return classifier_model.model_fn_builder(
        bert_config=bert_config, num_labels=setup.num_labels, init_checkpoint=args.init_checkpoint,
        learning_rate=args.learning_rate, num_train_steps=num_train_steps, num_warmup_steps=num_warmup_steps,
        run_options=run_options, use_one_hot_embeddings=run_options.use_tpu,
        is_regression=processor.is_regression, output_dir=args.output_dir)

  estimator = estimator_utils.build_estimator(
      make_model_fn(options), options, args.output_dir, args.train_batch_size,
      eval_batch_size=args.eval_batch_size, predict_batch_size=args.predict_batch_size)
  if args.do_train:
    train(estimator, setup, train_examples, num_train_steps,
          seed=12345 if options.tf_random_seed is None else options.tf_random_seed)
  if not distribution.is_chief():
    logging.info("Not the chief: evaluation, prediction and export are left to worker 0.")
    return
  if args.do_eval:
    evaluate(estimator, setup, dev_sets, args.eval_batch_size)
  if args.do_predict:
    for path in predict_test_sets(estimator, setup, test_sets, args.predict_batch_size):
      logging.info("wrote %s", path)
  if args.export_dir:
    export(make_model_fn, options, setup, args.export_dir)
