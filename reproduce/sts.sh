#!/usr/bin/env bash
# Table 5: sentence embeddings on STS-B (Sentence-BERT): Spearman and Pearson ×100 between the cosine of the two
# sentences' embeddings and the gold score, on STS-B dev and test, for the model as given ("<name>-before-
# fine-tuning", one run: it has no randomness) and after run_sentence_embedding.py fine-tunes it (one run per seed).
#
# Published recipe (the defaults, SCALE=full): Sentence-BERT's STS-B regression objective (--loss=cosine_mse:
# cosine vs score / 5, mean squared error) with mean pooling, train_batch_size 16, 4 epochs, learning_rate 2e-5,
# warm-up over the first 10% of the steps, max_seq_length 128, on the 5,749 STS-B training pairs.
#
#   MODEL_NAME=all-MiniLM-L6-v2 INIT_CHECKPOINT=out/minilm BERT_CONFIG=out/minilm/bert_config.json \
#     VOCAB=out/minilm/vocab.txt SCALE=cpu bash reproduce/sts.sh
#   (out/minilm: `python import_hf.py --hf_dir=<sentence-transformers model dir> --output_dir=out/minilm`)
#
# Environment (besides those of reproduce/common.sh: SCALE, OUTPUT_DIR, RESULTS_DIR, DATA_DIR, USE_TPU/TPU_NAME,
# NUM_GPUS, PRECISION, PYTHON):
#   MODEL_NAME       the row's name (default: the folder of BERT_CONFIG)
#   INIT_CHECKPOINT  checkpoint prefix, or a directory (its latest checkpoint)        (required)
#   BERT_CONFIG      bert_config.json of the checkpoint                                 (required)
#   VOCAB            vocab.txt of the checkpoint                                       (required)
#   DO_LOWER_CASE    true (default) | false
#   STSB_DIR         folder with stsbenchmark.tsv.gz (or GLUE's train/dev/test.tsv) (default DATA_DIR/glue_en/STS-B);
#                    absent: "–" cells
#   SEEDS            default "1 2 3"
#   MAX_TRAIN_STEPS  cap on training steps (default: none at full; see below)
#
# Reduced schedules: cpu trains at most 150 steps (2,400 pairs, 0.42 epoch) at max_seq_length 64 (with
# all-MiniLM-L6-v2's vocabulary every dev and test sentence fits, and all but one of the 11,498 training
# sentences) with the whole dev and test sets (all-MiniLM-L6-v2, 6 layers of 384: 45 min of run time measured on
# 2 CPU cores shared with one other training job, 2026-12-02; not yet measured alone); smoke trains 4 steps at max_seq_length 32 on the first 64 train / 100 dev /
# 100 test pairs. benchmarks/peer_check_sentence_embedding.py runs the cpu recipe through sentence-transformers'
# own trainer as well (the independent reference).
set -uo pipefail
source "$(dirname "$0")/common.sh"

check_model
model_flags
STSB_DIR=${STSB_DIR:-$DATA_DIR/glue_en/STS-B}
SEEDS=${SEEDS:-1 2 3}
seq=128; batch=16; lr=2e-5; epochs=4.0; cap=${MAX_TRAIN_STEPS:-}
case "$SCALE" in
  cpu)   cap=${MAX_TRAIN_STEPS:-150}; seq=64 ;;
  smoke) cap=${MAX_TRAIN_STEPS:-4}; seq=32 ;;
esac
table_dirs sts

data=$STSB_DIR
missing=""
if [ ! -f "$data/stsbenchmark.tsv.gz" ] && [ ! -f "$data/train.tsv" ]; then
  missing="no stsbenchmark.tsv.gz or train.tsv in STSB_DIR ($STSB_DIR)"
elif [ "$SCALE" = smoke ] && [ -f "$data/stsbenchmark.tsv.gz" ]; then
  data=$TABLE_DIR/smoke_data
  mkdir -p "$data"
  gzip -dc "$STSB_DIR/stsbenchmark.tsv.gz" | awk -F'\t' 'NR == 1 || ($1 == "train" && n[$1]++ < 64) ||
    ($1 != "train" && n[$1]++ < 100)' | gzip -c > "$data/stsbenchmark.tsv.gz.tmp" \
    && mv -f "$data/stsbenchmark.tsv.gz.tmp" "$data/stsbenchmark.tsv.gz" || die "could not slice STS-B"
fi

# sts_run DIR SEED FLAGS...: run_sentence_embedding.py on STS-B (dev: eval_results.json, test:
# test_eval_results.json) with the recipe's pooling, loss and lengths.
sts_run() {
  local dir=$1 seed=$2; shift 2
  if [ -n "$missing" ]; then mark_missing "$dir" "$missing"; return 0; fi
  run_step "$dir" "$PY" "$ROOT/run_sentence_embedding.py" --task_name=stsb --data_dir="$data" "${MODEL_FLAGS[@]}" \
    --output_dir="$dir" --do_eval --do_predict --loss=cosine_mse --pooling=mean --max_seq_length="$seq" \
    --eval_batch_size=64 --predict_batch_size=64 --tf_random_seed="$seed" --save_checkpoints_steps=100000 \
    --keep_checkpoint_max=1 "$@" "${ACCEL[@]}"
}

echo "sts (SCALE=$SCALE) for $MODEL_NAME: seeds $SEEDS"
NOTE="the model as given (no training)" sts_run "$TABLE_DIR/$MODEL_NAME-before-fine-tuning/stsb/seed1" 1
schedule=(--num_train_epochs="$epochs")
note=""
if [ -n "$cap" ]; then
  schedule+=(--num_train_steps="$cap")
  note="at most $cap training steps (batch $batch) instead of $epochs epochs, max_seq_length $seq"
fi
for seed in $SEEDS; do
  NOTE=$note sts_run "$TABLE_DIR/$MODEL_NAME/stsb/seed$seed" "$seed" --do_train --train_batch_size="$batch" \
    --learning_rate="$lr" --warmup_proportion=0.1 "${schedule[@]}"
done

collect sts
