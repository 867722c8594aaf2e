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

from bert import common_flags
from bert.classifier import data as classifier_data
from bert.classifier import model as classifier_model
from bert.classifier import run as classifier_runner
from bert.classifier import tasks
from bert.errors import UsageError

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


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    classifier_runner.run(common_flags.args_from_flags(classifier_runner.Args, FLAGS),
                          common_flags.run_options_from_flags(FLAGS), common_flags.flag_dict(FLAGS))
  except UsageError as error:
    sys.exit("error: %s" % error)


if __name__ == "__main__":
  app.run(main)
