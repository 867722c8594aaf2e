"""tf.distribute through the Estimator path: 2 mirrored replicas (logical CPUs) and 2 workers (TF_CONFIG).

Each run trains the tiny pretraining model of bert.pretraining.model through estimator_utils.build_estimator
and distribution.train_estimator in its own process (the logical-device split and the collective runtime must
be set up before TensorFlow starts). Replica/worker r always reads batch r (dropout off), so a correct
all-reduce makes every replica and worker hold the variables of a single-device run on both batches
concatenated; without it they would diverge.

Run as a script (`python tests/test_distribution.py MODE OUT_DIR`) it is one such training process.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import finish_all, free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEQ, PRED, BATCH, STEPS = 16, 3, 4, 3


def _batches():
  """Two fixed batches (one per replica/worker) of pretraining features."""
  rng = np.random.RandomState(0)
  batches = []
  for _ in range(2):
    ids = rng.randint(104, 120, size=(BATCH, SEQ)).astype(np.int32)
    ids[:, 0] = 101
    positions = np.sort(np.stack([rng.choice(np.arange(1, SEQ), PRED, replace=False) for _ in range(BATCH)]), 1)
    batches.append({
        "input_ids": ids, "input_mask": np.ones((BATCH, SEQ), np.int32), "segment_ids": np.zeros((BATCH, SEQ), np.int32),
        "masked_lm_positions": positions.astype(np.int32),
        "masked_lm_ids": rng.randint(104, 120, size=(BATCH, PRED)).astype(np.int32),
        "masked_lm_weights": np.ones((BATCH, PRED), np.float32),
        "next_sentence_labels": rng.randint(0, 2, size=(BATCH, 1)).astype(np.int32)})
  return batches


def _worker_main(mode, out_dir):
  """One training process: mode 'single' (both batches as one), 'mirrored' (2 replicas) or 'worker'."""
  sys.path.insert(0, ROOT)
  sys.path.insert(0, HERE)
  import tensorflow as tf
  from bert import distribution
  from bert import estimator_utils
  from bert import modeling
  from bert.pretraining import model as pretraining_model
  from pretraining_fixtures import TINY_CONFIG

  config = modeling.BertConfig.from_dict(dict(TINY_CONFIG, hidden_dropout_prob=0.0,
                                              attention_probs_dropout_prob=0.0))
  options = estimator_utils.RunOptions(num_gpus=2 if mode == "mirrored" else 0, save_checkpoints_steps=1000,
                                       log_every_n_steps=1000, tf_random_seed=1)
  batches = _batches()
  if mode == "single":
    stream = [{k: np.concatenate([b[k] for b in batches]) for k in batches[0]}]
  elif mode == "mirrored":
    stream = batches  # consecutive elements go to consecutive replicas
  else:
    stream = [batches[json.loads(os.environ["TF_CONFIG"])["task"]["index"]]]

  def input_fn(params):
    del params
    stacked = {k: np.stack([b[k] for b in stream]) for k in stream[0]}
    return tf.data.Dataset.from_tensor_slices(stacked).repeat()

  class Record(tf.compat.v1.train.SessionRunHook):
    """Saves every global variable at the end of training (non-chief workers write no checkpoint)."""

    def begin(self):
      self.variables = {v.op.name: v for v in tf.compat.v1.global_variables()}

    def end(self, session):
      values = session.run(self.variables)
      np.savez(os.path.join(out_dir, "variables-%s.npz" % os.environ.get("WORKER_INDEX", "0")),
               **{name.replace("/", "|"): value for name, value in values.items()})

  model_fn = pretraining_model.model_fn_builder(config, None, learning_rate=1e-2, num_train_steps=STEPS,
                                                num_warmup_steps=0, options=options, output_dir=out_dir)
  estimator = estimator_utils.build_estimator(model_fn, options, out_dir, train_batch_size=BATCH)
  distribution.train_estimator(estimator, input_fn, max_steps=STEPS, hooks=[Record()])
  if mode == "worker":
    result = distribution.evaluate_estimator(estimator, input_fn, steps=1)
    with open(os.path.join(out_dir, "eval-%s.json" % os.environ["WORKER_INDEX"]), "w") as handle:
      json.dump(None if result is None else {k: float(v) for k, v in result.items()}, handle)
  if mode == "mirrored":
    _run_pretraining_with_every_feature(os.path.join(out_dir, "combined"))


def _run_pretraining_with_every_feature(out_dir):
  """run_pretraining's run() on 2 replicas with LAMB, accumulation 2, fp16 and dynamic-masking records."""
  from bert import estimator_utils
  from bert.pretraining import run as pretraining_run
  from pretraining_fixtures import write_config, write_records, write_vocab
  os.makedirs(out_dir)
  args = pretraining_run.PretrainingArgs(
      bert_config_file=write_config(os.path.join(out_dir, "bert_config_in.json")),
      vocab_file=write_vocab(os.path.join(out_dir, "vocab.txt")),
      input_file=write_records(os.path.join(out_dir, "dyn.tfrecord"), 32, seq_length=SEQ, max_predictions=PRED,
                               word_ids=True),
      output_dir=out_dir, max_seq_length=SEQ, max_predictions_per_seq=PRED, do_train=True, train_batch_size=BATCH,
      learning_rate=1e-3, num_train_steps=2, num_warmup_steps=0)
  options = estimator_utils.RunOptions(num_gpus=2, optimizer="lamb", gradient_accumulation_steps=2,
                                       precision="fp16", save_checkpoints_steps=1000, log_every_n_steps=1000,
                                       tf_random_seed=1)
  pretraining_run.run(args, options, estimator_utils.run_flags(args, options))


def _run(mode, out_dir, env=None, background=False):
  command = [sys.executable, os.path.abspath(__file__), mode, str(out_dir)]
  full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
  if background:
    return subprocess.Popen(command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  result = subprocess.run(command, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stdout[-3000:]
  return result.stdout


def _variables(path):
  with np.load(path) as data:
    return {name.replace("|", "/"): data[name] for name in data.files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
  out = tmp_path_factory.mktemp("single")
  _run("single", out)
  return _variables(out / "variables-0.npz")


def _assert_matches_reference(got, reference):
  assert int(got["global_step"]) == STEPS
  trainable = [n for n in reference if n.startswith(("bert/", "cls/")) and not n.endswith(("adam_m", "adam_v"))]
  assert len(trainable) > 20
  for name in reference:
    np.testing.assert_allclose(got[name], reference[name], rtol=2e-4, atol=2e-5, err_msg=name)
  assert all(np.isfinite(v).all() for v in got.values())


def test_make_strategy_choices_and_errors():
  sys.path.insert(0, ROOT)
  from bert import distribution
  from bert.errors import UsageError
  assert distribution.make_strategy({"num_gpus": 0}, environ={}) is None
  assert distribution.make_strategy({"num_gpus": 1}, environ={}) is None
  assert distribution.make_strategy({"num_gpus": 4, "use_tpu": True}, environ={}) is None
  with pytest.raises(UsageError, match="num_gpus must be >= 0"):
    distribution.make_strategy({"num_gpus": -1}, environ={})
  with pytest.raises(UsageError, match="TF_CONFIG is not valid JSON"):
    distribution.make_strategy({}, environ={"TF_CONFIG": "{cluster"})
  bad_task = json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "ps"}})
  with pytest.raises(UsageError, match="task.type"):
    distribution.make_strategy({}, environ={"TF_CONFIG": bad_task})
  one_worker = json.dumps({"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 0}})
  assert distribution.make_strategy({}, environ={"TF_CONFIG": one_worker}) is None


def test_each_worker_trains_on_its_own_shard():
  from bert import distribution
  assert distribution.training_shard(environ={}) == (1, 0)
  workers = {"worker": ["localhost:1", "localhost:2", "localhost:3"]}
  for index in range(3):
    tf_config = json.dumps({"cluster": workers, "task": {"type": "worker", "index": index}})
    assert distribution.training_shard(environ={"TF_CONFIG": tf_config}) == (3, index)
  # With a chief the chief reads shard 0 and worker i shard i + 1.
  with_chief = {"chief": ["localhost:1"], "worker": ["localhost:2"]}
  assert distribution.training_shard(environ={"TF_CONFIG": json.dumps(
      {"cluster": with_chief, "task": {"type": "chief", "index": 0}})}) == (2, 0)
  assert distribution.training_shard(environ={"TF_CONFIG": json.dumps(
      {"cluster": with_chief, "task": {"type": "worker", "index": 0}})}) == (2, 1)


def test_two_mirrored_replicas_train_like_one_device_on_both_batches(tmp_path, reference):
  _run("mirrored", tmp_path)
  got = _variables(tmp_path / "variables-0.npz")
  _assert_matches_reference(got, reference)
  import tensorflow as tf
  names = dict(tf.train.list_variables(str(tmp_path)))
  # One checkpoint entry per variable (Google's names), no per-replica copies.
  assert names["global_step"] == [] and not any("replica" in n for n in names)
  assert "bert/embeddings/word_embeddings/adam_m" in names
  # The same two replicas through run_pretraining with LAMB, 2-step accumulation, fp16 loss scaling and
  # masks drawn in the input pipeline: 2 updates from 4 micro-batches per replica.
  combined = str(tmp_path / "combined")
  assert tf.train.load_variable(combined, "global_step") == 2
  assert tf.train.load_variable(combined, "lamb_step") == 2.0
  assert tf.train.load_variable(combined, "gradient_accumulation/micro_step") == 4
  assert tf.train.load_variable(combined, "loss_scale/scale") == 2.0 ** 15
  assert np.isfinite(tf.train.load_variable(combined, "bert/embeddings/word_embeddings")).all()


def test_two_workers_on_loopback_ports_stay_in_sync(tmp_path, reference):
  cluster = {"worker": ["localhost:%d" % p for p in free_ports(2)]}
  processes = []
  for index in range(2):
    tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    processes.append(_run("worker", tmp_path, env={"TF_CONFIG": tf_config, "WORKER_INDEX": str(index)},
                          background=True))
  finish_all(processes, timeout=240)
  chief, other = _variables(tmp_path / "variables-0.npz"), _variables(tmp_path / "variables-1.npz")
  assert sorted(chief) == sorted(other)
  for name in chief:
    np.testing.assert_array_equal(chief[name], other[name], err_msg=name)
  _assert_matches_reference(chief, reference)
  import tensorflow as tf
  assert tf.train.load_variable(str(tmp_path), "global_step") == STEPS  # the chief's checkpoint
  # After training the chief evaluates the final checkpoint on its own; the other worker does not.
  with open(tmp_path / "eval-0.json") as handle:
    chief_eval = json.load(handle)
  with open(tmp_path / "eval-1.json") as handle:
    assert json.load(handle) is None
  assert chief_eval["global_step"] == STEPS and 0 < chief_eval["masked_lm_loss"] < 10
  assert 0 <= chief_eval["masked_lm_accuracy"] <= 1


if __name__ == "__main__":
  _worker_main(sys.argv[1], sys.argv[2])
