"""Results tables from run directories: Markdown in the published layout, JSON with every run, PNG plots.

The table scripts in reproduce/ leave one directory per run, laid out as

    <runs_dir>/<model>/<task>/seed<N>/   fine-tuning runs (glue, squad, chinese)
    <runs_dir>/<model>/                  pretraining runs (pretrain_small)

each with `status` (key=value lines written by reproduce/common.sh: status ok|failed|missing, seconds, started,
git_commit, machine, note, reason), `command.txt` (the command, one argument per line) and the outputs of the
project's scripts (`eval_results.json`, `eval_history.json`). This module reads them back; it never trains.

A cell over several seeds reads `max (mean ± sd)` (sd: sample standard deviation over the seeds that finished);
one seed reads as the number itself; a task whose data is absent is "–" with the reason in the notes; a run that
failed is "failed". Score, where a table has one, is the mean over the Score columns that have a number, of each
column's mean over seeds.
"""
import dataclasses
import datetime
import json
import math
import os
import platform
import statistics

from bert import file_io
from bert import peer_check_report
from bert.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Column:
  """One column: a header, the task folder it reads and the metric shown as a percentage.

  `metric` is a key of the run's eval_results.json or test_eval_results.json. `times` converts it to a percentage;
  None means the project's convention: `eval_*` keys are fractions (×100), the SQuAD/CMRC scorers' keys already
  percentages.
  """
  header: str
  task: str
  metric: str
  in_score: bool = True
  times: float = None


@dataclasses.dataclass(frozen=True)
class Published:
  """A published row, with its source."""
  model: str
  cells: dict
  source: str


@dataclasses.dataclass(frozen=True)
class TableSpec:
  """What one results table shows."""
  name: str
  title: str
  columns: tuple
  published: tuple
  caption: str
  has_score: bool = True
  published_note: str = ""  # said instead of the published rows' sources when there are none


_GLUE_SOURCE = "the model zoo's published GLUE rows (as quoted in issue #12; CoLA there is accuracy, not MCC)"
_GLUE_HEADERS = ("Score", "CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI-m", "MNLI-mm", "QNLI(v2)", "RTE", "WNLI")
_SQUAD_SOURCE = "the model zoo's published SQuAD rows (as quoted in issue #12; F1)"
_WWM_SOURCE = ("ymcui/Chinese-BERT-wwm README, row BERT (Google's BERT-base-Chinese), max (average) of 10 runs, "
               "dev sets")

TABLES = {
    "glue": TableSpec(
        name="glue", title="GLUE (dev)",
        columns=(Column("CoLA", "cola", "eval_accuracy"), Column("SST-2", "sst2", "eval_accuracy"),
                 Column("MRPC", "mrpc", "eval_accuracy"), Column("STS-B", "stsb", "eval_pearson"),
                 Column("QQP", "qqp", "eval_accuracy"), Column("MNLI-m", "mnli", "eval_matched_accuracy"),
                 Column("MNLI-mm", "mnli", "eval_mismatched_accuracy"), Column("QNLI(v2)", "qnli", "eval_accuracy"),
                 Column("RTE", "rte", "eval_accuracy"), Column("WNLI", "wnli", "eval_accuracy")),
        published=(
            Published("BERT-Tiny (published)", dict(zip(
                _GLUE_HEADERS, (65.13, 69.12, 79.12, 70.34, 42.73, 79.81, 64.60, 66.47, 77.63, 59.21, 42.25))),
                      _GLUE_SOURCE),
            Published("BERT-Tiny-CN (published)", dict(zip(
                _GLUE_HEADERS, (56.00, 69.12, 71.10, 68.38, 24.33, 73.79, 49.23, 49.79, 59.30, 51.26, 43.66))),
                      _GLUE_SOURCE)),
        caption=("Accuracy ×100 for every column but STS-B (Pearson ×100), as in the published layout (whose "
                 "CoLA column is accuracy; MCC, F1 and Spearman are in the JSON). Score = mean of the columns "
                 "that have a number (the published Score averages all ten).")),
    "squad": TableSpec(
        name="squad", title="Reading comprehension (SQuAD recipe)",
        columns=(Column("SQuAD 1.1", "squad1", "f1"), Column("SQuAD 2.0", "squad2", "f1"),
                 Column("CMRC 2018 EM", "cmrc2018", "EM", False), Column("CMRC 2018 F1", "cmrc2018", "F1", False),
                 Column("DRCD EM", "drcd", "EM", False), Column("DRCD F1", "drcd", "F1", False)),
        published=(
            Published("BERT-Tiny (published)", {"Score": 45.27, "SQuAD 1.1": 39.88, "SQuAD 2.0": 50.66},
                      _SQUAD_SOURCE),
            Published("BERT-Tiny-CN (published)", {"Score": 29.78, "SQuAD 1.1": 9.48, "SQuAD 2.0": 50.07},
                      _SQUAD_SOURCE)),
        caption=("SQuAD columns: F1 ×100 (official SQuAD v1.1/v2.0 rules); Score = mean of the SQuAD columns that "
                 "have a number (the published Score is computed here from the two published F1s). CMRC 2018 and "
                 "DRCD: EM/F1 ×100 by the official CMRC rules, with the same recipe; not part of Score.")),
    "chinese": TableSpec(
        name="chinese", title="Chinese benchmarks (Chinese-BERT-wwm layout)",
        columns=(Column("CMRC 2018 EM", "cmrc2018", "EM"), Column("CMRC 2018 F1", "cmrc2018", "F1"),
                 Column("DRCD EM", "drcd", "EM"), Column("DRCD F1", "drcd", "F1"),
                 Column("XNLI", "xnli", "eval_accuracy"), Column("ChnSentiCorp", "chnsenticorp", "eval_accuracy"),
                 Column("LCQMC", "lcqmc", "eval_accuracy"), Column("OCNLI", "ocnli", "eval_accuracy"),
                 Column("AFQMC", "afqmc", "eval_accuracy"), Column("TNEWS", "tnews", "eval_accuracy"),
                 Column("IFLYTEK", "iflytek", "eval_accuracy")),
        published=(
            Published("BERT-base-Chinese (published)", {
                "CMRC 2018 EM": "65.5 (64.4)", "CMRC 2018 F1": "84.5 (84.0)", "DRCD EM": "83.1 (82.7)",
                "DRCD F1": "89.9 (89.6)", "XNLI": "77.8 (77.4)", "ChnSentiCorp": "94.7 (94.3)",
                "LCQMC": "89.4 (88.4)"}, _WWM_SOURCE),),
        caption=("EM/F1 ×100 (official CMRC rules) for CMRC 2018 and DRCD; accuracy ×100 elsewhere. Each cell is "
                 "max (mean ± sd) over the seeds (published cells: max (mean) over 10 runs)."),
        has_score=False),
    "sts": TableSpec(
        name="sts", title="Sentence embeddings (STS-B, Sentence-BERT recipe)",
        columns=(Column("STS-B dev Spearman", "stsb", "eval_spearman", times=1.0),
                 Column("STS-B dev Pearson", "stsb", "eval_pearson", times=1.0),
                 Column("STS-B test Spearman", "stsb", "test_spearman", times=1.0),
                 Column("STS-B test Pearson", "stsb", "test_pearson", times=1.0)),
        published=(),
        caption=("Spearman and Pearson correlation ×100 (scipy) between the cosine similarity of the two sentences' "
                 "mean-pooled embeddings and the gold score. `<model>-before-fine-tuning` is the model as given; "
                 "`<model>` after run_sentence_embedding.py --loss=cosine_mse."),
        has_score=False,
        published_note=("No published row (no issue quotes one for this model and recipe); the independent "
                        "check is benchmarks/peer_check_sentence_embedding.py (sentence-transformers' own trainer, "
                        "same model and recipe).")),
}
PRETRAIN_PUBLISHED = (
    Published("BERT-Tiny-CN (published)", {"masked_lm_accuracy": 22.74, "next_sentence_accuracy": 100.0},
              "the model zoo (as quoted in issue #12): 100k steps on about 13 MB of news"),
    Published("BERT-Mini-CN (published)", {"masked_lm_accuracy": 33.54, "next_sentence_accuracy": 100.0},
              "the model zoo (as quoted in issue #12): 100k steps on about 13 MB of news"),
)
TABLE_NAMES = ("pretrain_small",) + tuple(TABLES)
TEST_METRICS_FILE = "test_eval_results.json"  # a run's metrics on a labelled test set, if it has one


def read_status(run_dir):
  """The `status` file of a run directory as a dict (empty when there is none)."""
  path = os.path.join(run_dir, "status")
  if not os.path.isfile(path):
    return {}
  status = {}
  with open(path, encoding="utf-8") as handle:
    for line in handle:
      key, _, value = line.rstrip("\n").partition("=")
      status[key] = value
  return status


def read_command(run_dir):
  """The run's command (list of arguments), or []."""
  path = os.path.join(run_dir, "command.txt")
  if not os.path.isfile(path):
    return []
  with open(path, encoding="utf-8") as handle:
    return [line.rstrip("\n") for line in handle]


def _flag(command, name):
  prefix = "--%s=" % name
  for argument in command:
    if argument.startswith(prefix):
      return argument[len(prefix):]
  return None


def _sorted_dirs(path):
  return sorted(name for name in os.listdir(path) if os.path.isdir(os.path.join(path, name)))


def _seed_of(name):
  return int(name[len("seed"):]) if name.startswith("seed") and name[len("seed"):].isdigit() else None


def read_finetuning_runs(runs_dir):
  """Every run under runs_dir/<model>/<task>/seed<N>/, as dicts (model, task, seed, status, metrics, ...)."""
  runs = []
  for model in _sorted_dirs(runs_dir):
    if model == "results":
      continue
    for task in _sorted_dirs(os.path.join(runs_dir, model)):
      task_dir = os.path.join(runs_dir, model, task)
      for seed_name in _sorted_dirs(task_dir):
        seed = _seed_of(seed_name)
        if seed is None:
          continue
        runs.append(_read_run(os.path.join(task_dir, seed_name), model=model, task=task, seed=seed,
                              metrics_file="eval_results.json"))
  return runs


def _read_run(run_dir, metrics_file, **identity):
  status = read_status(run_dir)
  command = read_command(run_dir)
  state = status.get("status", "unfinished")
  metrics = {}
  metrics_path = os.path.join(run_dir, metrics_file)
  if state == "ok":
    if not os.path.isfile(metrics_path):
      state, status["reason"] = "failed", "finished without %s" % metrics_file
    else:
      metrics = file_io.read_json(metrics_path)
      test_path = os.path.join(run_dir, TEST_METRICS_FILE)
      if os.path.isfile(test_path):  # test_* keys, beside the eval_* ones
        metrics.update(file_io.read_json(test_path))
  return dict(identity, status=state, reason=status.get("reason", ""), note=status.get("note", ""),
              seconds=_number(status.get("seconds")), started=status.get("started"),
              git_commit=status.get("git_commit"), machine=status.get("machine"), scale=status.get("scale"),
              init_checkpoint=_flag(command, "init_checkpoint"), command=command, metrics=metrics,
              run_dir=run_dir)


def _number(text):
  try:
    return float(text)
  except (TypeError, ValueError):
    return None


def summarize(values):
  """max, mean and sample sd (None for one value) of a list of numbers."""
  return {"max": max(values), "mean": statistics.fmean(values),
          "sd": statistics.stdev(values) if len(values) > 1 else None, "n": len(values)}


def format_cell(cell):
  """The Markdown text of a cell dict."""
  if cell["status"] == "missing":
    return "–"
  if cell["status"] != "ok":
    return cell["status"]
  text = "%.2f" % cell["max"] if cell["n"] == 1 else "%.2f (%.2f ± %.2f)" % (cell["max"], cell["mean"], cell["sd"])
  if cell.get("failed"):
    text += " [%d failed]" % cell["failed"]
  return text


def _metric_value(metrics, column):
  """The column's metric as a percentage (see Column.times)."""
  value = metrics.get(column.metric)
  if value is None:
    return None
  times = column.times if column.times is not None else (100.0 if column.metric.startswith("eval_") else 1.0)
  return float(value) * times


def build_cell(runs, column):
  """The cell of `column` over the runs (all seeds) of one model and task."""
  if not runs:
    return {"status": "not run"}
  finished = [run for run in runs if run["status"] == "ok"]
  values = [_metric_value(run["metrics"], column) for run in finished]
  values = [value for value in values if value is not None and not math.isnan(value)]
  if values:
    return dict(summarize(values), status="ok", values=values,
                failed=sum(1 for run in runs if run["status"] in ("failed", "unfinished")))
  if all(run["status"] == "missing" for run in runs):
    return {"status": "missing", "reason": runs[0]["reason"]}
  if finished:
    return {"status": "failed", "reason": "no metric %s in eval_results.json" % column.metric}
  return {"status": "failed" if any(run["status"] == "failed" for run in runs) else "unfinished",
          "reason": "; ".join(sorted({run["reason"] for run in runs if run["reason"]}))}


def build_rows(spec, runs):
  """One row per model: {model, cells: {header: cell}, score}."""
  rows = []
  for model in sorted({run["model"] for run in runs}):
    cells = {}
    for column in spec.columns:
      cells[column.header] = build_cell([r for r in runs if r["model"] == model and r["task"] == column.task],
                                        column)
    row = {"model": model, "cells": cells}
    if spec.has_score:
      means = [cells[c.header]["mean"] for c in spec.columns if c.in_score and cells[c.header]["status"] == "ok"]
      row["score"] = statistics.fmean(means) if means else None
      row["score_columns"] = len(means)
    rows.append(row)
  return rows


def _notes(runs):
  """Distinct notes and missing-data reasons, each with the tasks it concerns."""
  notes = {}
  for run in runs:
    for text in (run["note"], run["reason"] if run["status"] in ("missing", "failed") else ""):
      if text:
        label = run["task"] + (" (%s)" % run["status"] if run["status"] in ("missing", "failed") else "")
        notes.setdefault(text, set()).add(label)
  return ["%s: %s" % (", ".join(sorted(tasks)), text) for text, tasks in sorted(notes.items())]


def _notes_markdown(runs, brief):
  """The notes as a list (the full table), or one sentence naming the tasks they concern (brief, the README)."""
  if not brief:
    notes = _notes(runs)
    return ["", "Notes:"] + ["- " + note for note in notes] if notes else []
  noted = sorted({run["task"] for run in runs if run["note"] and run["status"] != "missing"})
  missing = sorted({run["task"] for run in runs if run["status"] == "missing"})
  failed = sorted({run["task"] for run in runs if run["status"] == "failed"})
  parts = []
  if noted:
    parts.append("notes (splits, step caps, reruns) on %s" % ", ".join(noted))
  if missing:
    parts.append("why %s %s absent (\"–\")" % (", ".join(missing), "is" if len(missing) == 1 else "are"))
  if failed:
    parts.append("what failed for %s" % ", ".join(failed))
  return ["", "Full table: " + "; ".join(parts) + "."] if parts else []


def _seed_counts(runs):
  return sorted({len([r for r in runs if r["model"] == run["model"] and r["task"] == run["task"]]) for run in runs
                 if run["status"] != "missing"})


def finetuning_markdown(spec, rows, runs, scale, brief=False):
  """The Markdown of a fine-tuning table (ours, then the published rows, then caption and notes; brief: the
  notes in one paragraph, for the README)."""
  seeds = _seed_counts(runs)
  headers = (["Score"] if spec.has_score else []) + [c.header for c in spec.columns]
  lines = ["### %s — %s" % (spec.title, _scale_words(scale)), ""]
  if seeds and max(seeds) > 1:
    lines += ["Cells: max (mean ± sd) over N = %s seeds." % "/".join(str(n) for n in seeds), ""]
  lines += ["| Model | " + " | ".join(headers) + " |", "|---" * (len(headers) + 1) + "|"]
  for row in rows:
    cells = [format_cell(row["cells"][c.header]) for c in spec.columns]
    if spec.has_score:
      cells.insert(0, "–" if row["score"] is None else "%.2f" % row["score"])
    lines.append("| %s | %s |" % (row["model"], " | ".join(cells)))
  for published in spec.published:
    cells = [published.cells.get(h) for h in headers]
    lines.append("| %s | %s |" % (published.model, " | ".join(
        "–" if value is None else (value if isinstance(value, str) else "%.2f" % value) for value in cells)))
  sources = sorted({p.source for p in spec.published})
  lines += ["", spec.caption, "", "Published rows: " + "; ".join(sources) + "." if sources else spec.published_note]
  shown = [c.header for c in spec.columns
           if c.in_score and any(row["cells"][c.header]["status"] == "ok" for row in rows)]
  in_score = [c.header for c in spec.columns if c.in_score]
  if spec.has_score and shown and len(shown) < len(in_score):
    means = ["%s %.2f" % (p.model.replace(" (published)", ""), statistics.fmean(p.cells[h] for h in shown))
             for p in spec.published if all(isinstance(p.cells.get(h), float) for h in shown)]
    if means:
      lines += ["", "For comparison with our Score, the published rows' mean over the same %d columns (%s): %s." % (
          len(shown), ", ".join(shown), "; ".join(means))]
  lines += _notes_markdown(runs, brief)
  return "\n".join(lines) + "\n"


def _scale_words(scale):
  return {"full": "published recipe", "cpu": "reduced CPU schedule (SCALE=cpu; not the published recipe)",
          "smoke": "smoke test (SCALE=smoke; tiny slices, numbers meaningless)"}.get(scale, "SCALE=%s" % scale)


def read_pretraining_runs(runs_dir):
  """Pretraining runs under runs_dir/<model>/ (data/ and results/ are not models)."""
  runs = []
  for model in _sorted_dirs(runs_dir):
    if model in ("data", "results"):
      continue
    run = _read_run(os.path.join(runs_dir, model), model=model, task="pretraining", seed=None,
                    metrics_file="eval_history.json")
    run["history"] = run.pop("metrics") or []
    run["metrics"] = run["history"][-1] if run["history"] else {}
    runs.append(run)
  size_order = ("tiny", "mini", "small", "medium", "base", "large")
  return sorted(runs, key=lambda run: (size_order.index(run["model"]) if run["model"] in size_order else 99,
                                       run["model"]))


def _pretraining_recipe(runs, runs_dir):
  """One line per model on what its run did (from its command), and one on the corpus (from data/)."""
  lines = []
  for run in runs:
    flags = {name: _flag(run["command"], name) for name in (
        "num_train_steps", "num_warmup_steps", "learning_rate", "train_batch_size", "max_seq_length",
        "max_predictions_per_seq")}
    if flags["num_train_steps"]:
      lines.append("%s: %s steps (warmup %s) of batch %s, learning rate %s, max_seq_length %s, "
                   "max_predictions_per_seq %s." % (run["model"], flags["num_train_steps"], flags["num_warmup_steps"],
                                                   flags["train_batch_size"], flags["learning_rate"],
                                                   flags["max_seq_length"], flags["max_predictions_per_seq"]))
  data = os.path.join(runs_dir, "data")
  corpus = os.path.join(data, "corpus.txt")
  split_log = os.path.join(data, "split", "log.txt")
  if os.path.isfile(corpus) and os.path.isfile(split_log):
    with open(split_log, encoding="utf-8") as handle:
      counts = [json.loads(line) for line in handle if line.startswith("{")]
    if counts:
      lines.append("Corpus: %.1f MB of text (%d documents for training, %d held out), Chinese whole-word masking "
                   "(jieba), Google's Chinese vocabulary." % (os.path.getsize(corpus) / 1e6, counts[-1]["train"],
                                                               counts[-1]["heldout"]))
  return lines


def pretraining_markdown(runs, scale, recipe=(), brief=False):
  """The Markdown of the pretraining table (brief: the notes in one paragraph, for the README)."""
  lines = ["### Small-model pretraining — %s" % _scale_words(scale), "",
           "| Model | steps | masked-LM accuracy | masked-LM loss | next-sentence accuracy | run time (training + evaluations) |",
           "|---|---|---|---|---|---|"]
  for run in runs:
    metrics = run["metrics"]
    if run["status"] != "ok" or not metrics:
      lines.append("| %s | %s | – | – | – | – |" % (run["model"], run["status"]))
      continue
    lines.append("| %s | %d | %.2f | %.3f | %.2f | %s |" % (
        run["model"], metrics["global_step"], 100 * metrics["masked_lm_accuracy"], metrics["masked_lm_loss"],
        100 * metrics.get("next_sentence_accuracy", float("nan")), _duration(run["seconds"])))
  for published in PRETRAIN_PUBLISHED:
    lines.append("| %s | 100000 | %.2f | – | %.2f | – |" % (
        published.model, published.cells["masked_lm_accuracy"], published.cells["next_sentence_accuracy"]))
  lines += ["", "Held-out documents (every N-th document of the corpus, never trained on); accuracy ×100. "
            "Published rows: " + PRETRAIN_PUBLISHED[0].source + "."]
  if recipe:
    lines += ["", "These runs: " + " ".join(recipe)]
  lines += _notes_markdown(runs, brief)
  return "\n".join(lines) + "\n"


def _duration(seconds):
  if seconds is None:
    return "–"
  return "%d min %02d s" % divmod(int(seconds), 60)


def _matplotlib():
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def plot_pretraining(runs, path):
  """Masked-LM accuracy and loss on the held-out documents vs step, one line per model."""
  plt = _matplotlib()
  figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(10, 4))
  for run in runs:
    if not run["history"]:
      continue
    steps = [row["global_step"] for row in run["history"]]
    accuracy_axis.plot(steps, [100 * row["masked_lm_accuracy"] for row in run["history"]], marker="o",
                       label=run["model"])
    loss_axis.plot(steps, [row["masked_lm_loss"] for row in run["history"]], marker="o", label=run["model"])
  accuracy_axis.set(xlabel="step", ylabel="masked-LM accuracy (%)", title="held-out masked-LM accuracy")
  loss_axis.set(xlabel="step", ylabel="masked-LM loss", title="held-out masked-LM loss")
  for axis in (accuracy_axis, loss_axis):
    axis.grid(alpha=0.3)
    axis.legend()
  _save_figure(plt, figure, path)


def plot_spread(spec, rows, path):
  """Each finished run's score per column (one marker per seed, a bar at the mean), one colour per model."""
  plt = _matplotlib()
  columns = [c for c in spec.columns if any(row["cells"][c.header]["status"] == "ok" for row in rows)]
  figure, axis = plt.subplots(figsize=(max(6, 1.1 * len(columns) + 2), 4))
  width = 0.8 / max(1, len(rows))
  for index, row in enumerate(rows):
    for position, column in enumerate(columns):
      cell = row["cells"][column.header]
      if cell["status"] != "ok":
        continue
      x = position - 0.4 + width * (index + 0.5)
      axis.scatter([x] * len(cell["values"]), cell["values"], s=14, color="C%d" % index,
                   label=row["model"] if position == 0 or "labelled" not in row else None)
      row["labelled"] = True
      axis.hlines(cell["mean"], x - width / 2.5, x + width / 2.5, color="C%d" % index)
  for row in rows:
    row.pop("labelled", None)
  axis.set_xticks(range(len(columns)))
  axis.set_xticklabels([c.header for c in columns], rotation=30, ha="right")
  axis.set(ylabel="score (×100)", title="%s: score per seed (bar: mean)" % spec.title)
  axis.grid(alpha=0.3, axis="y")
  axis.legend()
  _save_figure(plt, figure, path)


def _save_figure(plt, figure, path):
  figure.tight_layout()
  with file_io.atomic_output(path) as temporary:
    figure.savefig(temporary, dpi=110, format="png")
  plt.close(figure)


def _machine():
  return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}


def _run_record(run):
  keep = ("model", "task", "seed", "status", "reason", "note", "seconds", "started", "git_commit", "machine",
          "scale", "init_checkpoint", "command", "metrics")
  return {key: run.get(key) for key in keep}


def collect(table, runs_dir, output_dir, scale):
  """Writes <output_dir>/<table>.md, .json and .png from the runs under runs_dir.

  Args:
    table: one of TABLE_NAMES.
    runs_dir: the table's run directory (OUTPUT_DIR/<table>).
    output_dir: where the table files go (created).
    scale: the SCALE the runs were made at (named in the table's heading).

  Returns:
    dict of the written paths.

  Raises:
    UsageError: unknown table or missing runs_dir.
  """
  if table not in TABLE_NAMES:
    raise UsageError("--table %r is not one of %s" % (table, ", ".join(TABLE_NAMES)))
  if not os.path.isdir(runs_dir):
    raise UsageError("--runs_dir %s does not exist" % runs_dir)
  os.makedirs(output_dir, exist_ok=True)
  paths = {"markdown": os.path.join(output_dir, table + ".md"), "json": os.path.join(output_dir, table + ".json")}
  generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
  if table == "pretrain_small":
    runs = read_pretraining_runs(runs_dir)
    recipe = _pretraining_recipe(runs, runs_dir)
    markdown = pretraining_markdown(runs, scale, recipe)
    brief = pretraining_markdown(runs, scale, recipe, brief=True)
    document = {"rows": [{"model": run["model"], "status": run["status"], "final": run["metrics"],
                          "history": run["history"]} for run in runs],
                "published": [dataclasses.asdict(p) for p in PRETRAIN_PUBLISHED]}
    if any(run["history"] for run in runs):
      paths["curves"] = os.path.join(output_dir, "pretrain_small_curves.png")
      plot_pretraining(runs, paths["curves"])
  else:
    spec = TABLES[table]
    runs = read_finetuning_runs(runs_dir)
    rows = build_rows(spec, runs)
    markdown = finetuning_markdown(spec, rows, runs, scale)
    brief = finetuning_markdown(spec, rows, runs, scale, brief=True)
    document = {"rows": rows, "columns": [dataclasses.asdict(c) for c in spec.columns], "caption": spec.caption,
                "published": [dataclasses.asdict(p) for p in spec.published]}
    if any(cell.get("n", 0) > 1 for row in rows for cell in row["cells"].values()):
      paths["spread"] = os.path.join(output_dir, table + "_spread.png")
      plot_spread(spec, rows, paths["spread"])
  document.update(table=table, scale=scale, generated=generated, collected_on=_machine(),
                  readme_markdown=brief, runs=[_run_record(run) for run in runs])
  file_io.write_text_atomically(paths["markdown"], markdown)
  file_io.write_json_atomically(paths["json"], document)
  return paths


README_BEGIN = "<!-- results tables: generated by `python reproduce/collect.py --update_readme`; do not edit -->"
README_END = "<!-- end of results tables -->"
_COMMANDS = {"pretrain_small": "bash reproduce/pretrain_small.sh", "glue": "bash reproduce/glue.sh",
             "squad": "bash reproduce/squad.sh", "chinese": "bash reproduce/chinese.sh",
             "sts": "bash reproduce/sts.sh"}


def readme_block(results_dir, link_prefix, peer_checks_dir=None):
  """The README's results section: every collected table in results_dir with its command, date, machine, plots,
  then the peer checks (bert/peer_check_report.py).

  Args:
    results_dir: folder of <table>.md/.json/.png (reproduce/results).
    link_prefix: path of results_dir relative to the README, for the image links.
    peer_checks_dir: folder of the peer-check reports (benchmarks/results), or None.

  Returns:
    The Markdown between README_BEGIN and README_END.
  """
  parts = [README_BEGIN]
  for table in TABLE_NAMES:
    json_path = os.path.join(results_dir, table + ".json")
    if not os.path.isfile(json_path):
      continue
    document = file_io.read_json(json_path)
    markdown = document["readme_markdown"].strip()
    finished = [run for run in document["runs"] if run.get("seconds") is not None]
    machines = sorted({run["machine"] for run in finished if run.get("machine")})
    commits = sorted({run["git_commit"][:7] for run in finished if run.get("git_commit")})
    seconds = sum(run["seconds"] for run in finished)
    parts += ["", markdown, "",
              "Command: `SCALE=%s %s`. Collected %s from %d runs, %s of run time in all, at commit %s, on %s. "
              "Full table: [%s.md](%s/%s.md)." % (
                  document["scale"], _COMMANDS[table], document["generated"][:10], len(document["runs"]),
                  _duration(seconds), ", ".join(commits) or "?", "; ".join(machines) or "?", table, link_prefix,
                  table)]
    for suffix in ("_curves.png", "_spread.png"):
      if os.path.isfile(os.path.join(results_dir, table + suffix)):
        parts += ["", "![%s](%s/%s%s)" % (table + suffix[:-4].replace("_", " "), link_prefix, table, suffix)]
  peer_checks = peer_check_report.markdown(peer_checks_dir) if peer_checks_dir else ""
  if peer_checks:
    parts += ["", peer_checks]
  parts += ["", README_END]
  return "\n".join(parts)


def update_readme(readme_path, results_dir, peer_checks_dir=None):
  """Replaces the README's results block (between README_BEGIN and README_END) with readme_block()."""
  with open(readme_path, encoding="utf-8") as handle:
    text = handle.read()
  if README_BEGIN not in text or README_END not in text:
    raise UsageError("%s has no results block (the lines %s ... %s)" % (readme_path, README_BEGIN, README_END))
  prefix = os.path.relpath(results_dir, os.path.dirname(os.path.abspath(readme_path)))
  head, rest = text.split(README_BEGIN, 1)
  tail = rest.split(README_END, 1)[1]
  file_io.write_text_atomically(readme_path, head + readme_block(results_dir, prefix, peer_checks_dir) + tail)
