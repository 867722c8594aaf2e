"""Tests for bert.common_flags and bert.estimator_utils (run options, estimator, checkpoint init, logging)."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from bert import common_flags
from bert import estimator_utils
from bert.errors import UsageError

tf1 = tf.compat.v1


def _parsed_flags(argv=()):
  flag_values = flags.FlagValues()
  common_flags.define_tpu_flags(flag_values)
  common_flags.define_accelerator_flags(flag_values)
  flag_values(["prog"] + list(argv))
  return flag_values


def test_tpu_flags_have_googles_defaults():
  flag_values = _parsed_flags()
  expected = {"use_tpu": False, "tpu_name": None, "tpu_zone": None, "gcp_project": None, "master": None,
              "num_tpu_cores": 8, "iterations_per_loop": 1000, "save_checkpoints_steps": 1000}
  assert {name: flag_values[name].value for name in expected} == expected


def test_defining_twice_is_harmless():
  flag_values = flags.FlagValues()
  common_flags.define_tpu_flags(flag_values)
  common_flags.define_tpu_flags(flag_values)
  common_flags.define_accelerator_flags(flag_values)
  common_flags.define_accelerator_flags(flag_values)
  flag_values(["prog", "--num_tpu_cores=32"])
  assert flag_values.num_tpu_cores == 32


def test_run_options_from_flags_reads_every_field():
  flag_values = _parsed_flags(["--use_tpu", "--tpu_name=my-tpu", "--tpu_zone=us-central1-b",
                               "--gcp_project=proj", "--num_tpu_cores=32", "--iterations_per_loop=50",
                               "--save_checkpoints_steps=7", "--precision=bf16", "--optimizer=lamb",
                               "--gradient_accumulation_steps=4", "--log_every_n_steps=3",
                               "--keep_checkpoint_max=2", "--tf_random_seed=9", "--use_xla"])
  options = common_flags.run_options_from_flags(flag_values)
  assert options == estimator_utils.RunOptions(
      use_tpu=True, tpu_name="my-tpu", tpu_zone="us-central1-b", gcp_project="proj", num_tpu_cores=32,
      iterations_per_loop=50, save_checkpoints_steps=7, precision="bf16", optimizer="lamb",
      gradient_accumulation_steps=4, log_every_n_steps=3, keep_checkpoint_max=2, tf_random_seed=9, use_xla=True)


def test_run_options_keep_defaults_for_flags_a_script_does_not_define():
  flag_values = flags.FlagValues()
  common_flags.define_tpu_flags(flag_values)
  flag_values(["prog"])
  options = common_flags.run_options_from_flags(flag_values)
  assert options.precision == "fp32" and options.num_gpus == 0 and options.log_every_n_steps == 100


@pytest.mark.parametrize("argv, message", [
    (["--gradient_accumulation_steps=0"], "--gradient_accumulation_steps must be >= 1"),
    (["--iterations_per_loop=0"], "--iterations_per_loop must be >= 1"),
    (["--num_gpus=-1"], "--num_gpus must be >= 0"),
    (["--use_tpu", "--num_gpus=2"], "cannot be combined"),
])
def test_bad_run_flags_are_one_line_usage_errors(argv, message):
  with pytest.raises(UsageError, match=message):
    common_flags.run_options_from_flags(_parsed_flags(argv))


def test_precision_flag_rejects_unknown_values():
  with pytest.raises(flags.IllegalFlagValueError):
    _parsed_flags(["--precision=fp8"])


def test_build_estimator_configures_checkpoints_and_tpu_loop(tmp_path):
  options = estimator_utils.RunOptions(save_checkpoints_steps=7, keep_checkpoint_max=3, iterations_per_loop=11,
                                       num_tpu_cores=4, tf_random_seed=5)
  estimator = estimator_utils.build_estimator(lambda features, labels, mode, params: None, options, str(tmp_path), train_batch_size=16,
                                              eval_batch_size=4, params={"extra": 1})
  assert isinstance(estimator, tf1.estimator.tpu.TPUEstimator)
  assert estimator.config.save_checkpoints_steps == 7
  assert estimator.config.keep_checkpoint_max == 3
  assert estimator.config.tf_random_seed == 5
  assert estimator.config.tpu_config.iterations_per_loop == 11
  assert estimator.config.tpu_config.num_shards == 4
  assert estimator.model_dir == str(tmp_path)
  assert estimator.params["extra"] == 1
  assert estimator._ctx._use_tpu is False  # pylint: disable=protected-access


def test_tpu_is_resolved_by_name_zone_and_project(monkeypatch):
  calls = []

  class FakeResolver(object):
    def __init__(self, tpu=None, zone=None, project=None):
      calls.append((tpu, zone, project))

  monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", FakeResolver)
  options = estimator_utils.RunOptions(use_tpu=True, tpu_name="node-1", tpu_zone="europe-west4-a",
                                       gcp_project="research")
  assert isinstance(estimator_utils.tpu_cluster_resolver(options), FakeResolver)
  assert calls == [("node-1", "europe-west4-a", "research")]
  assert estimator_utils.tpu_cluster_resolver(estimator_utils.RunOptions()) is None


def test_unresolvable_tpu_is_a_one_line_usage_error(monkeypatch):
  def failing_resolver(tpu=None, zone=None, project=None):
    raise RuntimeError("Missing runtime dependency on the Google API client.\nmore detail")

  monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", failing_resolver)
  options = estimator_utils.RunOptions(use_tpu=True, tpu_name="nosuch", tpu_zone="z", gcp_project="p")
  with pytest.raises(UsageError, match=r"^cannot resolve --tpu_name=nosuch \(--tpu_zone=z, --gcp_project=p\): "
                                       r"Missing runtime dependency on the Google API client.$"):
    estimator_utils.tpu_cluster_resolver(options)


def test_tpu_failing_when_the_estimator_asks_for_its_address_is_a_usage_error(monkeypatch, tmp_path):
  class UnreachableResolver(tf.distribute.cluster_resolver.ClusterResolver):
    def __init__(self, tpu=None, zone=None, project=None):
      pass

    def cluster_spec(self):
      raise RuntimeError("Failed to connect to nosuch\ntraceback-ish detail")

    def master(self, task_type=None, task_id=None, rpc_layer=None):
      raise RuntimeError("Failed to connect to nosuch\ntraceback-ish detail")

  monkeypatch.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", UnreachableResolver)
  options = estimator_utils.RunOptions(use_tpu=True, tpu_name="nosuch")
  with pytest.raises(UsageError, match=r"^cannot resolve --tpu_name=nosuch .*: Failed to connect to nosuch$"):
    estimator_utils.build_run_config(options, str(tmp_path))


def test_write_run_metadata_writes_config_and_flags(tmp_path):
  out = tmp_path / "run"
  config_path, flags_path = estimator_utils.write_run_metadata(
      str(out), {"vocab_size": 21128, "hidden_size": 64}, {"learning_rate": 1e-4, "input_file": "a,b"})
  assert json.loads(open(config_path).read()) == {"vocab_size": 21128, "hidden_size": 64}
  assert json.loads(open(flags_path).read()) == {"learning_rate": 1e-4, "input_file": "a,b"}
  # Atomic writes leave no temporary files behind.
  assert sorted(os.listdir(out)) == ["bert_config.json", "run_flags.json"]


def _save_checkpoint(path, arrays):
  """Writes a checkpoint holding exactly `arrays` (name -> numpy array)."""
  with tf.Graph().as_default():
    for name, value in arrays.items():
      tf1.get_variable(name, initializer=tf.constant(value))
    saver = tf1.train.Saver()
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      return saver.save(session, path)


def _tiny_bert_checkpoint(output_dir, config, step=4):
  """A checkpoint in output_dir with the config-shaped BERT variables (model.ckpt-<step>) and its config."""
  hidden, inter = config["hidden_size"], config["intermediate_size"]
  arrays = {"bert/embeddings/word_embeddings": np.zeros([config["vocab_size"], hidden], np.float32),
            "bert/embeddings/position_embeddings": np.zeros([config["max_position_embeddings"], hidden],
                                                            np.float32),
            "bert/embeddings/token_type_embeddings": np.zeros([config["type_vocab_size"], hidden], np.float32)}
  for layer in range(config["num_hidden_layers"]):
    arrays["bert/encoder/layer_%d/intermediate/dense/kernel" % layer] = np.zeros([hidden, inter], np.float32)
  _save_checkpoint(os.path.join(str(output_dir), "model.ckpt-%d" % step), arrays)
  estimator_utils.write_run_metadata(str(output_dir), config, {})


TINY = {"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 16, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 16, "type_vocab_size": 2,
        "initializer_range": 0.02}


def test_resuming_with_another_config_is_refused_and_the_saved_config_kept(tmp_path):
  out = tmp_path / "out"
  _tiny_bert_checkpoint(out, TINY)
  saved = (out / "bert_config.json").read_text()
  estimator_utils.write_run_metadata(str(out), TINY, {"again": True})  # the same config resumes
  with pytest.raises(UsageError, match=r"^--output_dir .*/out holds checkpoints \(model.ckpt-4\) of another model "
                                       r"config: intermediate_size 16 there, 32 in --bert_config_file, "
                                       r"num_hidden_layers 2 there, 3 in --bert_config_file; resume with the "
                                       r"config they were made with \(.*/out/bert_config.json\) or use a new "
                                       r"--output_dir$"):
    estimator_utils.write_run_metadata(str(out), dict(TINY, intermediate_size=32, num_hidden_layers=3), {})
  assert (out / "bert_config.json").read_text() == saved
  # Fields that shape no variable are compared with the saved bert_config.json.
  with pytest.raises(UsageError, match=r"config: hidden_act gelu there, relu in --bert_config_file;"):
    estimator_utils.write_run_metadata(str(out), dict(TINY, hidden_act="relu"), {})
  # Without bert_config.json, the checkpoint's shapes still tell.
  os.remove(out / "bert_config.json")
  with pytest.raises(UsageError, match=r"config: vocab_size 30 there, 40 in --bert_config_file;"):
    estimator_utils.write_run_metadata(str(out), dict(TINY, vocab_size=40), {})
  assert not (out / "bert_config.json").exists()
  # No checkpoint yet: any config may start there.
  estimator_utils.write_run_metadata(str(tmp_path / "fresh"), dict(TINY, vocab_size=40), {})


def test_folders_of_interrupted_checkpoint_saves_are_removed(tmp_path, caplog):
  out = tmp_path / "out"
  _tiny_bert_checkpoint(out, TINY, step=20)
  (out / "model.ckpt-40_temp").mkdir()
  (out / "model.ckpt-40_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"partial")
  (out / "model.ckpt-60_temp_0123abcd").mkdir()  # older TensorFlow's name
  (out / "notes_temp").mkdir()  # not a checkpoint's: kept
  with caplog.at_level("INFO"):
    estimator_utils.write_run_metadata(str(out), TINY, {})
  assert not (out / "model.ckpt-40_temp").exists() and not (out / "model.ckpt-60_temp_0123abcd").exists()
  assert (out / "notes_temp").exists() and tf.train.latest_checkpoint(str(out)).endswith("model.ckpt-20")
  assert "model.ckpt-40_temp, left by a checkpoint save that was interrupted" in caplog.text


def _init_and_read(checkpoint, shapes, use_tpu=False):
  """Builds variables of `shapes`, initialises them from `checkpoint`, returns their values."""
  with tf.Graph().as_default():
    variables = {name: tf1.get_variable(name, shape=shape, initializer=tf1.random_normal_initializer(10.0, 0.1))
                 for name, shape in shapes.items()}
    scaffold_fn = estimator_utils.init_from_checkpoint(checkpoint, use_tpu=use_tpu)
    if use_tpu:
      assert callable(scaffold_fn)
      scaffold_fn()
    else:
      assert scaffold_fn is None
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      return session.run(variables)


def test_init_from_checkpoint_restores_matching_variables_and_extends_the_vocab(tmp_path):
  rng = np.random.RandomState(0)
  saved = {"bert/embeddings/word_embeddings": rng.rand(6, 4).astype(np.float32),
           "cls/predictions/output_bias": rng.rand(6).astype(np.float32),
           "bert/pooler/dense/kernel": rng.rand(4, 4).astype(np.float32)}
  checkpoint = _save_checkpoint(str(tmp_path / "model.ckpt"), saved)
  for use_tpu in (False, True):
    values = _init_and_read(checkpoint, {"bert/embeddings/word_embeddings": [9, 4],
                                         "cls/predictions/output_bias": [9], "bert/pooler/dense/kernel": [4, 4],
                                         "cls/new_head/kernel": [4, 2]}, use_tpu=use_tpu)
    np.testing.assert_allclose(values["bert/pooler/dense/kernel"], saved["bert/pooler/dense/kernel"])
    # Old rows copied, new rows keep their own initialiser (mean 10 here), as resize_token_embeddings does.
    np.testing.assert_allclose(values["bert/embeddings/word_embeddings"][:6], saved["bert/embeddings/word_embeddings"])
    assert np.all(np.abs(values["bert/embeddings/word_embeddings"][6:] - 10.0) < 1.0)
    np.testing.assert_allclose(values["cls/predictions/output_bias"][:6], saved["cls/predictions/output_bias"])
    assert np.all(np.abs(values["cls/predictions/output_bias"][6:] - 10.0) < 1.0)
    assert np.all(np.abs(values["cls/new_head/kernel"] - 10.0) < 1.0)


def test_init_from_checkpoint_accepts_a_directory(tmp_path):
  saved = {"bert/pooler/dense/bias": np.arange(3, dtype=np.float32)}
  _save_checkpoint(str(tmp_path / "model.ckpt"), saved)
  values = _init_and_read(str(tmp_path), {"bert/pooler/dense/bias": [3]})
  np.testing.assert_allclose(values["bert/pooler/dense/bias"], [0, 1, 2])


def test_smaller_vocab_than_checkpoint_is_a_usage_error(tmp_path):
  checkpoint = _save_checkpoint(str(tmp_path / "model.ckpt"),
                                {"bert/embeddings/word_embeddings": np.zeros((8, 4), np.float32)})
  with pytest.raises(UsageError, match=r"vocabulary of 8 tokens.*vocab_size is 5"):
    _init_and_read(checkpoint, {"bert/embeddings/word_embeddings": [5, 4]})


def test_other_shape_mismatches_are_listed(tmp_path):
  checkpoint = _save_checkpoint(str(tmp_path / "model.ckpt"), {
      "bert/embeddings/word_embeddings": np.zeros((8, 4), np.float32),
      "bert/encoder/layer_0/output/dense/kernel": np.zeros((4, 4), np.float32),
      "bert/pooler/dense/bias": np.zeros((4,), np.float32)})
  with pytest.raises(UsageError) as error:
    _init_and_read(checkpoint, {"bert/embeddings/word_embeddings": [8, 6],
                                "bert/encoder/layer_0/output/dense/kernel": [6, 6],
                                "bert/pooler/dense/bias": [4]})
  message = str(error.value)
  assert "2 variable(s) differ" in message
  assert "bert/embeddings/word_embeddings: checkpoint [8, 4] vs model [8, 6]" in message
  assert "bert/encoder/layer_0/output/dense/kernel: checkpoint [4, 4] vs model [6, 6]" in message
  assert "pooler" not in message


def test_missing_init_checkpoint_is_a_usage_error(tmp_path):
  with pytest.raises(UsageError, match="no checkpoint there"):
    _init_and_read(str(tmp_path / "nothing.ckpt"), {"bert/pooler/dense/bias": [3]})


def _linear_model_fn(options, num_train_steps, init_lr):
  """A one-matrix regression trained with build_train_op and logged through training_host_call."""
  from bert import optimization

  def model_fn(features, labels, mode, params):
    weights = tf1.get_variable("w", [3, 1])
    loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], weights) - labels))
    train_op = estimator_utils.build_train_op(loss, options, init_lr, num_train_steps, 1)
    with tf.control_dependencies([train_op]):
      step = tf.identity(tf1.train.get_global_step())
    learning_rate = optimization.learning_rate_schedule(init_lr, step - 1, num_train_steps, 1)
    host_call = estimator_utils.training_host_call(params["output_dir"], step,
                                                   {"loss": loss, "learning_rate": learning_rate},
                                                   params["batch_size"], options.log_every_n_steps, num_train_steps)
    return tf1.estimator.tpu.TPUEstimatorSpec(mode, loss=loss, train_op=train_op, host_call=host_call)
  return model_fn


def _regression_input_fn(params):
  x = np.random.RandomState(1).rand(64, 3).astype(np.float32)
  y = x.sum(axis=1, keepdims=True)
  return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(params["batch_size"], drop_remainder=True)


def test_training_logs_progress_and_writes_summaries(tmp_path, capfd):
  options = estimator_utils.RunOptions(save_checkpoints_steps=100, log_every_n_steps=2)
  out = str(tmp_path)
  estimator = estimator_utils.build_estimator(_linear_model_fn(options, 6, 0.1), options, out,
                                              train_batch_size=4, params={"output_dir": out})
  estimator.train(_regression_input_fn, max_steps=6)
  assert estimator.get_variable_value("global_step") == 6
  lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("step ")]
  assert [line.split()[1] for line in lines] == ["2/6", "4/6", "6/6"]
  # The learning rate of the update that produced step s is the schedule at s-1: 0.1 * (1 - (s-1)/6).
  assert [line.split()[5] for line in lines] == ["8.33e-02", "5.00e-02", "1.67e-02"]
  assert all(float(line.split()[7]) > 0 for line in lines)
  tags = set()
  for path in glob.glob(os.path.join(out, "events.out.tfevents.*.v2")):
    for event in tf1.train.summary_iterator(path):
      for value in event.summary.value:
        tags.add((value.tag, event.step))
  assert {("loss", 2), ("loss", 4), ("learning_rate", 6)} <= tags
  assert ("loss", 3) not in tags


def test_progress_is_logged_once_per_global_step_with_accumulation(tmp_path, capfd):
  # Two session runs (micro-batches) per global step: the step only advances every other run.
  out = str(tmp_path)

  def model_fn(features, labels, mode, params):
    weights = tf1.get_variable("w", [3, 1])
    loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], weights) - labels))
    global_step = tf1.train.get_or_create_global_step()
    runs = tf1.get_variable("runs", [], tf.int64, tf1.zeros_initializer(), trainable=False)
    count = tf1.assign_add(runs, 1)
    with tf.control_dependencies([count]):
      train_op = tf.cond(tf.equal(count % 2, 0), lambda: tf1.assign_add(global_step, 1).op, tf.no_op)
    with tf.control_dependencies([train_op]):
      step = tf.identity(global_step)
    host_call = estimator_utils.training_host_call(out, step, {"loss": loss}, params["batch_size"] * 2, 1, 3)
    return tf1.estimator.tpu.TPUEstimatorSpec(mode, loss=loss, train_op=train_op, host_call=host_call)

  options = estimator_utils.RunOptions(save_checkpoints_steps=100)
  estimator = estimator_utils.build_estimator(model_fn, options, out, train_batch_size=4)
  estimator.train(_regression_input_fn, max_steps=3)
  lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("step ")]
  assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
