#!/usr/bin/env bash
# Table 3: reading comprehension with the SQuAD recipe, Score | SQuAD 1.1 | SQuAD 2.0 in the model zoo's layout,
# plus the same recipe on CMRC 2018 and DRCD; one row per model (run once per model).
#
# Published recipe (the defaults, SCALE=full): max_seq_length 384, train_batch_size 12, learning_rate 3e-5,
# doc_stride 128, 2 epochs. Published F1: BERT-Tiny 39.88 / 50.66, BERT-Tiny-CN 9.48 / 50.07.
#
#   MODEL_NAME=tiny-cn INIT_CHECKPOINT=reproduce/runs/pretrain_small/tiny \
#     BERT_CONFIG=reproduce/runs/pretrain_small/tiny/bert_config.json VOCAB=vocab/zh_vocab.txt SCALE=cpu \
#     bash reproduce/squad.sh
#
# Environment (besides those of reproduce/common.sh: SCALE, OUTPUT_DIR, RESULTS_DIR, DATA_DIR, SEEDS, USE_TPU/
# TPU_NAME, NUM_GPUS, PRECISION, PYTHON):
#   MODEL_NAME, INIT_CHECKPOINT (required), BERT_CONFIG (required), VOCAB (required), DO_LOWER_CASE (default true)
#   SQUAD_DIR   folder with train-v1.1.json dev-v1.1.json train-v2.0.json dev-v2.0.json (default DATA_DIR/squad;
#               absent files are "–" cells)
#   TASKS       subset of "squad1 squad2 cmrc2018 drcd" (default: all)
#   SEEDS       default "1"
#   MAX_ANSWER_LENGTH  default 30 (Google's) for SQuAD, 64 for CMRC 2018/DRCD (their answers are longer; at 30
#               even gold positions score EM 94.5 on CMRC dev)
# Data: CMRC 2018 trains on cmrc2018_train.json when present, else on the trial set; DRCD on DRCD_training.json /
# DRCD_dev.json when present, else on a by-article split of DRCD_test.json. The table's notes say which ran.
# Reduced schedules: cpu trains at most 300 steps of batch 12 (MAX_TRAIN_STEPS), recipe otherwise unchanged, full
# evaluation sets (SQuAD itself is not in ../shared/data); smoke trains 1 epoch on slices of 1/40 of the training
# articles at max_seq_length 128.
set -uo pipefail
source "$(dirname "$0")/common.sh"

check_model
model_flags
TASKS=${TASKS:-squad1 squad2 cmrc2018 drcd}
SEEDS=${SEEDS:-1}
seq=384; batch=12; lr=3e-5; epochs=2.0; stride=128; cap=${MAX_TRAIN_STEPS:-}
case "$SCALE" in
  cpu)   cap=${MAX_TRAIN_STEPS:-300} ;;
  smoke) seq=128; epochs=1.0; stride=64 ;;
esac
schedule=(--num_train_epochs="$epochs")
if [ -n "$cap" ]; then schedule+=(--num_train_steps="$cap"); fi
for task in $TASKS; do
  case "$task" in squad1|squad2|cmrc2018|drcd) ;; *) die "TASKS: unknown reading-comprehension task '$task'" ;; esac
done
table_dirs squad

echo "squad (SCALE=$SCALE) for $MODEL_NAME: $TASKS, seeds $SEEDS"
for task in $TASKS; do
  mrc_data "$task" "$TABLE_DIR/data/$task"
  answer=${MAX_ANSWER_LENGTH:-30}
  case "$task" in cmrc2018|drcd) answer=${MAX_ANSWER_LENGTH:-64} ;; esac
  for seed in $SEEDS; do
    MRC_NOTE="${MRC_NOTE}${cap:+${MRC_NOTE:+; }at most $cap training steps}" \
      mrc_run "$TABLE_DIR/$MODEL_NAME/$task/seed$seed" "$seed" --max_seq_length="$seq" --doc_stride="$stride" \
      --train_batch_size="$batch" --predict_batch_size=32 --learning_rate="$lr" "${schedule[@]}" \
      --max_answer_length="$answer"
  done
done

collect squad
