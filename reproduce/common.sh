# shellcheck shell=bash
# Sourced by the table scripts in reproduce/: the shared environment variables, run bookkeeping (finished runs
# are skipped, interrupted ones resume from their checkpoints, failed ones are marked and the table goes on) and
# the accelerator flags. Nothing here trains anything: every run is one of the project's scripts.
#
# Environment read here (each table script documents its own as well):
#   SCALE        full (the published recipe, default) | cpu (reduced schedule for 2 CPU cores, aiming at <= 30 min per
#                table) | smoke (tiny slices, under a minute; used by the tests)
#   OUTPUT_DIR   root of the run directories (default reproduce/runs); each table writes OUTPUT_DIR/<table>/
#   RESULTS_DIR  where the collector writes the table (Markdown, JSON, PNG) (default OUTPUT_DIR/<table>/results)
#   DATA_DIR     the data folder (default ../shared/data beside the project)
#   SEEDS        space-separated fine-tuning seeds (--tf_random_seed); cells show max (mean ± sd) over them
#   USE_TPU, TPU_NAME, TPU_ZONE, GCP_PROJECT, NUM_TPU_CORES   run on a Cloud TPU (Google's flags)
#   NUM_GPUS     replicas on one machine (--num_gpus); PRECISION fp32 | bf16 | fp16 (--precision)
#   PYTHON       the interpreter (default .venv/bin/python, else python3)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python
else PY=python3
fi
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

die() { echo "error: $*" >&2; exit 2; }

SCALE=${SCALE:-full}
case "$SCALE" in
  full|cpu|smoke) ;;
  *) die "SCALE=$SCALE is not one of full, cpu, smoke" ;;
esac
DATA_DIR=${DATA_DIR:-$ROOT/../shared/data}
OUTPUT_DIR=${OUTPUT_DIR:-$ROOT/reproduce/runs}
FAILED_RUNS=0

# table_dirs TABLE: sets TABLE_DIR (the runs) and RESULTS (the collected table) for TABLE.
table_dirs() {
  TABLE_DIR=$OUTPUT_DIR/$1
  RESULTS=${RESULTS_DIR:-$TABLE_DIR/results}
  mkdir -p "$TABLE_DIR" "$RESULTS" || die "cannot create $TABLE_DIR or $RESULTS"
}

# need_file VAR PATH: one error line before any work when a required input is missing.
need_file() {
  [ -n "$2" ] || die "$1 is not set"
  [ -e "$2" ] || die "$1=$2 does not exist"
}

# checkpoint_prefix PATH: the checkpoint prefix of PATH, which may be a prefix (bert_model.ckpt, model.ckpt-N)
# or a directory (its latest checkpoint, as named in its `checkpoint` file).
checkpoint_prefix() {
  local path=$1 name
  if [ -d "$path" ]; then
    [ -f "$path/checkpoint" ] || die "INIT_CHECKPOINT=$path is a directory without a 'checkpoint' file"
    name=$(sed -n 's/^model_checkpoint_path: "\(.*\)"$/\1/p' "$path/checkpoint" | head -n 1)
    case "$name" in /*) path=$name ;; *) path=$path/$name ;; esac
  fi
  [ -f "$path.index" ] || die "INIT_CHECKPOINT=$1: no checkpoint $path.index"
  echo "$path"
}

# check_model: validates INIT_CHECKPOINT (optional with ALLOW_RANDOM_INIT), BERT_CONFIG and VOCAB.
check_model() {
  need_file BERT_CONFIG "${BERT_CONFIG:-}"
  need_file VOCAB "${VOCAB:-}"
  if [ -n "${INIT_CHECKPOINT:-}" ]; then
    INIT_CHECKPOINT=$(checkpoint_prefix "$INIT_CHECKPOINT") || exit 2
  elif [ "${ALLOW_RANDOM_INIT:-false}" != true ]; then
    die "INIT_CHECKPOINT is not set (the pretrained model to fine-tune; ALLOW_RANDOM_INIT=true fine-tunes from random weights)"
  fi
  MODEL_NAME=${MODEL_NAME:-$(basename "$(dirname "$BERT_CONFIG")")}
  case "$MODEL_NAME" in */*|"") die "MODEL_NAME=$MODEL_NAME must be a plain name (it names a folder)" ;; esac
}

# model_flags: sets MODEL_FLAGS, the flags of check_model's model.
model_flags() {
  MODEL_FLAGS=(--bert_config_file="$BERT_CONFIG" --vocab_file="$VOCAB" --do_lower_case="${DO_LOWER_CASE:-true}")
  if [ -n "${INIT_CHECKPOINT:-}" ]; then MODEL_FLAGS+=(--init_checkpoint="$INIT_CHECKPOINT"); fi
}

# accelerator_flags: sets ACCEL, Google's TPU flags or the project's GPU/precision flags.
accelerator_flags() {
  ACCEL=()
  if [ "${USE_TPU:-false}" = true ]; then
    [ -n "${TPU_NAME:-}" ] || die "USE_TPU=true needs TPU_NAME"
    ACCEL+=(--use_tpu=true --tpu_name="$TPU_NAME")
    if [ -n "${TPU_ZONE:-}" ]; then ACCEL+=(--tpu_zone="$TPU_ZONE"); fi
    if [ -n "${GCP_PROJECT:-}" ]; then ACCEL+=(--gcp_project="$GCP_PROJECT"); fi
    if [ -n "${NUM_TPU_CORES:-}" ]; then ACCEL+=(--num_tpu_cores="$NUM_TPU_CORES"); fi
  fi
  if [ -n "${NUM_GPUS:-}" ]; then ACCEL+=(--num_gpus="$NUM_GPUS"); fi
  if [ -n "${PRECISION:-}" ]; then ACCEL+=(--precision="$PRECISION"); fi
  return 0
}
accelerator_flags

# _write_status DIR LINES...: DIR/status, written through a temporary name (a status file is always whole).
_write_status() {
  local dir=$1; shift
  printf '%s\n' "$@" > "$dir/status.tmp" && mv -f "$dir/status.tmp" "$dir/status"
}

# finished DIR: true when DIR holds a run that ended well (it is then skipped).
finished() { [ -f "$1/status" ] && grep -qx 'status=ok' "$1/status"; }

# run_step DIR COMMAND...: runs COMMAND (output in DIR/log.txt) unless DIR finished before; records the
# command, seconds, git commit, machine and outcome in DIR/command.txt and DIR/status. NOTE (environment), if
# set, is recorded as the run's note (e.g. a split that differs from the published one). A failure is marked
# and counted; the table goes on.
run_step() {
  local dir=$1; shift
  if finished "$dir"; then
    echo "  skip $dir (finished)"
    return 0
  fi
  mkdir -p "$dir"
  printf '%s\n' "$@" > "$dir/command.txt"
  local started begin rc reason
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  begin=$(date +%s)
  echo "  run  $dir"
  "$@" > "$dir/log.txt" 2>&1
  rc=$?
  reason=""
  if [ $rc -ne 0 ]; then
    reason=$(grep -m 1 '^error: ' "$dir/log.txt" || tail -n 1 "$dir/log.txt")
    FAILED_RUNS=$((FAILED_RUNS + 1))
    echo "  FAILED (exit $rc): $reason (log: $dir/log.txt)" >&2
  fi
  _write_status "$dir" "status=$([ $rc -eq 0 ] && echo ok || echo failed)" "exit_code=$rc" \
    "seconds=$(( $(date +%s) - begin ))" "started=$started" "scale=$SCALE" \
    "git_commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
    "machine=$(uname -m) $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)" \
    "note=${NOTE:-}" "reason=$reason"
  return 0
}

# mark_missing DIR REASON: a run that cannot be made here (its data is absent): a "–" cell with the reason.
mark_missing() {
  mkdir -p "$1"
  _write_status "$1" "status=missing" "scale=$SCALE" "reason=$2"
  echo "  –    $1: $2"
}

# collect TABLE: writes the table from the run directories; exits non-zero when a run failed.
collect() {
  "$PY" "$ROOT/reproduce/collect.py" --table="$1" --runs_dir="$TABLE_DIR" --output_dir="$RESULTS" --scale="$SCALE" \
    || die "the collector failed for $TABLE_DIR"
  if [ "$FAILED_RUNS" -gt 0 ]; then
    echo "error: $FAILED_RUNS run(s) failed; they are marked failed in $RESULTS/$1.md and $1.json" >&2
    exit 1
  fi
}

# slice KIND FILE EVERY OUT: for SCALE=smoke, a small deterministic slice of FILE (every EVERY-th unit, by
# split_data.py) written to OUT; KIND is squad or jsonl. Echoes OUT.
slice() {
  "$PY" "$ROOT/split_data.py" --format="$1" --input_file="$2" --heldout_every="$3" \
    --train_output="$4.rest" --heldout_output="$4" > /dev/null || die "could not slice $2"
  rm -f "$4.rest"
  echo "$4"
}

# mrc_data TASK WORK: chooses the train and evaluation files of a reading-comprehension TASK (squad1, squad2,
# cmrc2018, drcd) from DATA_DIR / SQUAD_DIR, splitting or slicing into WORK where needed. Sets MRC_TRAIN,
# MRC_DEV, MRC_DATASET, MRC_NOTE, and MRC_MISSING (the reason) when the data is absent.
mrc_data() {
  local task=$1 work=$2 squad=${SQUAD_DIR:-$DATA_DIR/squad}
  MRC_TRAIN=""; MRC_DEV=""; MRC_NOTE=""; MRC_MISSING=""; MRC_DATASET=$task
  mkdir -p "$work"
  case "$task" in
    squad1|squad2)
      local version=1.1; [ "$task" = squad2 ] && version=2.0
      MRC_DATASET=squad
      MRC_TRAIN=$squad/train-v$version.json; MRC_DEV=$squad/dev-v$version.json
      if [ ! -f "$MRC_TRAIN" ] || [ ! -f "$MRC_DEV" ]; then
        MRC_MISSING="no train-v$version.json and dev-v$version.json in SQUAD_DIR ($squad)"
      fi ;;
    cmrc2018)
      MRC_DEV=$DATA_DIR/cmrc2018/cmrc2018_dev.json
      MRC_TRAIN=$DATA_DIR/cmrc2018/cmrc2018_train.json
      if [ ! -f "$MRC_TRAIN" ]; then
        MRC_TRAIN=$DATA_DIR/cmrc2018/cmrc2018_trial.json
        MRC_NOTE="trained on the CMRC 2018 trial set (1,002 questions; the 10,142-question train set is absent)"
      fi
      if [ ! -f "$MRC_TRAIN" ] || [ ! -f "$MRC_DEV" ]; then MRC_MISSING="no CMRC 2018 files in $DATA_DIR/cmrc2018"; fi ;;
    drcd)
      MRC_TRAIN=$DATA_DIR/drcd/DRCD_training.json; MRC_DEV=$DATA_DIR/drcd/DRCD_dev.json
      if [ ! -f "$MRC_TRAIN" ] || [ ! -f "$MRC_DEV" ]; then
        if [ -f "$DATA_DIR/drcd/DRCD_test.json" ]; then
          MRC_TRAIN=$work/drcd_train.json; MRC_DEV=$work/drcd_heldout.json
          [ -f "$MRC_DEV" ] || "$PY" "$ROOT/split_data.py" --format=squad \
            --input_file="$DATA_DIR/drcd/DRCD_test.json" --heldout_every=5 --train_output="$MRC_TRAIN" \
            --heldout_output="$MRC_DEV" > /dev/null || die "could not split DRCD_test.json"
          MRC_NOTE="DRCD train and dev are absent: trained on 4/5 of the articles of DRCD test, evaluated on the other 1/5 (split_data.py --heldout_every=5)"
        else
          MRC_MISSING="no DRCD files in $DATA_DIR/drcd"
        fi
      fi ;;
    *) die "unknown reading-comprehension task '$task'" ;;
  esac
  if [ -z "$MRC_MISSING" ] && [ "$SCALE" = smoke ]; then
    MRC_TRAIN=$(slice squad "$MRC_TRAIN" 40 "$work/smoke_train.json") || exit 2
    MRC_DEV=$(slice squad "$MRC_DEV" 80 "$work/smoke_dev.json") || exit 2
    MRC_NOTE="smoke slices"
  fi
  return 0
}

# mrc_run DIR SEED EXTRA_FLAGS...: fine-tunes and scores with run_squad.py on mrc_data's files (MODEL_FLAGS and
# ACCEL from above; the schedule comes in EXTRA_FLAGS).
mrc_run() {
  local dir=$1 seed=$2; shift 2
  if [ -n "$MRC_MISSING" ]; then mark_missing "$dir" "$MRC_MISSING"; return 0; fi
  local negative=false; [ "$MRC_DATASET" = squad ] && [ "$MRC_TRAIN" != "${MRC_TRAIN%v2.0.json}" ] && negative=true
  NOTE=$MRC_NOTE run_step "$dir" "$PY" "$ROOT/run_squad.py" "${MODEL_FLAGS[@]}" --output_dir="$dir" \
    --train_file="$MRC_TRAIN" --predict_file="$MRC_DEV" --do_train --do_predict --eval --dataset="$MRC_DATASET" \
    --version_2_with_negative="$negative" --tf_random_seed="$seed" --save_checkpoints_steps=100000 \
    --keep_checkpoint_max=1 "$@" "${ACCEL[@]}"
}
