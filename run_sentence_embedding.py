r"""Sentence-BERT: fine-tunes a BERT checkpoint into a sentence-embedding model (siamese, shared weights).

Objectives: --loss=cosine_mse (cosine of the two embeddings vs the gold score scaled to [0, 1] by
--score_min/--score_max, mean squared error) or --loss=mnrl (in-batch negatives over (anchor, positive) pairs,
cross-entropy over --mnrl_scale * cosine). --pooling=mean|cls. Tasks (--task_name): stsb (STS Benchmark gz or
GLUE tsv), tsv/jsonl (own scored pairs), afqmc, bustm, lcqmc, bq, mrpc, qqp (binary), ocnli, cmnli, xnli, mnli,
rte, qnli (entailment pairs are the positives).
Outputs in --output_dir: eval_results.txt/.json (Spearman/Pearson x100, or accuracy/average precision x100 with
a dev-chosen cosine threshold); test_embeddings_{a,b}.npy, test_results.tsv (--do_predict); --export_dir: a
sentence-transformers directory.

Example (STS-B):
  python run_sentence_embedding.py --task_name=stsb --data_dir=../shared/data/glue_en/STS-B \
    --vocab_file=$M/vocab.txt --bert_config_file=$M/bert_config.json --init_checkpoint=$M/bert_model.ckpt \
    --do_train --do_eval --loss=cosine_mse --pooling=mean --max_seq_length=64 --train_batch_size=16 \
    --learning_rate=2e-5 --num_train_epochs=4 --output_dir=out/sbert --export_dir=out/sbert/st
"""
import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert.errors import UsageError
from bert.sentence_embedding import data
from bert.sentence_embedding import model
from bert.sentence_embedding import run as sentence_run

FLAGS = flags.FLAGS

## Google's flags, from bert/common_flags.py.
common_flags.define_finetuning_flags(("train", "eval", "predict"), max_seq_length=128)
flags.DEFINE_string("data_dir", None, "Directory with the task's data files (--train_file etc. override names).")
flags.DEFINE_string("task_name", None, "Sentence-pair task: %s." % ", ".join(data.pair_task_names()))
# `--help` lists the shared flags with the script's own.
flags.adopt_module_key_flags(common_flags)

## This script's own
flags.DEFINE_enum("pooling", "mean", model.POOLING_MODES,
                  "Sentence vector: mean of the last layer over the real tokens, or the [CLS] vector.")
flags.DEFINE_enum("loss", "cosine_mse", model.LOSSES,
                  "cosine_mse: (cosine - scaled gold score)^2 on scored or binary pairs; mnrl: multiple "
                  "negatives ranking on the positive pairs (in-batch negatives).")
flags.DEFINE_float("mnrl_scale", 20.0, "--loss=mnrl: the scale of the cosine similarities (the softmax's 1/T).")
flags.DEFINE_float("mnrl_min_score", 0.8,
                   "--loss=mnrl on a scored task: pairs whose score scaled to [0, 1] is at least this are positives.")
flags.DEFINE_float("score_min", None, "Lowest gold score of a scored task (default: stsb 0, tsv/jsonl 0).")
flags.DEFINE_float("score_max", None, "Highest gold score of a scored task (default: stsb 5, tsv/jsonl 1).")
flags.DEFINE_string("export_dir", None,
                    "Write the trained model here as a sentence-transformers directory (SentenceTransformer(dir)).")
flags.DEFINE_integer("num_train_steps", None, "Train for this many steps (default: from num_train_epochs).")
flags.DEFINE_string("train_file", None, "Training file name in --data_dir (or a path), overriding the task's.")
flags.DEFINE_string("dev_file", None, "Evaluation file name in --data_dir (or a path), overriding the task's.")
flags.DEFINE_string("test_file", None, "Prediction file name in --data_dir (or a path), overriding the task's.")
flags.DEFINE_string("text_a_field", "text_a", "tsv/jsonl tasks: column/key of the first sentence.")
flags.DEFINE_string("text_b_field", "text_b", "tsv/jsonl tasks: column/key of the second sentence.")
flags.DEFINE_string("label_field", "label", "tsv/jsonl tasks: column/key of the gold score.")
flags.DEFINE_string("id_field", None, "tsv/jsonl tasks: column/key of the pair id (default: row number).")
flags.DEFINE_string("xnli_language", "zh", "xnli task: the language to read.")
flags.DEFINE_bool("skip_bad_rows", False,
                  "Skip (and count) malformed rows instead of stopping with an error naming the file and line.")


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    results = sentence_run.run(common_flags.args_from_flags(sentence_run.Args, FLAGS),
                               common_flags.run_options_from_flags(FLAGS),
                               common_flags.flag_dict(FLAGS))
  except UsageError as error:
    sys.exit("error: %s" % error)
  for name in ("eval", "test"):
    if name in results:
      logging.info("%s results: %s", name, results[name])


if __name__ == "__main__":
  app.run(main)
