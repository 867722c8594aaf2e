"""reproduce/: the table scripts at SCALE=smoke, their bookkeeping (resume, failure, missing data) and bad input."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")


def _run(script, env, check=True):
  full_env = dict(os.environ, PYTHON=str(ROOT / ".venv" / "bin" / "python"), **env)
  result = subprocess.run(["bash", str(ROOT / "reproduce" / script)], env=full_env, capture_output=True, text=True,
                          timeout=900)
  if check and result.returncode != 0:
    raise AssertionError("%s failed (%d):\n%s\n%s" % (script, result.returncode, result.stdout, result.stderr))
  return result


def _table_rows(markdown):
  """{first cell: [cells]} of the Markdown table rows (header included)."""
  rows = {}
  for line in markdown.splitlines():
    if line.startswith("| ") and not line.startswith("|---"):
      cells = [cell.strip() for cell in line.strip("|").split("|")]
      rows[cells[0]] = cells[1:]
  return rows


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
  """pretrain_small.sh at SCALE=smoke (Tiny only): the run directory root and the collected table."""
  out = tmp_path_factory.mktemp("runs")
  result = _run("pretrain_small.sh", {"SCALE": "smoke", "OUTPUT_DIR": str(out), "MODELS": "tiny"})
  return out, result


def _model_env(out, name="tiny-smoke"):
  tiny = out / "pretrain_small" / "tiny"
  return {"SCALE": "smoke", "OUTPUT_DIR": str(out), "MODEL_NAME": name, "INIT_CHECKPOINT": str(tiny),
          "BERT_CONFIG": str(tiny / "bert_config.json"), "VOCAB": str(tiny / "vocab.txt")}


def test_pretrain_small_table_and_curve_come_from_the_held_out_evaluations(pretrained):
  out, _ = pretrained
  results = out / "pretrain_small" / "results"
  history = json.loads((out / "pretrain_small" / "tiny" / "eval_history.json").read_text())
  assert [row["global_step"] for row in history] == [0, 20]  # one checkpoint at the start, one at the end
  rows = _table_rows((results / "pretrain_small.md").read_text())
  assert rows["Model"] == ["steps", "masked-LM accuracy", "masked-LM loss", "next-sentence accuracy",
                           "run time (training + evaluations)"]
  assert rows["tiny"][0] == "20"
  assert rows["tiny"][1] == "%.2f" % (100 * history[-1]["masked_lm_accuracy"])
  assert "BERT-Tiny-CN (published)" in rows
  document = json.loads((results / "pretrain_small.json").read_text())
  assert document["rows"][0]["history"] == history
  run = document["runs"][0]
  assert run["status"] == "ok" and run["git_commit"] and run["seconds"] is not None and "--do_train" in run["command"]
  assert (results / "pretrain_small_curves.png").stat().st_size > 1000


def test_rerun_skips_finished_runs(pretrained):
  out, _ = pretrained
  result = _run("pretrain_small.sh", {"SCALE": "smoke", "OUTPUT_DIR": str(out), "MODELS": "tiny"})
  assert "skip %s" % (out / "pretrain_small" / "tiny") in result.stdout
  assert "  run " not in result.stdout


@needs_shared
def test_glue_table_has_the_published_columns_and_dashes_for_absent_data(pretrained):
  out, _ = pretrained
  _run("glue.sh", dict(_model_env(out), TASKS="rte qqp"))
  results = out / "glue" / "results"
  rows = _table_rows((results / "glue.md").read_text())
  assert rows["Model"] == ["Score", "CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI-m", "MNLI-mm", "QNLI(v2)", "RTE",
                           "WNLI"]
  accuracy = json.loads((out / "glue" / "tiny-smoke" / "rte" / "seed1" / "eval_results.json").read_text())
  assert rows["tiny-smoke"][9] == "%.2f" % (100 * accuracy["eval_accuracy"])  # RTE
  assert rows["tiny-smoke"][5] == "–"  # QQP is not in ../shared/data
  assert rows["tiny-smoke"][0] == rows["tiny-smoke"][9]  # Score: the mean of the columns that have a number
  assert "no QQP folder" in (results / "glue.md").read_text()


@needs_shared
def test_squad_table_scores_reading_comprehension_with_the_official_rules(pretrained):
  out, _ = pretrained
  _run("squad.sh", dict(_model_env(out), TASKS="squad1 cmrc2018"))
  rows = _table_rows((out / "squad" / "results" / "squad.md").read_text())
  assert rows["Model"] == ["Score", "SQuAD 1.1", "SQuAD 2.0", "CMRC 2018 EM", "CMRC 2018 F1", "DRCD EM", "DRCD F1"]
  scores = json.loads((out / "squad" / "tiny-smoke" / "cmrc2018" / "seed1" / "eval_results.json").read_text())
  assert rows["tiny-smoke"][3] == "%.2f" % scores["EM"]
  assert rows["tiny-smoke"][4] == "%.2f" % scores["F1"]
  assert rows["tiny-smoke"][1] == "–" and rows["tiny-smoke"][0] == "–"  # SQuAD data absent: no Score


@needs_shared
def test_chinese_table_cells_are_max_mean_sd_over_seeds(pretrained):
  out, _ = pretrained
  _run("chinese.sh", dict(_model_env(out), TASKS="afqmc lcqmc", SEEDS="1 2"))
  text = (out / "chinese" / "results" / "chinese.md").read_text()
  rows = _table_rows(text)
  values = [100 * json.loads((out / "chinese" / "tiny-smoke" / "afqmc" / ("seed%d" % seed) /
                              "eval_results.json").read_text())["eval_accuracy"] for seed in (1, 2)]
  mean = sum(values) / 2
  sd = abs(values[0] - values[1]) / 2 ** 0.5
  assert rows["tiny-smoke"][8] == "%.2f (%.2f ± %.2f)" % (max(values), mean, sd)  # AFQMC
  assert rows["tiny-smoke"][6] == "–"  # LCQMC is absent
  assert "N = 2 seeds" in text and "4/5 of AFQMC dev" in text
  assert (out / "chinese" / "results" / "chinese_spread.png").is_file()


@needs_shared
def test_sts_table_shows_the_model_before_and_after_fine_tuning(pretrained):
  out, _ = pretrained
  _run("sts.sh", dict(_model_env(out), SEEDS="1"))
  text = (out / "sts" / "results" / "sts.md").read_text()
  rows = _table_rows(text)
  assert rows["Model"] == ["STS-B dev Spearman", "STS-B dev Pearson", "STS-B test Spearman", "STS-B test Pearson"]
  for name in ("tiny-smoke", "tiny-smoke-before-fine-tuning"):
    run_dir = out / "sts" / name / "stsb" / "seed1"
    dev = json.loads((run_dir / "eval_results.json").read_text())
    test = json.loads((run_dir / "test_eval_results.json").read_text())
    assert dev["eval_num_examples"] == 100 and test["test_num_examples"] == 100  # the smoke slices
    assert rows[name] == ["%.2f" % dev["eval_spearman"], "%.2f" % dev["eval_pearson"],
                          "%.2f" % test["test_spearman"], "%.2f" % test["test_pearson"]]  # already x100
  assert (out / "sts" / "tiny-smoke" / "stsb" / "seed1" / "command.txt").read_text().count("--do_train") == 1
  assert "--do_train" not in (out / "sts" / "tiny-smoke-before-fine-tuning" / "stsb" / "seed1" /
                              "command.txt").read_text()
  assert "No published row" in text


def test_failed_run_is_marked_and_the_script_exits_non_zero(pretrained, tmp_path):
  out, _ = pretrained
  env = dict(_model_env(out), OUTPUT_DIR=str(tmp_path), GLUE_DIR=str(tmp_path / "glue"), TASKS="rte mrpc")
  (tmp_path / "glue" / "RTE").mkdir(parents=True)  # present but empty: run_classifier.py fails
  result = _run("glue.sh", env, check=False)
  assert result.returncode == 1
  assert "1 run(s) failed" in result.stderr
  rows = _table_rows((tmp_path / "glue" / "results" / "glue.md").read_text())
  assert rows["tiny-smoke"][9] == "failed" and rows["tiny-smoke"][3] == "–"  # RTE failed, MRPC absent
  document = json.loads((tmp_path / "glue" / "results" / "glue.json").read_text())
  failed = [run for run in document["runs"] if run["status"] == "failed"]
  assert len(failed) == 1 and failed[0]["reason"].startswith("error: ")


@pytest.mark.parametrize("script,env,message", [
    ("glue.sh", {"SCALE": "tiny"}, "error: SCALE=tiny is not one of full, cpu, smoke"),
    ("glue.sh", {"BERT_CONFIG": "/nonexistent/bert_config.json"}, "error: BERT_CONFIG=/nonexistent/bert_config.json does not exist"),
    ("squad.sh", {"INIT_CHECKPOINT": "/nonexistent/model.ckpt"}, "error: INIT_CHECKPOINT=/nonexistent/model.ckpt: no checkpoint"),
    ("chinese.sh", {"VOCAB": ""}, "error: VOCAB is not set"),
    ("chinese.sh", {"TASKS": "cmrc2018 nli"}, "error: TASKS: unknown task 'nli'"),
    ("pretrain_small.sh", {"MODELS": "tiny huge"}, "error: MODELS (huge)="),
    ("sts.sh", {"SCALE": "cpu ", "VOCAB": "/nonexistent/vocab.txt"}, "error: SCALE=cpu  is not one of full, cpu, smoke"),
    ("sts.sh", {"VOCAB": "/nonexistent/vocab.txt"}, "error: VOCAB=/nonexistent/vocab.txt does not exist"),
])
def test_bad_input_is_one_error_line_before_any_work(tmp_path, script, env, message):
  base = {"SCALE": "smoke", "OUTPUT_DIR": str(tmp_path / "runs"), "MODEL_NAME": "m",
          "INIT_CHECKPOINT": "", "ALLOW_RANDOM_INIT": "true", "BERT_CONFIG": str(ROOT / "configs" / "bert_tiny_zh.json"),
          "VOCAB": str(ROOT / "vocab" / "zh_vocab.txt")}
  result = _run(script, dict(base, **env), check=False)
  assert result.returncode == 2
  assert result.stderr.strip().startswith(message), result.stderr
  assert len(result.stderr.strip().splitlines()) == 1
  assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("command.txt"))
