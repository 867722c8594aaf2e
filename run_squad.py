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

import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert.errors import UsageError
from bert.squad import run as squad_run
from bert.squad import scoring as squad_scoring

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


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    squad_run.run(common_flags.args_from_flags(squad_run.Args, FLAGS), common_flags.run_options_from_flags(FLAGS),
                  common_flags.flag_dict(FLAGS))
  except UsageError as error:
    sys.exit("error: %s" % error)


if __name__ == "__main__":
  app.run(main)
