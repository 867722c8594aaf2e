"""bert/progress.py: the progress line and its summaries, once per global step."""
import glob
import os

import numpy as np
import tensorflow as tf

from bert import progress
from bert import estimator_utils

tf1 = tf.compat.v1


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
    host_call = progress.training_host_call(params["output_dir"], step,
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
    host_call = progress.training_host_call(out, step, {"loss": loss}, params["batch_size"] * 2, 1, 3)
    return tf1.estimator.tpu.TPUEstimatorSpec(mode, loss=loss, train_op=train_op, host_call=host_call)

  options = estimator_utils.RunOptions(save_checkpoints_steps=100)
  estimator = estimator_utils.build_estimator(model_fn, options, out, train_batch_size=4)
  estimator.train(_regression_input_fn, max_steps=3)
  lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("step ")]
  assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]


def _tpu_outfed_lines(capfd, out, log_every, loop_length, start_step, last_step, accumulation=1):
  """Progress lines of a simulated TPU training loop whose host_call is outfed every host_call_interval.

  As TPUEstimator does on a TPU: the device computes the host_call's tensors in every loop iteration (one
  session run = one micro-batch here), and the host runs host_fn on them only at loop indices 0, n, 2n, ...;
  each loop restarts its index at 0 and the last loop is cut short at last_step.
  """
  options = estimator_utils.RunOptions(use_tpu=True, log_every_n_steps=log_every,
                                       gradient_accumulation_steps=accumulation)
  interval = progress.host_call_interval(options)
  with tf.Graph().as_default():
    global_step = tf1.train.get_or_create_global_step()
    runs = tf1.get_variable("runs", [], tf.int64, tf1.zeros_initializer(), trainable=False)
    count = tf1.assign_add(runs, 1)
    with tf.control_dependencies([count]):
      train_op = tf.cond(tf.equal(count % accumulation, 0), lambda: tf1.assign_add(global_step, 1).op, tf.no_op)
    with tf.control_dependencies([train_op]):
      step = tf.identity(global_step)
    # The loss of micro-batch r is r / (2 * accumulation): s / 2 on the run that makes step s (the one logged).
    loss = lambda: tf.cast(count, tf.float32) / (2 * accumulation)
    scalars = progress.only_on_logging_steps({"loss": loss}, step, log_every)
    held_step, held_scalars = progress.held_until_outfed(step, scalars, log_every)
    host_fn, tensors = progress.training_host_call(out, held_step, held_scalars, 8, log_every, last_step)
    outfed = {name: tf1.placeholder(tensor.dtype, tensor.shape) for name, tensor in tensors.items()}
    host_ops = host_fn(**outfed)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      sess.run([global_step.assign(start_step), runs.assign(start_step * accumulation)])
      sess.run([tf1.local_variables_initializer(), _summary_writer_init_ops()])
      while sess.run(global_step) < last_step:
        for index in range(min(loop_length, (last_step - sess.run(global_step)) * accumulation)):
          values = sess.run(tensors)  # one micro-batch: the tensors depend on the train op
          if index % interval == 0:
            sess.run(host_ops, {outfed[name]: value for name, value in values.items()})
  lines = [line.split() for line in capfd.readouterr().err.splitlines() if line.startswith("step ")]
  for line in lines:
    assert float(line[3]) == int(line[1].split("/")[0]) / 2  # each line carries its own step's loss
  return [int(line[1].split("/")[0]) for line in lines]


def test_tpu_outfeed_every_logging_interval_logs_each_logging_step_once(tmp_path, capfd):
  out = str(tmp_path)
  # Loops of 6 iterations outfeed after steps 1, 4, 7, ...: each carries the logging step before it; the
  # run's last logging step (18) comes after the last outfeed and is not printed.
  assert _tpu_outfed_lines(capfd, out, log_every=3, loop_length=6, start_step=0, last_step=18) == [3, 6, 9, 12, 15]
  # A loop length that is not a multiple of the interval shifts the outfeeds; no step is lost or repeated.
  assert _tpu_outfed_lines(capfd, out, 3, 5, 0, 20) == [3, 6, 9, 12, 15, 18]
  # A resumed run starts printing after its first step.
  assert _tpu_outfed_lines(capfd, out, 3, 5, 7, 20) == [9, 12, 15, 18]
  # With 2 micro-batches per step the interval is 2 * 3 iterations.
  assert _tpu_outfed_lines(capfd, out, 3, 10, 0, 15, accumulation=2) == [3, 6, 9, 12]


def test_host_call_interval_is_one_off_tpu_and_the_logging_interval_on_tpu():
  assert progress.host_call_interval(estimator_utils.RunOptions(log_every_n_steps=100)) == 1
  tpu = estimator_utils.RunOptions(use_tpu=True, log_every_n_steps=100, gradient_accumulation_steps=4)
  assert progress.host_call_interval(tpu) == 400


def _summary_writer_init_ops():
  """What MonitoredSession's scaffold runs to open graph-mode summary writers."""
  from tensorflow.python.ops import summary_ops_v2  # pylint: disable=g-direct-tensorflow-import
  return summary_ops_v2.summary_writer_initializer_op()
