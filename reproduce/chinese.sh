#!/usr/bin/env bash
# Table 4: Chinese benchmarks in Chinese-BERT-wwm's layout — CMRC 2018 (EM/F1), DRCD (EM/F1), XNLI, ChnSentiCorp,
# LCQMC and the CLUE sets the data has (OCNLI, AFQMC, TNEWS, IFLYTEK) — each cell max (mean ± sd) over SEEDS.
# Published for Google's BERT-base-Chinese (Chinese-BERT-wwm README, max (average) of 10 runs, dev):
# CMRC 2018 65.5 (64.4) / 84.5 (84.0), DRCD 83.1 (82.7) / 89.9 (89.6), XNLI 77.8 (77.4), ChnSentiCorp 94.7 (94.3),
# LCQMC 89.4 (88.4).
#
#   MODEL_NAME=tiny-cn INIT_CHECKPOINT=reproduce/runs/pretrain_small/tiny \
#     BERT_CONFIG=reproduce/runs/pretrain_small/tiny/bert_config.json VOCAB=vocab/zh_vocab.txt SCALE=cpu \
#     bash reproduce/chinese.sh
#
# Environment (besides those of reproduce/common.sh: SCALE, OUTPUT_DIR, RESULTS_DIR, DATA_DIR, USE_TPU/TPU_NAME,
# NUM_GPUS, PRECISION, PYTHON):
#   MODEL_NAME, INIT_CHECKPOINT (required), BERT_CONFIG (required), VOCAB (required), DO_LOWER_CASE (default true)
#   TASKS    subset of "cmrc2018 drcd xnli chnsenticorp lcqmc ocnli afqmc tnews iflytek" (default: all)
#   SEEDS    default "1 2 3" (Chinese-BERT-wwm ran 10)
#   LCQMC_DIR  LCQMC train.tsv/dev.tsv (default DATA_DIR/lcqmc; absent: a "–" cell)
# Recipe (SCALE=full): batch 32, 2 epochs; learning rate 3e-5 for CMRC 2018, DRCD and XNLI, 2e-5 for the others;
# max_seq_length 512 for CMRC 2018/DRCD (doc_stride 128, max_answer_length 64), 256 for ChnSentiCorp, 128 for the
# others. Chinese-BERT-wwm tuned the learning rate per task; set LEARNING_RATE/EPOCHS to follow a paper exactly.
# Data when the official split is absent (the table's notes say which ran): CMRC 2018 trains on the trial set;
# DRCD on 4/5 of the articles of DRCD test (evaluated on the other 1/5); XNLI trains on dev and evaluates on
# test; OCNLI (dev held out) on 4/5 of train.10k by premise (evaluated on the other 1/5); AFQMC (dev only) on
# 4/5 of dev (evaluated on the other 1/5); TNEWS and IFLYTEK on FewCLUE's train_few_all (evaluated on
# dev_few_all).
# Reduced schedules (aimed at about 30 minutes on 2 CPU cores; the run time measured is in the README): cpu
# uses max_seq_length 256 and at most 60 training steps for reading comprehension, 128 and at most 40 steps
# (1,280 examples) for classification
# (MAX_MRC_TRAIN_STEPS, MAX_TRAIN_STEPS), full evaluation sets; smoke trains 4 steps (reading comprehension: 1
# epoch on slices) at max_seq_length 64/128.
set -uo pipefail
source "$(dirname "$0")/common.sh"

check_model
model_flags
TASKS=${TASKS:-cmrc2018 drcd xnli chnsenticorp lcqmc ocnli afqmc tnews iflytek}
SEEDS=${SEEDS:-1 2 3}
batch=32; epochs=${EPOCHS:-2.0}; mrc_seq=512; cls_seq=128; senti_seq=256; cap=${MAX_TRAIN_STEPS:-}; mrc_epochs=$epochs
mrc_cap=${MAX_MRC_TRAIN_STEPS:-}
case "$SCALE" in
  cpu)   mrc_seq=256; senti_seq=128; cap=${MAX_TRAIN_STEPS:-40}; mrc_cap=${MAX_MRC_TRAIN_STEPS:-60} ;;
  smoke) mrc_seq=128; cls_seq=64; senti_seq=64; cap=${MAX_TRAIN_STEPS:-4}; mrc_epochs=1.0 ;;
esac
for task in $TASKS; do
  case "$task" in cmrc2018|drcd|xnli|chnsenticorp|lcqmc|ocnli|afqmc|tnews|iflytek) ;;
    *) die "TASKS: unknown task '$task'" ;; esac
done
table_dirs chinese

# classification_data TASK WORK: sets CLS_DIR, CLS_FILES (override flags), CLS_NOTE, CLS_MISSING for TASK.
classification_data() {
  local task=$1 work=$2
  CLS_FILES=(); CLS_NOTE=""; CLS_MISSING=""
  mkdir -p "$work"
  case "$task" in
    xnli) CLS_DIR=$DATA_DIR/xnli_zh
      if [ ! -f "$CLS_DIR/train.tsv" ]; then
        CLS_FILES=(--train_file=dev.tsv --dev_file=test.tsv)
        CLS_NOTE="XNLI train is absent: trained on XNLI dev (2,490), evaluated on XNLI test (5,010)"
      fi ;;
    chnsenticorp) CLS_DIR=$DATA_DIR/chnsenticorp ;;
    lcqmc) CLS_DIR=${LCQMC_DIR:-$DATA_DIR/lcqmc}
      [ -f "$CLS_DIR/train.tsv" ] || CLS_MISSING="no LCQMC train.tsv in $CLS_DIR" ;;
    ocnli) CLS_DIR=$DATA_DIR/ocnli
      if [ ! -f "$CLS_DIR/dev.json" ] && [ -f "$CLS_DIR/train.10k.json" ]; then
        [ -f "$work/heldout.json" ] || "$PY" "$ROOT/split_data.py" --format=jsonl --group_field=prem_id \
          --input_file="$CLS_DIR/train.10k.json" --heldout_every=5 --train_output="$work/train.json" \
          --heldout_output="$work/heldout.json" > /dev/null || die "could not split OCNLI train.10k.json"
        CLS_FILES=(--train_file="$work/train.json" --dev_file="$work/heldout.json")
        CLS_NOTE="OCNLI dev is held out of the data: trained on 4/5 of train.10k, evaluated on the other 1/5 (split by premise)"
      fi ;;
    afqmc) CLS_DIR=$DATA_DIR/afqmc
      if [ ! -f "$CLS_DIR/train.json" ] && [ -f "$CLS_DIR/dev.json" ]; then
        [ -f "$work/heldout.json" ] || "$PY" "$ROOT/split_data.py" --format=jsonl --input_file="$CLS_DIR/dev.json" \
          --heldout_every=5 --train_output="$work/train.json" --heldout_output="$work/heldout.json" > /dev/null \
          || die "could not split AFQMC dev.json"
        CLS_FILES=(--train_file="$work/train.json" --dev_file="$work/heldout.json")
        CLS_NOTE="AFQMC train is absent: trained on 4/5 of AFQMC dev, evaluated on the other 1/5"
      fi ;;
    tnews|iflytek) CLS_DIR=$DATA_DIR/fewclue/$task
      if [ ! -f "$CLS_DIR/train.json" ]; then CLS_NOTE="FewCLUE subsets: trained on train_few_all, evaluated on dev_few_all"; fi ;;
  esac
  if [ -z "$CLS_MISSING" ] && [ ! -d "$CLS_DIR" ]; then CLS_MISSING="no $task data in $CLS_DIR"; fi
  return 0
}

echo "chinese (SCALE=$SCALE) for $MODEL_NAME: $TASKS, seeds $SEEDS"
for task in $TASKS; do
  for seed in $SEEDS; do
    dir=$TABLE_DIR/$MODEL_NAME/$task/seed$seed
    case "$task" in
      cmrc2018|drcd)
        mrc_data "$task" "$TABLE_DIR/data/$task"
        mrc_schedule=(--num_train_epochs="$mrc_epochs")
        if [ -n "$mrc_cap" ]; then mrc_schedule+=(--num_train_steps="$mrc_cap"); fi
        MRC_NOTE="${MRC_NOTE}${mrc_cap:+${MRC_NOTE:+; }at most $mrc_cap training steps}" \
          mrc_run "$dir" "$seed" --max_seq_length="$mrc_seq" --doc_stride=128 --max_answer_length=64 \
          --train_batch_size="$batch" --predict_batch_size=32 --learning_rate="${LEARNING_RATE:-3e-5}" \
          "${mrc_schedule[@]}" ;;
      *)
        classification_data "$task" "$TABLE_DIR/data/$task"
        if [ -n "$CLS_MISSING" ]; then mark_missing "$dir" "$CLS_MISSING"; continue; fi
        seq=$cls_seq; lr=${LEARNING_RATE:-2e-5}
        [ "$task" = chnsenticorp ] && seq=$senti_seq
        [ "$task" = xnli ] && lr=${LEARNING_RATE:-3e-5}
        schedule=(--num_train_epochs="$epochs")
        note=$CLS_NOTE
        if [ -n "$cap" ]; then
          schedule+=(--num_train_steps="$cap")
          note="${note:+$note; }at most $cap training steps"
        fi
        NOTE=$note run_step "$dir" "$PY" "$ROOT/run_classifier.py" --task_name="$task" --data_dir="$CLS_DIR" \
          "${CLS_FILES[@]}" "${MODEL_FLAGS[@]}" --output_dir="$dir" --do_train --do_eval \
          --max_seq_length="$seq" --train_batch_size="$batch" --eval_batch_size=64 --learning_rate="$lr" \
          "${schedule[@]}" --tf_random_seed="$seed" --save_checkpoints_steps=100000 --keep_checkpoint_max=1 \
          "${ACCEL[@]}" ;;
    esac
  done
done

collect chinese
