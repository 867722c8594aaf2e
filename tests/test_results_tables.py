"""bert/results_tables.py on fabricated run directories: cells, Score, missing and failed runs, JSON."""
import json
import pathlib
import statistics

import pytest

from bert import results_tables
from bert.errors import UsageError


def _make_run(root, model, task, seed, status="ok", metrics=None, reason="", note=""):
  run_dir = root / model / task / ("seed%d" % seed)
  run_dir.mkdir(parents=True)
  (run_dir / "status").write_text("status=%s\nseconds=12\nnote=%s\nreason=%s\n" % (status, note, reason))
  (run_dir / "command.txt").write_text("python\nrun_classifier.py\n--init_checkpoint=/ckpt/model.ckpt-7\n")
  if metrics is not None:
    (run_dir / "eval_results.json").write_text(json.dumps(metrics))


def test_cells_read_max_mean_sd_and_score_averages_column_means(tmp_path):
  accuracies = [0.81, 0.84, 0.79]
  for seed, accuracy in enumerate(accuracies, 1):
    _make_run(tmp_path, "m", "rte", seed, metrics={"eval_accuracy": accuracy})
  _make_run(tmp_path, "m", "stsb", 1, metrics={"eval_pearson": 0.5, "eval_accuracy": 0.1})
  _make_run(tmp_path, "m", "qqp", 1, status="missing", reason="no QQP folder")
  _make_run(tmp_path, "m", "mrpc", 1, status="failed", reason="error: bad file")
  paths = results_tables.collect("glue", str(tmp_path), str(tmp_path / "out"), "cpu")
  document = json.loads(open(paths["json"]).read())
  cells = document["rows"][0]["cells"]
  values = [100 * a for a in accuracies]
  assert cells["RTE"]["max"] == pytest.approx(max(values))
  assert cells["RTE"]["mean"] == pytest.approx(statistics.mean(values))
  assert cells["RTE"]["sd"] == pytest.approx(statistics.stdev(values))
  assert cells["STS-B"]["max"] == pytest.approx(50.0)  # the column's metric (Pearson), not accuracy
  assert document["rows"][0]["score"] == pytest.approx((statistics.mean(values) + 50.0) / 2)
  markdown = open(paths["markdown"]).read()
  row = [line for line in markdown.splitlines() if line.startswith("| m |")][0].split(" | ")
  assert row[1] == "%.2f" % ((statistics.mean(values) + 50.0) / 2)
  assert "%.2f (%.2f ± %.2f)" % (max(values), statistics.mean(values), statistics.stdev(values)) in markdown
  assert "| – |" in markdown and "| failed |" in markdown and "no QQP folder" in markdown
  assert "N = 1/3 seeds" in markdown
  assert {run["init_checkpoint"] for run in document["runs"]} == {"/ckpt/model.ckpt-7"}
  assert "spread" in paths


def test_a_failed_seed_is_counted_beside_the_others(tmp_path):
  _make_run(tmp_path, "m", "xnli", 1, metrics={"eval_accuracy": 0.5})
  _make_run(tmp_path, "m", "xnli", 2, status="failed", reason="error: x")
  rows = results_tables.build_rows(results_tables.TABLES["chinese"], results_tables.read_finetuning_runs(str(tmp_path)))
  cell = rows[0]["cells"]["XNLI"]
  assert cell["n"] == 1 and cell["failed"] == 1
  assert results_tables.format_cell(cell) == "50.00 [1 failed]"


def test_ok_status_without_results_is_a_failure(tmp_path):
  _make_run(tmp_path, "m", "afqmc", 1)
  rows = results_tables.build_rows(results_tables.TABLES["chinese"], results_tables.read_finetuning_runs(str(tmp_path)))
  assert rows[0]["cells"]["AFQMC"]["status"] == "failed"


def test_unknown_table_or_runs_dir_is_a_usage_error(tmp_path):
  with pytest.raises(UsageError, match="--table 'sst' is not one of"):
    results_tables.collect("sst", str(tmp_path), str(tmp_path), "cpu")
  with pytest.raises(UsageError, match="--runs_dir .* does not exist"):
    results_tables.collect("glue", str(tmp_path / "none"), str(tmp_path), "cpu")


def test_readme_results_block_is_the_collected_tables():
  """README.md shows exactly the tables in reproduce/results (regenerate: python reproduce/collect.py --update_readme)."""
  from conftest import ROOT
  readme = (ROOT / "README.md").read_text(encoding="utf-8")
  assert results_tables.README_BEGIN in readme and results_tables.README_END in readme
  block = readme[readme.index(results_tables.README_BEGIN):readme.index(results_tables.README_END)]
  expected = results_tables.readme_block(str(ROOT / "reproduce" / "results"), "reproduce/results",
                                         str(ROOT / "benchmarks" / "results"))
  assert block + results_tables.README_END == expected
  assert expected.count("### ") >= 4, "every table (pretraining, GLUE, SQuAD, Chinese) is in reproduce/results"


def test_readme_block_names_command_date_commit_and_machine(tmp_path):
  _make_run(tmp_path / "runs", "m", "rte", 1, metrics={"eval_accuracy": 0.6})
  results_tables.collect("glue", str(tmp_path / "runs"), str(tmp_path / "results"), "cpu")
  block = results_tables.readme_block(str(tmp_path / "results"), "reproduce/results")
  assert "Command: `SCALE=cpu bash reproduce/glue.sh`" in block
  assert "| m | 60.00 |" in block


def test_readme_brief_names_the_notes_the_full_table_gives(tmp_path):
  _make_run(tmp_path / "runs", "m", "rte", 1, metrics={"eval_accuracy": 0.6}, note="at most 150 training steps")
  _make_run(tmp_path / "runs", "m", "qqp", 1, status="missing", reason="no QQP folder in GLUE_DIR")
  _make_run(tmp_path / "runs", "m", "wnli", 1, status="missing", reason="no WNLI folder in GLUE_DIR")
  paths = results_tables.collect("glue", str(tmp_path / "runs"), str(tmp_path / "results"), "cpu")
  full = pathlib.Path(paths["markdown"]).read_text(encoding="utf-8")
  assert "- rte: at most 150 training steps" in full and "- qqp (missing): no QQP folder in GLUE_DIR" in full
  brief = json.loads(pathlib.Path(paths["json"]).read_text(encoding="utf-8"))["readme_markdown"]
  assert "at most 150 training steps" not in brief and "QQP folder" not in brief
  assert 'Full table: notes (splits, step caps, reruns) on rte; why qqp, wnli are absent ("–").' in brief
  assert brief.split("\n\n")[:2] == full.split("\n\n")[:2]  # the same heading and table
  block = results_tables.readme_block(str(tmp_path / "results"), "reproduce/results")
  assert "Full table: [glue.md](reproduce/results/glue.md)." in block
