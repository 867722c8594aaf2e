#!/usr/bin/env bash
# Table 1: small-model pretraining (the model zoo's BERT-Tiny-CN 2L/128/2 and BERT-Mini-CN 4L/256/4) with Chinese
# whole-word masking, and their masked-LM accuracy on held-out documents.
#
# Published recipe (the defaults, SCALE=full): 100k steps, train_batch_size 32, max_seq_length 128,
# max_predictions_per_seq 20, num_warmup_steps 5000, learning_rate 2e-5, Google's Chinese vocabulary (21128),
# about 13 MB of news. Published: masked_lm_accuracy 22.74% (Tiny) / 33.54% (Mini), next-sentence accuracy 100%.
#
#   bash reproduce/pretrain_small.sh                                   # the recipe (TPU/GPU advised)
#   SCALE=cpu bash reproduce/pretrain_small.sh                         # reduced schedule on 2 CPU cores
#   CORPUS="news1.txt news2.txt" USE_TPU=true TPU_NAME=my-tpu OUTPUT_DIR=gs://bucket/runs bash reproduce/pretrain_small.sh
#
# Environment (besides those of reproduce/common.sh: SCALE, OUTPUT_DIR, RESULTS_DIR, DATA_DIR, USE_TPU/TPU_NAME,
# NUM_GPUS, PRECISION, PYTHON):
#   CORPUS          pretraining text files (one sentence per line, blank line between documents), space separated
#                   (default: the three files of DATA_DIR/pretrain_zh, about 2.5 MB; smoke: sample_data/zh_corpus.txt)
#   VOCAB           WordPiece vocabulary (default vocab/zh_vocab.txt, Google's Chinese vocabulary)
#   MODELS          configs to train, from configs/bert_<name>_zh.json (default "tiny mini")
#   HELDOUT_EVERY   every N-th document is held out for evaluation (default 10)
#   DUPE_FACTOR     differently masked copies of the training text (default 10, Google's)
#   NUM_TRAIN_STEPS, NUM_WARMUP_STEPS, LEARNING_RATE, TRAIN_BATCH_SIZE, MAX_SEQ_LENGTH, MAX_PREDICTIONS_PER_SEQ
#                   override the schedule of SCALE
#   EVAL_POINTS     checkpoints evaluated on the held-out documents for the learning curve (default 10)
#   NUM_WORKERS     processes for data creation (default: all cores)
#
# Reduced schedules, and why:
#   cpu    1,200 steps (Tiny) / 250 steps (Mini) of batch 32 at max_seq_length 128, warmup 10%, learning rate
#          5e-4. The step counts are what fits 30 minutes on 2 CPU cores (about 1.5 Tiny and 0.5 Mini steps/s
#          there, each model's 10 held-out evaluations included); at 2e-5 so
#          few steps move the masked-LM accuracy nowhere measurable (the rate was set for 100k steps), and 5e-4
#          is the highest rate at which the tiny post-LayerNorm model learns context here (1e-3 stays at the
#          unigram distribution, see bert/pretraining/demo.py).
#   smoke  20 steps of batch 8 at max_seq_length 64 on the shipped sample corpus.
# Output: OUTPUT_DIR/pretrain_small/{data,<model>}/ with each model's checkpoints (the <model> folder is a valid
# INIT_CHECKPOINT for the fine-tuning tables), and RESULTS/pretrain_small.{md,json,png}.
set -uo pipefail
source "$(dirname "$0")/common.sh"

VOCAB=${VOCAB:-$ROOT/vocab/zh_vocab.txt}
MODELS=${MODELS:-tiny mini}
HELDOUT_EVERY=${HELDOUT_EVERY:-10}
DUPE_FACTOR=${DUPE_FACTOR:-10}
EVAL_POINTS=${EVAL_POINTS:-10}
NUM_WORKERS=${NUM_WORKERS:-$(nproc)}
case "$SCALE" in
  full)  default_corpus="$DATA_DIR/pretrain_zh/*.txt"; steps_tiny=100000; steps_mini=100000; batch=32; seq=128
         preds=20; lr=2e-5; warmup=5000 ;;
  cpu)   default_corpus="$DATA_DIR/pretrain_zh/*.txt"; steps_tiny=1200; steps_mini=250; batch=32; seq=128
         preds=20; lr=5e-4; warmup=10% ;;
  smoke) default_corpus="$ROOT/sample_data/zh_corpus.txt"; steps_tiny=20; steps_mini=20; batch=8; seq=64
         preds=10; lr=5e-4; warmup=10%; DUPE_FACTOR=${DUPE_FACTOR_SMOKE:-2}; EVAL_POINTS=1 ;;
esac
# shellcheck disable=SC2086
CORPUS=${CORPUS:-$(echo $default_corpus)}
need_file VOCAB "$VOCAB"
for file in $CORPUS; do need_file CORPUS "$file"; done
for model in $MODELS; do need_file "MODELS ($model)" "$ROOT/configs/bert_${model}_zh.json"; done
seq=${MAX_SEQ_LENGTH:-$seq}; preds=${MAX_PREDICTIONS_PER_SEQ:-$preds}; batch=${TRAIN_BATCH_SIZE:-$batch}
lr=${LEARNING_RATE:-$lr}
# CPU/GPU evaluation is one pass over the held-out records; a TPU evaluates a fixed number of batches.
eval_steps=1000000
if [ "${USE_TPU:-false}" = true ]; then eval_steps=${MAX_EVAL_STEPS:-100}; fi
table_dirs pretrain_small
DATA=$TABLE_DIR/data
mkdir -p "$DATA"

echo "pretrain_small (SCALE=$SCALE): corpus $CORPUS"
# One corpus file with a blank line between the inputs, then every HELDOUT_EVERY-th document held out.
if ! finished "$DATA/split"; then
  for file in $CORPUS; do cat "$file"; printf '\n\n'; done > "$DATA/corpus.txt"
fi
run_step "$DATA/split" "$PY" "$ROOT/split_data.py" --format=documents --input_file="$DATA/corpus.txt" \
  --heldout_every="$HELDOUT_EVERY" --train_output="$DATA/train.txt" --heldout_output="$DATA/heldout.txt"
for part in train heldout; do
  dupe=$DUPE_FACTOR; seed=12345
  if [ "$part" = heldout ]; then dupe=1; seed=12346; fi
  run_step "$DATA/create_$part" "$PY" "$ROOT/create_pretraining_data.py" --input_file="$DATA/$part.txt" \
    --output_file="$DATA/$part.tfrecord" --vocab_file="$VOCAB" --do_lower_case=true --chinese_wwm \
    --max_seq_length="$seq" --max_predictions_per_seq="$preds" --masked_lm_prob=0.15 --dupe_factor="$dupe" \
    --random_seed="$seed" --num_workers="$NUM_WORKERS" --noprogress
done

for model in $MODELS; do
  steps_var=steps_$model; steps=${NUM_TRAIN_STEPS:-${!steps_var:-$steps_tiny}}
  warm=${NUM_WARMUP_STEPS:-$warmup}
  case "$warm" in *%) warm=$(( steps * ${warm%\%} / 100 )) ;; esac
  every=$(( steps / EVAL_POINTS )); [ "$every" -ge 1 ] || every=1
  run_step "$TABLE_DIR/$model" "$PY" "$ROOT/run_pretraining.py" \
    --bert_config_file="$ROOT/configs/bert_${model}_zh.json" \
    --input_file="$DATA/train.tfrecord" --eval_input_file="$DATA/heldout.tfrecord" \
    --output_dir="$TABLE_DIR/$model" --do_train --do_eval --eval_all_checkpoints \
    --max_seq_length="$seq" --max_predictions_per_seq="$preds" --train_batch_size="$batch" \
    --eval_batch_size=32 --max_eval_steps="$eval_steps" --num_train_steps="$steps" --num_warmup_steps="$warm" \
    --learning_rate="$lr" --save_checkpoints_steps="$every" --keep_checkpoint_max=$(( EVAL_POINTS + 2 )) \
    --tf_random_seed=12345 "${ACCEL[@]}"
  # The fine-tuning tables read the vocabulary beside the checkpoint.
  cp -f "$VOCAB" "$TABLE_DIR/$model/vocab.txt" 2>/dev/null || true
done

collect pretrain_small
