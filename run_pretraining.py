"""Runs masked-LM (and next-sentence) pretraining of BERT: Google's run_pretraining.py, flags unchanged.

CPU/GPU:  python run_pretraining.py --bert_config_file=configs/... --input_file='data/*.tfrecord' \
            --output_dir=out --do_train --do_eval --num_train_steps=10000
TPU:      add --use_tpu --tpu_name=NAME [--tpu_zone --gcp_project]; files and output_dir on gs://.
Rerunning with the same --output_dir resumes from its latest checkpoint (and learning-rate position).

Beyond Google's flags: --eval_input_file (held-out evaluation data; without it Google's behaviour, evaluating
on --input_file), --no_nsp, --vocab_file (records made with --dynamic_masking: the vocabulary they were made
with, for [MASK] and random replacements; by default the one named in the stats JSON beside them), and the
shared blocks of bert/common_flags.py (--num_gpus, --precision, --use_xla, --optimizer,
--gradient_accumulation_steps, --log_every_n_steps, --keep_checkpoint_max, ...).
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert.errors import UsageError

FLAGS = flags.FLAGS

## Google's flags: the shared ones from bert/common_flags.py, then this script's own.
common_flags.define_model_flags()
common_flags.define_tokenizer_flags(with_do_lower_case=False)
common_flags.define_max_seq_length_flag(128)
common_flags.define_run_flags(("train", "eval"))
common_flags.define_training_flags(epoch_schedule=False)
common_flags.define_tpu_flags()
flags.DEFINE_string("input_file", None,
                    "Pretraining TFRecords made by create_pretraining_data.py: comma-separated paths or glob "
                    "patterns. Also the evaluation data of --do_eval when --eval_input_file is not given.")
flags.DEFINE_integer("max_predictions_per_seq", 20,
                     "Masked-LM positions per sequence in the records; must equal the value the records were "
                     "made with.")
flags.DEFINE_integer("num_train_steps", 100000,
                     "Total optimizer steps of the run; the learning rate reaches zero at the last one.")
flags.DEFINE_integer("num_warmup_steps", 10000,
                     "Steps at the start during which the learning rate climbs linearly from zero to "
                     "--learning_rate.")
flags.DEFINE_integer("max_eval_steps", 100, "--do_eval stops after this many evaluation batches at the most.")

## Beyond Google's script
flags.DEFINE_string("eval_input_file", None,
                    "Held-out TF example files for --do_eval (glob or comma separated). Without it, evaluation "
                    "reads --input_file, as Google's script does.")
flags.DEFINE_bool("no_nsp", False,
                  "Train without the next-sentence-prediction loss (masked LM only); the records need no "
                  "next_sentence_labels.")
flags.DEFINE_bool("eval_all_checkpoints", False,
                  "With --do_eval: evaluate every checkpoint kept in --output_dir (see --keep_checkpoint_max and "
                  "--save_checkpoints_steps), oldest first, and write the learning curve to eval_history.json; "
                  "eval_results.txt still holds the latest checkpoint's results.")
common_flags.define_accelerator_flags()
# `--help` lists the shared flags with the script's own.
flags.adopt_module_key_flags(common_flags)


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    from bert.pretraining import run as pretraining_run
    result = pretraining_run.run(common_flags.args_from_flags(pretraining_run.PretrainingArgs, FLAGS),
                                 common_flags.run_options_from_flags(FLAGS), common_flags.flag_dict(FLAGS))
  except UsageError as error:
    sys.exit("error: %s" % error)
  if result:
    logging.info("eval results: %s", os.path.join(FLAGS.output_dir, "eval_results.txt"))


if __name__ == "__main__":
  flags.mark_flag_as_required("input_file")
  flags.mark_flag_as_required("bert_config_file")
  flags.mark_flag_as_required("output_dir")
  app.run(main)
