"""Estimator plumbing shared by the training scripts: TPUEstimator construction (run config, TPU resolution,
tf.distribute strategy), the train op, the XLA scope and the run metadata. Its neighbours hold the rest: run
options (bert/run_options.py), checkpoints (bert/checkpoints.py), the progress line (bert/progress.py),
atomic files (bert/file_io.py).

Every script builds its estimator the same way:

    options = common_flags.run_options_from_flags(FLAGS)
    estimator = estimator_utils.build_estimator(model_fn, options, FLAGS.output_dir, FLAGS.train_batch_size)

and builds its model_fn with bert.model_fn, which uses `build_train_op`, `checkpoints.init_from_checkpoint`
and `progress.training_host_call`.
On TPU the estimator runs on the TPU resolved by name; on CPU/GPU the same TPUEstimator runs with
use_tpu=False (and a tf.distribute strategy for several GPUs or workers, from `bert.distribution`).
"""
import contextlib
import dataclasses
import json
import os

import tensorflow as tf

from bert import checkpoints
from bert import file_io
from bert import progress
from bert.errors import UsageError
from bert.run_options import RunOptions  # noqa: F401  (its home is bert/run_options.py)


def _session_config(options):
  """Session config: soft placement (CPU fallbacks), and XLA auto-clustering (GPU) when --use_xla."""
  config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
  if options.use_xla and not options.use_tpu:
    config.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
  return config


def xla_scope(options):
  """Context marking the ops built inside it for XLA compilation when --use_xla (CPU/GPU).

  Session auto-clustering (set in the session config too) ignores CPU devices unless TF_XLA_FLAGS has
  --tf_xla_cpu_global_jit when TensorFlow loads, so model_fns build their model inside this scope. On TPU
  everything is compiled by XLA anyway.

  Args:
    options: RunOptions.

  Returns:
    A context manager.
  """
  if options.use_xla and not options.use_tpu:
    return tf.xla.experimental.jit_scope(compile_ops=True)
  return contextlib.nullcontext()


def tpu_cluster_resolver(options):
  """Resolves the TPU named by --tpu_name/--tpu_zone/--gcp_project (None when not on TPU or unnamed).

  Args:
    options: RunOptions.

  Returns:
    A TPUClusterResolver or None.

  Raises:
    UsageError: the TPU cannot be resolved (one line with the resolver's reason).
  """
  if not (options.use_tpu and options.tpu_name):
    return None
  try:
    return tf.distribute.cluster_resolver.TPUClusterResolver(
        options.tpu_name, zone=options.tpu_zone, project=options.gcp_project)
  except Exception as error:  # pylint: disable=broad-except
    raise _tpu_error(options, error) from None


def _tpu_error(options, error):
  """UsageError for a TPU that cannot be reached: unknown name, no metadata server, no cloud-tpu-client
  (the resolver raises assorted error types, with multi-line messages)."""
  text = str(error).strip().splitlines()
  return UsageError("cannot resolve --tpu_name=%s (--tpu_zone=%s, --gcp_project=%s): %s" % (
      options.tpu_name, options.tpu_zone, options.gcp_project, text[0] if text else type(error).__name__))


def build_run_config(options, output_dir):
  """The tf.compat.v1.estimator.tpu.RunConfig for `options` (checkpointing, TPU loop, distribution).

  Args:
    options: RunOptions.
    output_dir: model directory (checkpoints, summaries).

  Returns:
    A tf.compat.v1.estimator.tpu.RunConfig.
  """
  # Imported here so bert.distribution (tf.distribute for GPUs/workers) can evolve independently.
  from bert import distribution
  strategy = distribution.make_strategy(options)
  tpu_config = tf.compat.v1.estimator.tpu.TPUConfig(
      iterations_per_loop=options.iterations_per_loop,
      num_shards=options.num_tpu_cores,
      per_host_input_for_training=tf.compat.v1.estimator.tpu.InputPipelineConfig.PER_HOST_V2,
      experimental_host_call_every_n_steps=progress.host_call_interval(options))
  cluster = tpu_cluster_resolver(options)
  try:
    return _run_config(options, output_dir, cluster, strategy, tpu_config)
  except Exception as error:  # pylint: disable=broad-except
    if cluster is None:
      raise
    # RunConfig asks the resolver for the TPU's address, which is where an unreachable TPU shows up.
    raise _tpu_error(options, error) from None


def _run_config(options, output_dir, cluster, strategy, tpu_config):
  """tf.compat.v1.estimator.tpu.RunConfig from its parts."""
  return tf.compat.v1.estimator.tpu.RunConfig(
      cluster=cluster,
      master=options.master,
      model_dir=output_dir,
      save_checkpoints_steps=options.save_checkpoints_steps,
      keep_checkpoint_max=options.keep_checkpoint_max,
      log_step_count_steps=options.log_every_n_steps,
      save_summary_steps=options.log_every_n_steps,
      tf_random_seed=options.tf_random_seed,
      session_config=_session_config(options),
      train_distribute=strategy,
      tpu_config=tpu_config)


def build_estimator(model_fn, options, output_dir, train_batch_size, eval_batch_size=8, predict_batch_size=8,
                    params=None):
  """Builds the TPUEstimator every script trains/evaluates/predicts with (use_tpu=False on CPU/GPU).

  Args:
    model_fn: TPUEstimator model_fn(features, labels, mode, params) returning a TPUEstimatorSpec.
    options: RunOptions.
    output_dir: model directory.
    train_batch_size: global training batch size (params["batch_size"] in train mode).
    eval_batch_size: global evaluation batch size.
    predict_batch_size: global prediction batch size.
    params: optional dict passed to model_fn/input_fn (TPUEstimator adds "batch_size").

  Returns:
    tf.compat.v1.estimator.tpu.TPUEstimator.
  """
  return tf.compat.v1.estimator.tpu.TPUEstimator(
      use_tpu=options.use_tpu,
      model_fn=model_fn,
      config=build_run_config(options, output_dir),
      train_batch_size=train_batch_size,
      eval_batch_size=eval_batch_size,
      predict_batch_size=predict_batch_size,
      params=params)


def build_train_op(loss, options, learning_rate, num_train_steps, num_warmup_steps):
  """The training op every script uses: Google's warmup + linear-decay schedule and optimizer.

  Args:
    loss: scalar loss tensor (mean over this replica's batch).
    options: RunOptions (use_tpu, optimizer, precision, gradient_accumulation_steps).
    learning_rate: peak learning rate.
    num_train_steps: total optimizer steps (the schedule decays to 0 there).
    num_warmup_steps: linear warmup steps.

  Returns:
    The train op (it also increments the global step).
  """
  from bert import mixed_precision
  from bert import optimization
  return optimization.create_optimizer(loss, learning_rate, num_train_steps, num_warmup_steps, options.use_tpu,
                                       optimizer_name=options.optimizer,
                                       gradient_accumulation_steps=options.gradient_accumulation_steps,
                                       loss_scale=mixed_precision.loss_scale_for(options.precision))


def run_flags(args, options):
  """The flag values of a run started from library code (its stage Args and RunOptions), for run_flags.json."""
  return dict(dataclasses.asdict(args), **dataclasses.asdict(options))


def write_run_metadata(output_dir, config, flags):
  """Prepares output_dir for a run and records what the run was started with.

  Checks that checkpoints already in output_dir were made with this config (so bert_config.json is never
  replaced by one that does not describe them), removes the leftovers of interrupted checkpoint saves (the
  chief only: it may be saving while another worker starts), then writes `bert_config.json` and `run_flags.json`.
  bert_config.json lets the output directory be passed as-is to fine-tuning (--bert_config_file).

  Args:
    output_dir: the run's output directory (created if needed).
    config: a BertConfig (anything with to_dict()) or a dict.
    flags: dict of flag name -> value.

  Returns:
    (config path, flags path).

  Raises:
    UsageError: output_dir holds checkpoints of another config (check_config_matches_checkpoints).
  """
  from bert import distribution
  tf.io.gfile.makedirs(output_dir)
  config_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)
  checkpoints.check_config_matches_checkpoints(output_dir, config_dict)
  if distribution.is_chief():
    checkpoints.remove_interrupted_saves(output_dir)
  config_path = os.path.join(output_dir, "bert_config.json")
  flags_path = os.path.join(output_dir, "run_flags.json")
  file_io.write_text_atomically(config_path, json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
  file_io.write_text_atomically(flags_path, json.dumps(flags, indent=2, sort_keys=True, default=str) + "\n")
  return config_path, flags_path
