#!/usr/bin/env bash
# Table 2: GLUE in the model zoo's layout, Score | CoLA | SST-2 | MRPC | STS-B | QQP | MNLI-m | MNLI-mm | QNLI(v2) |
# RTE | WNLI, one row per model (run the script once per model; the collector shows every model in OUTPUT_DIR).
#
# Published recipe (the defaults, SCALE=full): max_seq_length 128, train_batch_size 4, learning_rate 2e-5,
# 1 epoch, each task on its own. Published rows (BERT-Tiny, BERT-Tiny-CN) are printed under ours.
#
#   MODEL_NAME=tiny-cn INIT_CHECKPOINT=reproduce/runs/pretrain_small/tiny \
#     BERT_CONFIG=reproduce/runs/pretrain_small/tiny/bert_config.json VOCAB=vocab/zh_vocab.txt bash reproduce/glue.sh
#   MODEL_NAME=minilm INIT_CHECKPOINT=out/minilm BERT_CONFIG=out/minilm/bert_config.json VOCAB=out/minilm/vocab.txt \
#     SCALE=cpu bash reproduce/glue.sh
#
# Environment (besides those of reproduce/common.sh: SCALE, OUTPUT_DIR, RESULTS_DIR, DATA_DIR, SEEDS, USE_TPU/
# TPU_NAME, NUM_GPUS, PRECISION, PYTHON):
#   MODEL_NAME       the row's name (default: the folder of BERT_CONFIG)
#   INIT_CHECKPOINT  checkpoint prefix, or a directory (its latest checkpoint)        (required)
#   BERT_CONFIG      bert_config.json of the checkpoint                                 (required)
#   VOCAB            vocab.txt of the checkpoint                                       (required)
#   DO_LOWER_CASE    true (default) | false
#   GLUE_DIR         folder with CoLA/ SST-2/ MRPC/ STS-B/ QQP/ MNLI/ QNLI/ RTE/ WNLI/ (default DATA_DIR/glue_en);
#                    a task whose folder is absent is a "–" cell
#   TASKS            subset of "cola sst2 mrpc stsb qqp mnli qnli rte wnli" (default: all)
#   SEEDS            default "1"
#   MAX_TRAIN_STEPS  cap on training steps per task (default: none at full; see below)
#
# Reduced schedules: cpu trains at most 150 steps per task (600 examples of the 1-epoch recipe, which is what
# fits 30 minutes for a 6-layer model on 2 CPU cores) with the recipe otherwise unchanged and the whole dev sets;
# smoke trains 4 steps at max_seq_length 32 (tests use TASKS="rte qqp").
set -uo pipefail
source "$(dirname "$0")/common.sh"

check_model
model_flags
GLUE_DIR=${GLUE_DIR:-$DATA_DIR/glue_en}
TASKS=${TASKS:-cola sst2 mrpc stsb qqp mnli qnli rte wnli}
SEEDS=${SEEDS:-1}
seq=128; batch=4; lr=2e-5; epochs=1.0; cap=${MAX_TRAIN_STEPS:-}
case "$SCALE" in
  cpu)   cap=${MAX_TRAIN_STEPS:-150} ;;
  smoke) cap=${MAX_TRAIN_STEPS:-4}; seq=32 ;;
esac
declare -A FOLDER=([cola]=CoLA [sst2]=SST-2 [mrpc]=MRPC [stsb]=STS-B [qqp]=QQP [mnli]=MNLI [qnli]=QNLI [rte]=RTE
                   [wnli]=WNLI)
for task in $TASKS; do [ -n "${FOLDER[$task]:-}" ] || die "TASKS: unknown GLUE task '$task'"; done
table_dirs glue

echo "glue (SCALE=$SCALE) for $MODEL_NAME: $TASKS, seeds $SEEDS"
for task in $TASKS; do
  data=$GLUE_DIR/${FOLDER[$task]}
  for seed in $SEEDS; do
    dir=$TABLE_DIR/$MODEL_NAME/$task/seed$seed
    if [ ! -d "$data" ]; then
      mark_missing "$dir" "no ${FOLDER[$task]} folder in GLUE_DIR ($GLUE_DIR)"
      continue
    fi
    schedule=(--num_train_epochs="$epochs")
    if [ -n "$cap" ]; then schedule+=(--num_train_steps="$cap"); fi
    note=""
    if [ -n "$cap" ]; then note="at most $cap training steps (batch $batch) instead of one epoch"; fi
    NOTE=$note run_step "$dir" "$PY" "$ROOT/run_classifier.py" --task_name="$task" --data_dir="$data" \
      "${MODEL_FLAGS[@]}" --output_dir="$dir" --do_train --do_eval --max_seq_length="$seq" \
      --train_batch_size="$batch" --eval_batch_size=32 --learning_rate="$lr" "${schedule[@]}" \
      --tf_random_seed="$seed" --save_checkpoints_steps=100000 --keep_checkpoint_max=1 "${ACCEL[@]}"
  done
done

collect glue
