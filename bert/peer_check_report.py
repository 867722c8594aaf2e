"""The README's peer-check table, read from the JSON reports of benchmarks/peer_check_*.py.

Each peer check trains the same model on the same data with the same recipe through this project's script and
through an independent implementation, over several seeds (the verdict rule is in benchmarks/peer_check.py).
This module only reads their reports: one row per compared metric, every number as a percentage.
"""
import os

from bert import file_io

# report file -> (what is compared, the command that regenerates it)
CHECKS = (
    ("peer_check_pretraining.json", "python benchmarks/peer_check_pretraining.py"),
    ("peer_check_finetuning.json", "python benchmarks/peer_check_finetuning.py"),
    ("peer_check_sentence_embedding.json", "python benchmarks/peer_check_sentence_embedding.py"),
)


def _row(check, setting, metric, comparison, seeds, scale, reference_key="reference"):
  """One table row from a comparison dict (means, sds, difference, threshold or pooled sd, p, verdict)."""
  def pct(value):
    return None if value is None else value * scale
  threshold = comparison.get("threshold")
  if threshold is None and comparison.get("pooled_sd") is not None:
    threshold = 2 * comparison["pooled_sd"]
  verdict = comparison.get("verdict")
  if verdict is None:  # peer_check_pretraining's report: a within_seed_noise flag
    verdict = {True: "agree", False: "DISAGREE", None: "n/a (one seed)"}[comparison["within_seed_noise"]]
  return {"check": check, "setting": setting, "metric": metric, "seeds": seeds,
          "ours": (pct(comparison["ours_mean"]), pct(comparison["ours_sd"])),
          "reference": (pct(comparison[reference_key + "_mean"]), pct(comparison[reference_key + "_sd"])),
          "difference": pct(comparison["difference"]), "threshold": pct(threshold),
          "welch_p": comparison.get("welch_p"), "verdict": verdict}


def _pretraining_rows(report):
  recipe = report["recipe"]
  setting = "%s, %d steps, same records, held-out docs" % (
      os.path.basename(recipe["bert_config_file"]), recipe["num_train_steps"])
  return [_row("run_pretraining.py vs Google's (bert-tensorflow 1.0.4)", setting, metric,
               report["comparison"]["ours_evaluator"][metric], len(report["seeds"]), 100.0, "google")
          for metric in ("masked_lm_accuracy", "next_sentence_accuracy")]


def _finetuning_rows(report):
  rows = []
  # A supplementary run of a task (more seeds, the first ones reused) replaces that task's row.
  extra = {entry["task"]: entry for entry in report.get("supplementary", [])}
  entries = [(task, extra.get(task["task"], task)) for task in report["tasks"]]
  entries = [(task, source["comparison"], sorted({run["seed"] for run in source["runs"]})) for task, source in entries]
  for task, comparison, seeds in entries:
    recipe, metric = task["recipe"], task["primary_metric"]
    setting = "%s, %s: %d examples, %d steps" % (
        task["model"].split(" /")[0].split(" (")[0], task["task"], recipe["train_examples"], recipe["steps"])
    rows.append(_row("run_classifier.py vs transformers + torch", setting, "dev " + metric,
                     comparison[metric], len(seeds), 100.0))
  return rows


def _sentence_embedding_rows(report):
  recipe = report["recipe"]
  setting = "all-MiniLM-L6-v2, STS-B: %d pairs, %d steps (before fine-tuning: %.2f / %.2f)" % (
      recipe["train_pairs"], recipe["steps"], report["baseline"]["ours"], report["baseline"]["reference"])
  return [_row("run_sentence_embedding.py vs sentence-transformers", setting, "dev Spearman",
               report["comparison"], len(recipe["seeds"]), 1.0)]


_READERS = {"peer_check_pretraining.json": _pretraining_rows, "peer_check_finetuning.json": _finetuning_rows,
            "peer_check_sentence_embedding.json": _sentence_embedding_rows}


def rows_and_sources(peer_dir):
  """The rows of every report present in peer_dir, and [(command, date)] of those reports."""
  rows, sources = [], []
  for name, command in CHECKS:
    path = os.path.join(peer_dir, name)
    if not os.path.isfile(path):
      continue
    report = file_io.read_json(path)
    if report.get("smoke") or report.get("quick"):
      continue  # a smoke run checks that the script runs; its numbers mean nothing
    rows += _READERS[name](report)
    sources.append((command, str(report.get("date", "?"))[:10]))
  return rows, sources


def markdown(peer_dir):
  """The peer-check section (a heading, the table, the rule and the commands), or "" without reports."""
  rows, sources = rows_and_sources(peer_dir)
  if not rows:
    return ""

  def mean_sd(pair):
    mean, sd = pair
    return "%.2f" % mean if sd is None else "%.2f ± %.2f" % (mean, sd)

  lines = ["### Peer checks: the same recipe through an independent implementation", "",
           "| compared | model, data, schedule | metric (×100) | seeds | ours | independent | difference | "
           "2 × noise | Welch p | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
  for row in rows:
    lines.append("| %s | %s | %s | %d | %s | %s | %+.2f | %s | %s | %s |" % (
        row["check"], row["setting"], row["metric"], row["seeds"], mean_sd(row["ours"]), mean_sd(row["reference"]),
        row["difference"], "–" if row["threshold"] is None else "%.2f" % row["threshold"],
        "–" if row["welch_p"] is None else "%.2f" % row["welch_p"], row["verdict"]))
  lines += ["", "Both sides: the same initial weights, data and recipe, one run per seed; they agree when the means "
            "differ by at most 2 × the pooled sd. Recipes and remaining differences: "
            "[docs/benchmarks.md](docs/benchmarks.md#peer-checks-correctness-against-independent-implementations). "
            "Commands: " + "; ".join(
                "`%s` (%s)" % (command, date) for command, date in sources) + "."]
  return "\n".join(lines)
