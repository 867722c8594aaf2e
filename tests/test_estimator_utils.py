"""Tests for bert.common_flags, bert.run_options and bert.estimator_utils (flags, run options, the estimator, TPU
resolution, run metadata)."""
import json
import os

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


def test_tpu_host_call_is_outfed_once_per_logging_interval(tmp_path):
  tpu = estimator_utils.RunOptions(use_tpu=True, log_every_n_steps=50, gradient_accumulation_steps=2)
  assert estimator_utils.build_run_config(tpu, str(tmp_path)).tpu_config.experimental_host_call_every_n_steps == 100
  cpu = estimator_utils.RunOptions(log_every_n_steps=50)
  assert estimator_utils.build_run_config(cpu, str(tmp_path)).tpu_config.experimental_host_call_every_n_steps == 1
