"""End-to-end tests of run_squad.py (run as a subprocess, as users do): train, predict, score; bad input."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT, ZH_VOCAB, shared_path

# Google's run_squad.py flags and defaults (../shared/FLAGS.md); every one must exist with that default.
GOOGLE_DEFAULTS = {
    "bert_config_file": None, "vocab_file": None, "output_dir": None, "train_file": None, "predict_file": None,
    "init_checkpoint": None, "do_lower_case": True, "max_seq_length": 384, "doc_stride": 128,
    "max_query_length": 64, "do_train": False, "do_predict": False, "train_batch_size": 32,
    "predict_batch_size": 8, "learning_rate": 5e-05, "num_train_epochs": 3.0, "warmup_proportion": 0.1,
    "save_checkpoints_steps": 1000, "iterations_per_loop": 1000, "n_best_size": 20, "max_answer_length": 30,
    "use_tpu": False, "tpu_name": None, "tpu_zone": None, "gcp_project": None, "master": None,
    "num_tpu_cores": 8, "verbose_logging": False, "version_2_with_negative": False,
    "null_score_diff_threshold": 0.0,
}

TINY_CONFIG = {"vocab_size": 21128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
               "intermediate_size": 64, "max_position_embeddings": 128, "type_vocab_size": 2}


def run_squad(*args):
  return subprocess.run([sys.executable, str(ROOT / "run_squad.py")] + list(args), cwd=ROOT,
                        capture_output=True, text=True, timeout=300)


@pytest.fixture
def tiny_config(tmp_path):
  path = tmp_path / "bert_config.json"
  path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
  return str(path)


def write_json(path, obj):
  path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
  return str(path)


def cmrc_trial_slice(num_articles):
  data = json.loads(shared_path("cmrc2018", "cmrc2018_trial.json").read_text(encoding="utf-8"))
  data["data"] = data["data"][:num_articles]
  return data


def test_train_predict_score_cmrc2018_trial_slice(tmp_path, tiny_config):
  data = cmrc_trial_slice(6)
  question_ids = [qa["id"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
  data_file = write_json(tmp_path / "slice.json", data)
  out = tmp_path / "out"
  completed = run_squad(
      "--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % tiny_config, "--output_dir=%s" % out,
      "--do_train", "--train_file=%s" % data_file, "--do_predict", "--predict_file=%s" % data_file, "--eval",
      "--max_seq_length=128", "--doc_stride=64", "--max_query_length=32", "--train_batch_size=8",
      "--num_train_epochs=2", "--learning_rate=1e-3", "--tf_random_seed=7")
  assert completed.returncode == 0, completed.stderr[-3000:]

  predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
  assert sorted(predictions) == sorted(question_ids)
  contexts = "".join(p["context"] for article in data["data"] for p in article["paragraphs"])
  assert all(answer in contexts for answer in predictions.values())  # spans of the original text
  nbest = json.loads((out / "nbest_predictions.json").read_text(encoding="utf-8"))
  assert nbest[question_ids[0]][0]["text"] == predictions[question_ids[0]]
  assert 1 < len(nbest[question_ids[0]]) <= 20
  assert not (out / "null_odds.json").exists()

  scores = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
  assert scores["dataset"] == "cmrc2018" and scores["TOTAL"] == len(question_ids) and scores["SKIP"] == 0
  assert 0.0 <= scores["EM"] <= scores["F1"] <= 100.0
  assert "eval_results: AVERAGE=" in completed.stdout

  # 24 questions, batch 8, 2 epochs -> 6 steps; the head has Google's variable names.
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  checkpoint = tf.train.latest_checkpoint(str(out))
  assert checkpoint.endswith("model.ckpt-6")
  shapes = dict(tf.train.list_variables(checkpoint))
  assert shapes["cls/squad/output_weights"] == [2, 32] and shapes["cls/squad/output_bias"] == [2]
  assert shapes["bert/encoder/layer_1/output/dense/kernel"] == [64, 32]

  recorded = json.loads((out / "run_flags.json").read_text(encoding="utf-8"))
  passed = {"vocab_file", "bert_config_file", "output_dir", "do_train", "train_file", "do_predict",
            "predict_file", "max_seq_length", "doc_stride", "max_query_length", "train_batch_size",
            "num_train_epochs", "learning_rate"}
  for name, default in GOOGLE_DEFAULTS.items():
    assert name in recorded, name
    if name not in passed:
      assert recorded[name] == default, name
  assert recorded["dataset"] == "auto" and recorded["eval"] is True

  # SQuAD 2.0 prediction with the trained model (in bfloat16, one of the shared accelerator flags): null odds
  # are written, v2 scores with HasAns/NoAns.
  v2 = cmrc_trial_slice(2)
  impossible = 0
  for article in v2["data"]:
    for paragraph in article["paragraphs"]:
      for index, qa in enumerate(paragraph["qas"]):
        qa["is_impossible"] = index % 2 == 1
        if qa["is_impossible"]:
          qa["answers"] = []
          impossible += 1
  v2_file = write_json(tmp_path / "v2.json", v2)
  completed = run_squad(
      "--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % tiny_config, "--output_dir=%s" % out,
      "--do_predict", "--predict_file=%s" % v2_file, "--eval", "--dataset=squad", "--version_2_with_negative",
      "--max_seq_length=128", "--doc_stride=64", "--max_query_length=32", "--null_score_diff_threshold=-1e9",
      "--precision=bf16")
  assert completed.returncode == 0, completed.stderr[-3000:]
  null_odds = json.loads((out / "null_odds.json").read_text(encoding="utf-8"))
  predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
  assert sorted(null_odds) == sorted(predictions) and impossible > 0
  # With a threshold of -1e9 every null score difference exceeds it: everything is "no answer".
  assert set(predictions.values()) == {""}
  scores = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
  assert scores["version"] == "2.0" and scores["NoAns_total"] == impossible
  assert scores["NoAns_exact"] == 100.0 and scores["HasAns_exact"] == 0.0
  assert "best_f1_thresh" in scores


def assert_one_line_error(completed, *fragments):
  assert completed.returncode != 0
  assert "Traceback" not in completed.stderr
  last = completed.stderr.strip().splitlines()[-1]
  assert last.startswith("error: "), completed.stderr[-2000:]
  for fragment in fragments:
    assert fragment in last, last


def test_max_seq_length_too_small_for_the_question(tmp_path, tiny_config):
  data_file = write_json(tmp_path / "d.json", cmrc_trial_slice(1))
  completed = run_squad("--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % tiny_config,
                        "--output_dir=%s" % (tmp_path / "o"), "--do_predict", "--predict_file=%s" % data_file,
                        "--max_seq_length=67", "--max_query_length=64")
  assert_one_line_error(completed, "--max_seq_length (67)", "--max_query_length + 3 (67)")


def test_not_squad_format_names_the_missing_key(tmp_path, tiny_config):
  data_file = write_json(tmp_path / "d.json", {"version": "1", "paragraphs": []})
  completed = run_squad("--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % tiny_config,
                        "--output_dir=%s" % (tmp_path / "o"), "--do_train", "--train_file=%s" % data_file,
                        "--max_seq_length=128")
  assert_one_line_error(completed, data_file, "not SQuAD format", "'data'")
  assert not (tmp_path / "o").exists()  # nothing was started


def test_v1_training_question_without_answers_names_its_id(tmp_path, tiny_config):
  data = cmrc_trial_slice(1)
  qa = data["data"][0]["paragraphs"][0]["qas"][0]
  qa["answers"] = []
  data_file = write_json(tmp_path / "d.json", data)
  completed = run_squad("--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % tiny_config,
                        "--output_dir=%s" % (tmp_path / "o"), "--do_train", "--train_file=%s" % data_file,
                        "--max_seq_length=128")
  assert_one_line_error(completed, "training question %s has no answers" % qa["id"])


def test_duplicate_question_ids_fail_before_any_work(tmp_path, tiny_config):
  """Predictions are keyed by id: a repeated id would answer fewer questions than reported, so it is refused."""
  data = cmrc_trial_slice(2)
  first = data["data"][0]["paragraphs"][0]["qas"][0]["id"]
  data["data"][1]["paragraphs"][0]["qas"][0]["id"] = first
  data_file = write_json(tmp_path / "dup.json", data)
  completed = run_squad("--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % tiny_config,
                        "--output_dir=%s" % (tmp_path / "o"), "--do_predict", "--predict_file=%s" % data_file,
                        "--eval", "--max_seq_length=128")
  assert_one_line_error(completed, data_file, "duplicate question id %r" % first)
  assert not (tmp_path / "o").exists()  # nothing was started
