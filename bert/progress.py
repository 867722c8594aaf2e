"""Training progress: one log line and TensorBoard scalars every --log_every_n_steps, with one examples/s.

`only_on_logging_steps` computes the line's scalars on those steps only, so the others pay nothing for them.
On TPU the host_call is outfed only every `host_call_interval` loop iterations, not every step, and
`held_until_outfed` keeps the latest logged values on the device until an outfeed carries them.

`training_host_call` is the host_call every stage's model_fn returns (bert.model_fn); `examples_per_step` is
the one definition of how many examples a global step consumes.
"""
import collections
import sys

import tensorflow as tf


def _local_variable(name, initial_value):
  """A non-checkpointed variable (re-initialised each session), for the logger's timing state."""
  return tf.compat.v1.Variable(initial_value, name=name, trainable=False,
                               collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])


def examples_per_step(params, options, input_ids):
  """Examples one global step consumes, for the progress line's examples/s (the one definition).

  On TPU params["batch_size"] is the per-core batch; on one CPU/GPU it is the global batch; under
  tf.distribute (--num_gpus, TF_CONFIG) TPUEstimator gives the per-replica model_fn no batch size, so the
  replica's own batch is multiplied by the number of replicas. With gradient accumulation one global step
  consumes several micro-batches.

  Args:
    params: the model_fn's params.
    options: RunOptions.
    input_ids: a [batch, ...] input tensor of the replica (its first dimension is the replica's batch).

  Returns:
    A Python int, or (under tf.distribute) a scalar tensor.
  """
  if params and "batch_size" in params:
    batch = params["batch_size"] * (options.num_tpu_cores if options.use_tpu else 1)
  else:
    batch = tf.shape(input_ids)[0] * tf.distribute.get_strategy().num_replicas_in_sync
  return batch * options.gradient_accumulation_steps


def is_logging_step(step, log_every_n_steps):
  """Whether the progress line is written after global step `step` (a boolean tensor): the one rule."""
  return tf.equal(step % log_every_n_steps, 0)


def only_on_logging_steps(scalars, step, log_every_n_steps):
  """The scalars' values on the steps that are logged (every log_every_n_steps), zeros on the others.

  The callables among the scalars are built inside the true branch of a tf.cond, so their ops (a metric's
  argmax over the vocabulary, say) run only on logged steps; on the others the progress line costs a
  comparison. (A tensor built outside the cond is computed anyway, which is why metrics are passed as
  callables.) The host_call only prints and summarises on those same steps.

  Args:
    scalars: ordered dict name -> scalar tensor or zero-argument callable returning one.
    step: the global step after this step's update.
    log_every_n_steps: logging interval.

  Returns:
    Ordered dict name -> float32 scalar tensor.
  """
  names = list(scalars)

  def compute():
    return [tf.cast(value() if callable(value) else value, tf.float32) for value in scalars.values()]

  def skip():
    return [tf.zeros([], tf.float32) for _ in names]

  values = tf.cond(is_logging_step(step, log_every_n_steps), compute, skip)
  return collections.OrderedDict(zip(names, values))


def host_call_interval(options):
  """Loop iterations between two host_call outfeeds (TPUConfig.experimental_host_call_every_n_steps).

  On TPU an outfeed every step is a host round-trip every step; one per logging interval suffices, since
  `held_until_outfed` keeps the logged values until then. A loop iteration is a micro-batch, so with gradient
  accumulation the interval is log_every_n_steps micro-batches times the accumulation steps. On CPU/GPU the
  host_call runs in the training step's own session run, and the interval is 1.

  Args:
    options: RunOptions.

  Returns:
    A positive int.
  """
  if not options.use_tpu:
    return 1
  return options.log_every_n_steps * options.gradient_accumulation_steps


def held_until_outfed(step, scalars, log_every_n_steps):
  """The latest logging step and its scalars, kept in device variables for a host_call outfed every n steps.

  TPUEstimator outfeeds the host_call at loop iterations 0, n, 2n, ... (`host_call_interval`), which are not
  the logging steps: a loop that starts at step s outfeeds after steps s+1, s+n+1, ... So every logging step
  stores its values (the first micro-batch of the step, as the host side does on CPU), and every step returns
  what is stored; the host prints a step once, when it first arrives. Two outfeeds are at most n steps apart,
  so at most one logging step falls between them and none is lost -- except the run's last one when it comes
  after the loop's last outfeed (TPUEstimator's own "loss = ..., step = ..." line reports that loss). Each TPU
  core stores and outfeeds its own values; the host averages them.

  The variables are local (not checkpointed), so checkpoints are unchanged and old ones restore; they start
  at step 0, which the host never prints (it prints steps after the one the session started at).

  Args:
    step: the global step after this step's update (int64 scalar).
    scalars: ordered dict name -> float32 scalar, meaningful on logging steps (`only_on_logging_steps`).
    log_every_n_steps: logging interval.

  Returns:
    (held step, ordered dict name -> held float32 scalar), read after this step's store.
  """
  names = list(scalars)
  with tf.compat.v1.variable_scope("progress_held", reuse=tf.compat.v1.AUTO_REUSE):
    held_step = _held_variable("step", [], tf.int64)
    held_values = _held_variable("values", [len(names)], tf.float32)
  step = tf.cast(step, tf.int64)
  fresh = tf.logical_and(is_logging_step(step, log_every_n_steps), tf.greater(step, held_step))
  stored_step = held_step.assign(tf.where(fresh, step, held_step))
  stored_values = held_values.assign(tf.where(fresh, tf.stack(list(scalars.values())), held_values))
  return stored_step, collections.OrderedDict(zip(names, tf.unstack(stored_values, num=len(names))))


def _held_variable(name, shape, dtype):
  """A zero-initialised local variable on the device (created lazily, outside any TPU/cond context)."""
  return tf.compat.v1.get_variable(name, shape, dtype, initializer=tf.compat.v1.zeros_initializer(),
                                   trainable=False, use_resource=True,
                                   collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])


def training_host_call(output_dir, global_step, scalars, examples_per_step, log_every_n_steps,
                       num_train_steps=None):
  """Progress logging for training: a log line and TensorBoard scalars every `log_every_n_steps` steps.

  Returns a TPUEstimatorSpec host_call: on TPU it runs on the host from values outfed every
  `host_call_interval` loop iterations (pass it `held_until_outfed`'s step and scalars); with use_tpu=False
  TPUEstimator runs it on CPU each step. The line reads e.g.
  "step 200/1000 loss 5.1234 masked_lm_accuracy 0.2345 learning_rate 1.00e-04 examples/s 321.5".

  Args:
    output_dir: where the summaries go (the model directory).
    global_step: the global step after this step's update (e.g. read under a control dependency on the
      train op).
    scalars: ordered dict name -> scalar tensor (loss, masked_lm_accuracy, learning_rate, ...).
    examples_per_step: examples consumed per global step (global batch size times gradient accumulation
      steps), for examples/s; a Python number, or (CPU/GPU only) a scalar tensor.
    log_every_n_steps: logging/summary interval.
    num_train_steps: optional total, shown as step N/total.

  Returns:
    (host_fn, tensors dict) for TPUEstimatorSpec(host_call=...).
  """
  names = list(scalars)
  tensors = {"global_step": tf.reshape(tf.cast(global_step, tf.int64), [1])}
  for name in names:
    tensors[name] = tf.reshape(tf.cast(scalars[name], tf.float32), [1])

  def host_fn(**values):
    # On TPU each tensor arrives concatenated over the cores: the step is the same, the metrics are averaged.
    step = values["global_step"][0]
    means = {name: tf.reduce_mean(values[name]) for name in names}
    last_time = _local_variable("progress_log/last_time", tf.timestamp())
    # Initialised (after any restore) to the step the session starts at, so a resumed run's rate is right.
    last_step = _local_variable("progress_log/last_step",
                                tf.cast(tf.compat.v1.train.get_or_create_global_step(), tf.int64))
    # With gradient accumulation several session runs (micro-batches) see the same global step, and on TPU
    # several outfeeds carry the same held step (held_until_outfed): log a step once, when it first arrives.
    should_log = tf.logical_and(is_logging_step(step, log_every_n_steps), tf.greater(step, last_step))

    def log_line():
      now = tf.timestamp()
      rate = (tf.cast(step - last_step, tf.float64) * tf.cast(examples_per_step, tf.float64) /
              tf.maximum(now - last_time, 1e-6))
      parts = ["step ", tf.strings.as_string(step)]
      if num_train_steps:
        parts.append("/%d" % num_train_steps)
      for name in names:
        value = means[name]
        text = (tf.strings.as_string(value, scientific=True, precision=2) if "learning_rate" in name
                else tf.strings.as_string(value, precision=4))
        parts += [" %s " % name, text]
      parts += [" examples/s ", tf.strings.as_string(rate, precision=1)]
      printed = tf.print(tf.strings.join(parts), output_stream=sys.stderr)
      with tf.control_dependencies([printed]):
        updated = tf.group(last_time.assign(now), last_step.assign(step))
      with tf.control_dependencies([updated]):
        return tf.constant(True)

    logged = tf.cond(should_log, log_line, lambda: tf.constant(False))
    writer = tf.compat.v2.summary.create_file_writer(output_dir, name="progress_summaries")
    with writer.as_default(), tf.compat.v2.summary.record_if(should_log):
      for name in names:
        tf.compat.v2.summary.scalar(name, means[name], step=step)
      summaries = tf.compat.v1.summary.all_v2_summary_ops()
    return [logged] + list(summaries)

  return host_fn, tensors
