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
