r"""BERT fine-tuning runner for sentence (pair) classification: GLUE, XNLI, CLUE/FewCLUE and Chinese sets.

Google's run_classifier.py flags are all kept with their defaults. Additions:
  --export_dir: write a SavedModel (serving_default: input_ids, input_mask, segment_ids -> probabilities).
  --skip_bad_rows: skip (and count) malformed rows instead of stopping at the first one.
  --train_file/--dev_file/--test_file: file names in --data_dir (or paths) overriding the task's layout.
  --text_a_field/--text_b_field/--label_field/--labels/--id_field: columns/keys of the generic tsv/jsonl tasks.
  --xnli_language: the XNLI language (default zh).
  --num_train_steps: train this many steps instead of num_train_epochs.
  and the shared accelerator flags (--num_gpus, --precision, --use_xla, --optimizer, --tf_random_seed, ...).
Outputs in --output_dir: eval_results.txt/.json (--do_eval); test_results.tsv and the benchmark submission file
(GLUE <TASK>.tsv, CLUE <task>_predict.json) (--do_predict).

Example (ChnSentiCorp):
  python run_classifier.py --task_name=chnsenticorp --data_dir=../shared/data/chnsenticorp \
    --vocab_file=$BERT/vocab.txt --bert_config_file=$BERT/bert_config.json \
    --init_checkpoint=$BERT/bert_model.ckpt --do_train --do_eval --do_predict --max_seq_length=128 \
    --train_batch_size=32 --learning_rate=2e-5 --num_train_epochs=3 --output_dir=out/chnsenticorp \
    --export_dir=out/chnsenticorp/export
"""
import sys

from absl import app
from absl import flags
from absl import logging

from bert.classifier import data as classifier_data
from bert.classifier import model as classifier_model
from bert.classifier import run as classifier_runner
from bert import common_flags
from bert import distribution
from bert import estimator_utils
from bert import modeling
from bert.classifier import tasks
from bert.errors import UsageError
import tokenization

FLAGS = flags.FLAGS

# Google's module-level API, for code written against it (`import run_classifier; run_classifier.InputExample`).
InputExample = tasks.InputExample
PaddingInputExample = tasks.PaddingInputExample
DataProcessor = tasks.DataProcessor
ColaProcessor = tasks.glue.ColaProcessor
MnliProcessor = tasks.glue.MnliProcessor
MrpcProcessor = tasks.glue.MrpcProcessor
XnliProcessor = tasks.glue.XnliProcessor
InputFeatures = classifier_data.InputFeatures
convert_single_example = classifier_data.convert_single_example
convert_examples_to_features = classifier_data.convert_examples_to_features
file_based_convert_examples_to_features = classifier_data.file_based_convert_examples_to_features
file_based_input_fn_builder = classifier_data.file_based_input_fn_builder
create_model = classifier_model.create_model

## Google's flags: the shared ones from bert/common_flags.py (required ones are checked in main, so the error
## is one line), then this script's own.
common_flags.define_finetuning_flags(("train", "eval", "predict"), max_seq_length=128)
flags.DEFINE_string("data_dir", None,
                    "Directory with the task's data files (train, dev and test, named as the task expects; "
                    "--train_file/--dev_file/--test_file override the names).")
flags.DEFINE_string("task_name", None,
                    "Task whose reader, label set and metrics to use: %s." % ", ".join(tasks.known_tasks()))
# `--help` lists the shared flags with the script's own.
flags.adopt_module_key_flags(common_flags)

## Added by this project
flags.DEFINE_string("export_dir", None,
                    "If set, export the trained model as a SavedModel under this directory (a timestamped "
                    "version folder) with a serving signature input_ids, input_mask, segment_ids -> "
                    "probabilities (predictions for regression tasks).")
flags.DEFINE_bool("skip_bad_rows", False,
                  "Skip data rows with the wrong number of columns or malformed JSON (they are counted and "
                  "logged) instead of stopping with an error naming the file and line.")
flags.DEFINE_string("train_file", None, "Training file name in --data_dir (or a path), overriding the task's.")
flags.DEFINE_string("dev_file", None, "Evaluation file name in --data_dir (or a path), overriding the task's.")
flags.DEFINE_string("test_file", None, "Prediction file name in --data_dir (or a path), overriding the task's.")
flags.DEFINE_string("text_a_field", "text_a", "tsv/jsonl tasks: column/key of the (first) text.")
flags.DEFINE_string("text_b_field", None, "tsv/jsonl tasks: column/key of the second text of a pair.")
flags.DEFINE_string("label_field", "label", "tsv/jsonl tasks: column/key of the label.")
flags.DEFINE_string("id_field", None, "tsv/jsonl tasks: column/key of the example id (default: row number).")
flags.DEFINE_list("labels", None,
                  "tsv/jsonl tasks: the label set, comma separated (default: the sorted labels of the train file).")
flags.DEFINE_string("xnli_language", "zh", "xnli task: the language to train and evaluate on.")
flags.DEFINE_integer("num_train_steps", None, "Train for this many steps (default: from num_train_epochs).")


def build_processor(flag_values):
  """The task's DataProcessor, configured from the flags."""
  return tasks.get_processor(
      flag_values.task_name, data_dir=flag_values.data_dir, skip_bad_rows=flag_values.skip_bad_rows,
      train_file=flag_values.train_file, dev_file=flag_values.dev_file, test_file=flag_values.test_file,
      xnli_language=flag_values.xnli_language, text_a_field=flag_values.text_a_field,
      text_b_field=flag_values.text_b_field, label_field=flag_values.label_field, labels=flag_values.labels,
      id_field=flag_values.id_field)


def log_data_stats(processor):
  """Logs, per file read, how many examples were kept, skipped (bad rows) and dropped (no gold label)."""
  for path, stats in processor.stats.items():
    counts = stats.as_dict()
    logging.info("%s: %d examples, %d bad rows skipped, %d without gold label dropped", path,
                 counts["examples"], counts["skipped_bad_rows"], counts["dropped_no_gold_label"])


def check_flags(flag_values):
  """Raises UsageError for missing required flags or impossible values."""
  common_flags.require_flags(flag_values, ["task_name", "vocab_file", "bert_config_file", "output_dir"])
  if not (flag_values.do_train or flag_values.do_eval or flag_values.do_predict or flag_values.export_dir):
    raise UsageError("nothing to do: give --do_train, --do_eval, --do_predict or --export_dir")
  if (flag_values.do_train or flag_values.do_eval or flag_values.do_predict) and not flag_values.data_dir:
    raise UsageError("--data_dir is required")
  for name in ("train_batch_size", "eval_batch_size", "predict_batch_size", "max_seq_length"):
    if flag_values[name].value < 1:
      raise UsageError("--%s must be >= 1, got %d" % (name, flag_values[name].value))
  if flag_values.max_seq_length < 3:
    raise UsageError("--max_seq_length must be at least 3 ([CLS] text [SEP]), got %d" % flag_values.max_seq_length)


def run(flag_values):
  """Runs the requested steps (train, eval, predict, export) with the parsed flags."""
  check_flags(flag_values)
  tokenization.validate_case_matches_checkpoint(flag_values.do_lower_case, flag_values.init_checkpoint)
  bert_config = modeling.BertConfig.from_json_file(flag_values.bert_config_file)
  modeling.check_sequence_length(bert_config, flag_values.max_seq_length, what="--max_seq_length")
  options = common_flags.run_options_from_flags(flag_values)
  distribution.prepare_devices(options)  # before the first TensorFlow op fixes the devices
  processor = build_processor(flag_values)
  label_list = processor.get_labels()
  tokenizer = tokenization.FullTokenizer(vocab_file=flag_values.vocab_file, do_lower_case=flag_values.do_lower_case)
  setup = classifier_runner.ClassifierSetup(processor, label_list, tokenizer, flag_values.max_seq_length,
                                            flag_values.output_dir, use_tpu=options.use_tpu)
  # Every requested split is read before anything is trained, so a missing or malformed file fails at once.
  train_examples, num_train_steps, num_warmup_steps = None, 1, 0
  if flag_values.do_train:
    train_examples = processor.get_train_examples(flag_values.data_dir)
    num_train_steps = classifier_runner.num_train_steps_for(
        len(train_examples), flag_values.train_batch_size, flag_values.num_train_epochs, flag_values.num_train_steps)
    num_warmup_steps = int(num_train_steps * flag_values.warmup_proportion)
  dev_sets = processor.dev_sets(flag_values.data_dir) if flag_values.do_eval else None
  test_sets = processor.test_sets(flag_values.data_dir) if flag_values.do_predict else None
  log_data_stats(processor)
  estimator_utils.write_run_metadata(flag_values.output_dir, bert_config, common_flags.flag_dict(flag_values))

  def make_model_fn(run_options):
    return classifier_model.model_fn_builder(
        bert_config=bert_config, num_labels=setup.num_labels, init_checkpoint=flag_values.init_checkpoint,
        learning_rate=flag_values.learning_rate, num_train_steps=num_train_steps, num_warmup_steps=num_warmup_steps,
        run_options=run_options, use_one_hot_embeddings=run_options.use_tpu,
        is_regression=processor.is_regression, output_dir=flag_values.output_dir)

  estimator = estimator_utils.build_estimator(
      make_model_fn(options), options, flag_values.output_dir, flag_values.train_batch_size,
      eval_batch_size=flag_values.eval_batch_size, predict_batch_size=flag_values.predict_batch_size)
  if flag_values.do_train:
    classifier_runner.train(estimator, setup, train_examples, num_train_steps,
                            seed=12345 if options.tf_random_seed is None else options.tf_random_seed)
  if not distribution.is_chief():
    logging.info("Not the chief: evaluation, prediction and export are left to worker 0.")
    return
  if flag_values.do_eval:
    classifier_runner.evaluate(estimator, setup, dev_sets, flag_values.eval_batch_size)
  if flag_values.do_predict:
    for path in classifier_runner.predict_test_sets(estimator, setup, test_sets, flag_values.predict_batch_size):
      logging.info("wrote %s", path)
  if flag_values.export_dir:
    classifier_runner.export(make_model_fn, options, setup, flag_values.export_dir)


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    run(FLAGS)
  except UsageError as error:
    sys.exit("error: %s" % error)


if __name__ == "__main__":
  app.run(main)
