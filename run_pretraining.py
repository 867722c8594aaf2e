"""Runs masked-LM (and next-sentence) pretraining of BERT: Google's run_pretraining.py, flags unchanged.

CPU/GPU:  python run_pretraining.py --bert_config_file=configs/... --input_file='data/*.tfrecord' \
            --output_dir=out --do_train --do_eval --num_train_steps=10000
TPU:      add --use_tpu --tpu_name=NAME [--tpu_zone --gcp_project]; files and output_dir on gs://.
Rerunning with the same --output_dir resumes from its latest checkpoint (and learning-rate position).

Beyond Google's flags: --eval_input_file (held-out evaluation data; without it Google's behaviour, evaluating
on --input_file), --no_nsp, and the shared blocks of bert/common_flags.py (--num_gpus, --precision,
--use_xla, --optimizer, --gradient_accumulation_steps, --log_every_n_steps, --keep_checkpoint_max, ...).
"""
import os
import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert.errors import UsageError

FLAGS = flags.FLAGS

## Required parameters
flags.DEFINE_string("bert_config_file", None,
                    "The config json file corresponding to the pre-trained BERT model. "
                    "This specifies the model architecture.")
flags.DEFINE_string("input_file", None, "Input TF example files (can be a glob or comma separated).")
flags.DEFINE_string("output_dir", None, "The output directory where the model checkpoints will be written.")

## Other parameters
flags.DEFINE_string("init_checkpoint", None, "Initial checkpoint (usually from a pre-trained BERT model).")
flags.DEFINE_integer("max_seq_length", 128,
                     "The maximum total input sequence length after WordPiece tokenization. Sequences longer "
                     "than this will be truncated, and sequences shorter than this will be padded. Must match "
                     "data generation.")
flags.DEFINE_integer("max_predictions_per_seq", 20,
                     "Maximum number of masked LM predictions per sequence. Must match data generation.")
flags.DEFINE_bool("do_train", False, "Whether to run training.")
flags.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
flags.DEFINE_integer("train_batch_size", 32, "Total batch size for training.")
flags.DEFINE_integer("eval_batch_size", 8, "Total batch size for eval.")
flags.DEFINE_float("learning_rate", 5e-5, "The initial learning rate for Adam.")
flags.DEFINE_integer("num_train_steps", 100000, "Number of training steps.")
flags.DEFINE_integer("num_warmup_steps", 10000, "Number of warmup steps.")
flags.DEFINE_integer("max_eval_steps", 100, "Maximum number of eval steps.")

## Beyond Google's script
flags.DEFINE_string("eval_input_file", None,
                    "Held-out TF example files for --do_eval (glob or comma separated). Without it, evaluation "
                    "reads --input_file, as Google's script does.")
flags.DEFINE_bool("no_nsp", False,
                  "Train without the next-sentence-prediction loss (masked LM only); the records need no "
                  "next_sentence_labels.")

common_flags.define_tpu_flags()
common_flags.define_accelerator_flags()


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    from bert import pretraining_run
    result = pretraining_run.run(pretraining_run.PretrainingArgs.from_flags(FLAGS),
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
