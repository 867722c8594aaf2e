"""tf.distribute for the Estimator path: several GPUs (MirroredStrategy) and several workers (TF_CONFIG).

The Estimator runs `model_fn` once per replica (replica context) when `RunConfig(train_distribute=...)` is
set. A tf.compat.v1 optimizer would then sum the replicas' gradients (Estimator + v1 optimizers expect the
loss to be pre-divided by the replica count), clip them per replica, and could not skip or delay an update
(fp16 overflow, gradient accumulation) without building cross-replica ops inside a per-replica branch.
`apply_gradients` here averages the gradients across replicas and workers once, in cross-replica context,
and takes every further decision (accumulate, check, clip, apply) there, identically for all replicas; with
no strategy it is the plain single-device update.
"""
import copy
import json
import os

import tensorflow as tf
from absl import logging

from bert.errors import UsageError


def _option(options, name, default):
  """Reads a field of the RunOptions-like `options` (or a dict), tolerating missing fields."""
  if isinstance(options, dict):
    return options.get(name, default)
  return getattr(options, name, default)


def read_tf_config(environ=None):
  """Parses the TF_CONFIG environment variable.

  Args:
    environ: mapping to read from (default os.environ).

  Returns:
    The decoded dict ({} when TF_CONFIG is unset or empty).

  Raises:
    UsageError: TF_CONFIG is not valid JSON.
  """
  environ = os.environ if environ is None else environ
  raw = environ.get("TF_CONFIG", "").strip()
  if not raw:
    return {}
  try:
    return json.loads(raw)
  except ValueError as error:
    raise UsageError("TF_CONFIG is not valid JSON (%s): %r" % (error, raw[:200]))


def num_workers_in_cluster(tf_config):
  """Counts the training workers (chief + worker tasks) of a TF_CONFIG cluster."""
  cluster = tf_config.get("cluster", {})
  return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def split_cpu_into_logical_devices(num_devices):
  """Makes TensorFlow see `num_devices` logical CPU devices (to exercise the multi-device path on CPU).

  Must run before TensorFlow initialises its runtime (before the first session or eager op).

  Args:
    num_devices: how many logical CPUs to create.

  Returns:
    The names of the logical CPU devices.

  Raises:
    UsageError: the runtime was already initialised with fewer devices.
  """
  cpus = tf.config.list_physical_devices("CPU")
  try:
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)])
  except RuntimeError:
    # Already initialised: fine if it already has enough devices (e.g. set up by a caller).
    pass
  logical = tf.config.list_logical_devices("CPU")
  if len(logical) < num_devices:
    raise UsageError("cannot mirror over %d CPU devices: TensorFlow was initialised with %d logical CPU(s); "
                     "create the strategy before running any TensorFlow op" % (num_devices, len(logical)))
  return [device.name for device in logical[:num_devices]]


def prepare_devices(options):
  """Sets up the logical CPU devices --num_gpus needs on a machine without GPUs.

  TensorFlow fixes its devices when its runtime starts (the first op, e.g. reading an input record), so
  scripts call this first; make_strategy does it too, for callers that build the estimator first.

  Args:
    options: RunOptions (fields use_tpu, num_gpus).
  """
  num_gpus = int(_option(options, "num_gpus", 0) or 0)
  if num_gpus > 1 and not _option(options, "use_tpu", False) and not tf.config.list_physical_devices("GPU"):
    split_cpu_into_logical_devices(num_gpus)


def make_strategy(options, environ=None):
  """Chooses the tf.distribute strategy for RunConfig(train_distribute=..., eval_distribute=...).

  - TF_CONFIG naming more than one worker -> MultiWorkerMirroredStrategy (collective all-reduce; each
    worker mirrors over its local GPUs, or its CPU).
  - --num_gpus N > 1 -> MirroredStrategy over N GPUs; on a machine without GPUs, over N logical CPU
    devices (slow, but it runs the same multi-replica code path, which is what the CPU tests use).
  - otherwise (or with --use_tpu, which TPUEstimator distributes itself) -> None.

  Args:
    options: RunOptions (fields use_tpu, num_gpus; missing fields count as off).
    environ: mapping holding TF_CONFIG (default os.environ).

  Returns:
    A tf.distribute.Strategy, or None for single-device training.

  Raises:
    UsageError: --num_gpus is negative or larger than the visible GPUs, or TF_CONFIG is malformed.
  """
  if _option(options, "use_tpu", False):
    return None
  num_gpus = int(_option(options, "num_gpus", 0) or 0)
  if num_gpus < 0:
    raise UsageError("--num_gpus must be >= 0, got %d" % num_gpus)
  tf_config = read_tf_config(environ)
  if num_workers_in_cluster(tf_config) > 1:
    task = tf_config.get("task", {})
    if task.get("type") not in ("chief", "worker") or "index" not in task:
      raise UsageError("TF_CONFIG needs task.type 'chief' or 'worker' and task.index, got task=%r" % (task,))
    logging.info("Multi-worker training: %d workers, this is %s %d", num_workers_in_cluster(tf_config),
                 task["type"], task["index"])
    # The v1 class is the one whose graph-mode behaviour the Estimator's distribute coordinator expects.
    return tf.compat.v1.distribute.experimental.MultiWorkerMirroredStrategy()
  if num_gpus <= 1:
    return None
  gpus = tf.config.list_physical_devices("GPU")
  if gpus:
    if len(gpus) < num_gpus:
      raise UsageError("--num_gpus=%d but TensorFlow sees %d GPU(s)" % (num_gpus, len(gpus)))
    devices = ["/gpu:%d" % index for index in range(num_gpus)]
  else:
    logging.warning("No GPU visible: mirroring over %d logical CPU devices (tests the multi-GPU path).",
                    num_gpus)
    devices = split_cpu_into_logical_devices(num_gpus)
    # The default all-reduce picked for CPU-only device sets deadlocks the Estimator's session here;
    # reducing on one device is what a CPU can do anyway.
    return tf.compat.v1.distribute.MirroredStrategy(
        devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
  return tf.compat.v1.distribute.MirroredStrategy(devices=devices)


def is_multi_worker(estimator_config):
  """True when the Estimator must run under the distribute coordinator (TF_CONFIG cluster + strategy)."""
  return bool(getattr(estimator_config, "_distribute_coordinator_mode", None))


def train_estimator(estimator, input_fn, max_steps, hooks=None):
  """Runs estimator.train, or, for multi-worker, the distribute-coordinator path that supports it.

  Estimator.train refuses TF_CONFIG clusters; train_and_evaluate runs each worker's training loop with
  the collective strategy. The eval spec is never used (no 'evaluator' task) but the API requires one.

  Args:
    estimator: Estimator or TPUEstimator.
    input_fn: training input function.
    max_steps: the global step to stop at.
    hooks: optional list of SessionRunHooks.
  """
  if not is_multi_worker(estimator.config):
    estimator.train(input_fn=input_fn, max_steps=max_steps, hooks=hooks)
    return
  train_spec = tf.estimator.TrainSpec(input_fn=input_fn, max_steps=max_steps, hooks=hooks or [])
  eval_spec = tf.estimator.EvalSpec(input_fn=input_fn, steps=1, start_delay_secs=0, throttle_secs=0)
  tf.compat.v1.estimator.train_and_evaluate(estimator, train_spec, eval_spec)


def is_chief(environ=None):
  """False only for a TF_CONFIG task that is not the cluster's chief (worker > 0 when there is no chief).

  The chief is the task that reads training shard 0 (training_shard).
  """
  return training_shard(environ)[1] == 0


def evaluate_estimator(estimator, input_fn, steps, name=None, checkpoint_path=None):
  """Runs estimator.evaluate; in a TF_CONFIG cluster the chief evaluates alone, on its own devices.

  The Estimator's multi-worker (distribute coordinator) mode has no evaluation without a separate
  'evaluator' task, so after training the chief evaluates the final checkpoint like a single machine.

  Args:
    estimator: Estimator or TPUEstimator.
    input_fn: evaluation input function.
    steps: maximum number of evaluation batches (None: until the input ends).
    name: optional evaluation name.
    checkpoint_path: the checkpoint to evaluate (default: the latest in the model directory).

  Returns:
    The metrics dict, or None on the other workers.
  """
  if not is_multi_worker(estimator.config):
    return estimator.evaluate(input_fn=input_fn, steps=steps, name=name, checkpoint_path=checkpoint_path)
  if not is_chief():
    logging.info("Not the chief: evaluation is left to worker 0.")
    return None
  return _local_copy(estimator).evaluate(input_fn=input_fn, steps=steps, name=name, checkpoint_path=checkpoint_path)


def predict_estimator(estimator, input_fn, **kwargs):
  """estimator.predict's generator; after multi-worker training it runs on this machine's devices alone.

  Like evaluation, prediction after multi-worker training is one pass over the whole set on one machine. The
  stages call it on the chief only (the other workers stop after training), so no two processes write the
  same file.

  Args:
    estimator: Estimator or TPUEstimator.
    input_fn: prediction input function.
    **kwargs: passed to estimator.predict (yield_single_examples, checkpoint_path, ...).

  Returns:
    The generator of predictions.
  """
  if is_multi_worker(estimator.config):
    estimator = _local_copy(estimator)
  return estimator.predict(input_fn=input_fn, **kwargs)


def _local_copy(estimator):
  """A copy of a multi-worker estimator that runs on this machine alone (evaluation, prediction)."""
  local = copy.deepcopy(estimator)
  local._config._distribute_coordinator_mode = None  # pylint: disable=protected-access
  local._config._train_distribute = None  # pylint: disable=protected-access
  return local


def training_shard(environ=None):
  """(num_shards, index) of this worker's part of the training data: (1, 0) outside a TF_CONFIG cluster.

  Each worker of a cluster reads every num_shards-th record (or file) starting at its own index, so the
  workers' batches together cover the data once, as one machine's larger batch would.
  """
  tf_config = read_tf_config(environ)
  count = num_workers_in_cluster(tf_config)
  task = tf_config.get("task", {})
  if count <= 1 or not task:
    return 1, 0
  index = int(task.get("index", 0))
  if "chief" in tf_config.get("cluster", {}) and task.get("type") == "worker":
    index += 1  # the chief is shard 0
  return count, index


def num_replicas():
  """Replicas training in sync under the current strategy (1 without one)."""
  return tf.distribute.get_strategy().num_replicas_in_sync


def in_multi_replica_context():
  """True inside a model_fn that tf.distribute runs once per replica, with more than one replica."""
  return (tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context() is False and
          num_replicas() > 1)


def _local_tensor(strategy, value):
  """A plain tensor from a (reduced, hence identical on every device) distributed value."""
  return strategy.experimental_local_results(value)[0]


def _update_with_checks(grads_and_vars, apply_fn, global_step, clip_norm, accumulation_steps, loss_scale):
  """Accumulation, loss-scale check, clipping and the (conditional) update, in one replica's view.

  Returns:
    The op of this step: the update when due and finite, the global-step increment on update steps, the
    loss-scale adjustment and the accumulator reset.
  """
  after = []
  is_update_step = tf.constant(True)
  reset = None
  if accumulation_steps > 1:
    from bert import gradient_accumulation
    grads_and_vars, is_update_step, reset = gradient_accumulation.accumulate(grads_and_vars, accumulation_steps)
  should_apply = is_update_step
  if loss_scale is not None:
    from bert import mixed_precision
    finite = mixed_precision.all_finite([g for g, _ in grads_and_vars])
    should_apply = tf.logical_and(should_apply, finite)

  def update():
    pairs = grads_and_vars
    if clip_norm is not None:
      grads, _ = tf.clip_by_global_norm([g for g, _ in pairs], clip_norm=clip_norm)
      pairs = list(zip(grads, [v for _, v in pairs]))
    return apply_fn(pairs)

  if accumulation_steps == 1 and loss_scale is None:
    applied = update()
  else:
    applied = tf.cond(should_apply, lambda: tf.group(update()), tf.no_op)
  after.append(applied)
  with tf.control_dependencies([applied]):
    if loss_scale is not None:
      after.append(loss_scale.update(finite))
    if global_step is not None:
      # Skipped (non-finite) updates still count, so a run always ends at num_train_steps.
      after.append(global_step.assign_add(tf.cast(is_update_step, global_step.dtype.base_dtype)))
    if reset is not None:
      after.append(reset([applied]))
  return tf.group(*after)


def _per_replica_copies(strategy, tensor):
  """PerReplica value holding tensor / num_replicas on each local device (its SUM-reduction is `tensor`)."""
  from tensorflow.python.distribute import values as distribute_values  # pylint: disable=g-direct-tensorflow-import
  share = 1.0 / strategy.num_replicas_in_sync
  copies = []
  for device in strategy.extended.worker_devices:
    with tf.device(device):
      copies.append(tf.identity(tensor) * tf.cast(share, tensor.dtype))
  return distribute_values.PerReplica(tuple(copies))


def apply_gradients(optimizer, grads_and_vars, global_step=None, clip_norm=None, accumulation_steps=1,
                    loss_scale=None, name=None):
  """Averages gradients over replicas and workers, then accumulates, checks, clips and applies them.

  Without a multi-replica strategy this is, for accumulation_steps=1 and no loss scale, exactly
  clip_by_global_norm + optimizer.apply_gradients + global_step increment (Google's create_optimizer).

  Under tf.distribute (model_fn called per replica) the mean gradient over all replicas is computed once in
  cross-replica context; the optimizer's update runs there through its own distributed apply (so mirrored
  variables and slots get the same update on every device), and the accumulation / finiteness decisions,
  taken on the reduced gradients, are the same on every replica and worker.

  Args:
    optimizer: a tf.compat.v1.train.Optimizer (AdamWeightDecayOptimizer, LAMBOptimizer, ...).
    grads_and_vars: list of (gradient or None, variable) of this replica's micro-batch, gradients of a loss
      that is a mean over this replica's examples (already divided by the loss scale, if any).
    global_step: incremented once per update step (counts optimizer updates), or None.
    clip_norm: clip the (averaged, accumulated) gradients to this global norm; None: no clipping.
    accumulation_steps: micro-batches per update (bert.gradient_accumulation).
    loss_scale: a bert.mixed_precision.DynamicLossScale: non-finite updates are skipped and the scale
      adjusted.
    name: op name for the optimizer.

  Returns:
    The train op of this step.
  """
  grads_and_vars = [(g, v) for g, v in grads_and_vars if g is not None]
  if not in_multi_replica_context():
    return _update_with_checks(grads_and_vars, lambda pairs: optimizer.apply_gradients(pairs, name=name),
                               global_step, clip_norm, accumulation_steps, loss_scale)

  def apply_cross_replica(strategy, per_replica_pairs):
    # Mean over replicas: each replica's loss is a mean over its own (equal-sized) batch, so the mean of
    # their gradients is the gradient of the global batch's mean loss.
    reduced = strategy.extended.batch_reduce_to(tf.distribute.ReduceOp.MEAN, per_replica_pairs)
    pairs = [(_local_tensor(strategy, g), v) for g, (_, v) in zip(reduced, per_replica_pairs)]

    def distributed_apply(local_pairs):
      # The optimizer's own cross-replica apply sums over replicas; hand it equal shares of the mean.
      shares = [(_per_replica_copies(strategy, g), v) for g, v in local_pairs]
      return optimizer._distributed_apply(strategy, shares, None, name or optimizer.get_name())  # pylint: disable=protected-access

    return _update_with_checks(pairs, distributed_apply, global_step, clip_norm, accumulation_steps, loss_scale)

  # Dense gradients (the optimizers densify embedding gradients anyway) keep the all-reduce simple.
  grads_and_vars = [(tf.convert_to_tensor(g), v) for g, v in grads_and_vars]
  return tf.distribute.get_replica_context().merge_call(apply_cross_replica, args=(grads_and_vars,))
