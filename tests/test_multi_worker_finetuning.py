"""Multi-worker fine-tuning: run_classifier.py and run_squad.py as two TF_CONFIG workers on loopback ports.

Like pretraining's two workers (test_distribution.py), both processes train together through
distribution.train_estimator, each on its own shard of the training records; afterwards only the chief
evaluates and predicts, so every output file is written once, by one process.
"""
import json
import subprocess
import sys

from conftest import ROOT, ZH_VOCAB, finish_all, free_ports, script_env, shared_path

TINY_CONFIG = {"vocab_size": 21128, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
               "intermediate_size": 64, "max_position_embeddings": 128, "type_vocab_size": 2}
STEPS = 4


def _run_two_workers(script, flags, work):
  """Runs `script` as worker 0 (the chief) and worker 1; returns their outputs (stdout and stderr)."""
  config = work / "bert_config.json"
  config.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
  cluster = {"worker": ["localhost:%d" % port for port in free_ports(2)]}
  command = [sys.executable, str(ROOT / script), "--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % config,
             "--output_dir=%s" % (work / "out"), "--do_train", "--num_train_steps=%d" % STEPS,
             "--learning_rate=1e-3", "--tf_random_seed=3", "--save_checkpoints_steps=1000"] + flags
  processes = []
  for index in range(2):
    tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      env=dict(script_env(), TF_CONFIG=tf_config)))
  return finish_all(processes, timeout=300)


def _checkpoint_step(out):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return int(tf.train.load_variable(tf.train.latest_checkpoint(str(out)), "global_step"))


def _slice(source, target, rows):
  with open(source, encoding="utf-8") as handle:
    lines = [next(handle) for _ in range(rows + 1)]
  target.write_text("".join(lines), encoding="utf-8")


def test_run_classifier_trains_on_two_workers_and_the_chief_evaluates(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  source = shared_path("chnsenticorp")
  _slice(source / "train.tsv", data / "train.tsv", 64)
  _slice(source / "dev.tsv", data / "dev.tsv", 24)
  chief, other = _run_two_workers(
      "run_classifier.py", ["--task_name=chnsenticorp", "--data_dir=%s" % data, "--do_eval",
                            "--max_seq_length=32", "--train_batch_size=8", "--eval_batch_size=8",
                            "--log_every_n_steps=2"], tmp_path)
  out = tmp_path / "out"
  assert _checkpoint_step(out) == STEPS
  # Both workers ran the same synchronous steps; only the chief evaluated.
  assert "step %d/%d loss" % (STEPS, STEPS) in chief and "step %d/%d loss" % (STEPS, STEPS) in other
  assert "Not the chief" in other and "Not the chief" not in chief
  results = json.loads((out / "eval_results.json").read_text())
  assert results["global_step"] == STEPS and results["eval_num_examples"] == 24


def test_run_squad_trains_on_two_workers_and_the_chief_predicts_and_scores(tmp_path):
  data = json.loads(shared_path("cmrc2018", "cmrc2018_trial.json").read_text(encoding="utf-8"))
  data["data"] = data["data"][:3]
  data_file = tmp_path / "slice.json"
  data_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
  chief, other = _run_two_workers(
      "run_squad.py", ["--train_file=%s" % data_file, "--do_predict", "--predict_file=%s" % data_file, "--eval",
                       "--max_seq_length=128", "--doc_stride=64", "--max_query_length=32", "--train_batch_size=4",
                       "--log_every_n_steps=2"], tmp_path)
  out = tmp_path / "out"
  assert _checkpoint_step(out) == STEPS
  assert "step %d/%d loss" % (STEPS, STEPS) in chief and "step %d/%d loss" % (STEPS, STEPS) in other
  assert "Not the chief" in other and "Not the chief" not in chief
  questions = {qa["id"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]}
  assert set(json.loads((out / "predictions.json").read_text(encoding="utf-8"))) == questions
  scores = json.loads((out / "eval_results.json").read_text(encoding="utf-8"))
  assert scores["TOTAL"] == len(questions) and scores["dataset"] == "cmrc2018"
