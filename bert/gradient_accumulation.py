"""Gradient accumulation: k micro-batches per optimizer update, for batches larger than memory allows.

Each training step adds this step's gradients to float32 accumulators (one per variable, not trainable, saved
in checkpoints so a resumed run continues mid-accumulation); every k-th step the optimizer is applied to
their mean and they are reset. With equal-sized micro-batches and a loss that is a mean over the batch, the
mean of the k gradients is the gradient of the k-times batch, so the update equals one step on that batch
(up to float rounding). The global step counts optimizer updates: `--num_train_steps` and the learning-rate
schedule are in updates, and training reads k * num_train_steps micro-batches.
"""
import re

import tensorflow as tf

tf1 = tf.compat.v1

SCOPE = "gradient_accumulation"


def _base_name(variable):
  """'bert/x:0' -> 'bert/x' (also for distributed variables)."""
  return re.sub(r":\d+$", "", variable.name)


def accumulate(grads_and_vars, num_steps):
  """Adds this step's gradients to the accumulators.

  Call once per training step; the returned tensors are only meaningful when `is_update_step` is true.

  Args:
    grads_and_vars: list of (gradient Tensor or IndexedSlices, variable), gradients of a mean loss.
    num_steps: k, micro-batches per update (>= 1).

  Returns:
    (mean_grads_and_vars, is_update_step, reset):
      mean_grads_and_vars: list of (accumulated sum / k, variable), read after this step's additions;
      is_update_step: bool scalar, true on every k-th call;
      reset: function(after_ops) -> op zeroing the accumulators on update steps, run after `after_ops`.
  """
  with tf1.variable_scope(SCOPE, reuse=tf1.AUTO_REUSE):
    counter = tf1.get_variable("micro_step", shape=[], dtype=tf.int64, trainable=False,
                               initializer=tf1.zeros_initializer())
  accumulators = []
  for grad, var in grads_and_vars:
    with tf1.variable_scope(SCOPE, reuse=tf1.AUTO_REUSE):
      accumulators.append(tf1.get_variable(_base_name(var) + "/accumulated_gradient",
                                           shape=var.shape, dtype=tf.float32, trainable=False,
                                           initializer=tf1.zeros_initializer()))
  additions = [acc.assign_add(tf.cast(tf.convert_to_tensor(grad), tf.float32))
               for acc, (grad, _) in zip(accumulators, grads_and_vars)]
  next_counter = counter.assign_add(1)
  with tf.control_dependencies(additions + [next_counter]):
    is_update_step = tf.equal(next_counter % num_steps, 0)
    mean_grads_and_vars = [(tf.cast(acc.read_value(), var.dtype.base_dtype) / float(num_steps), var)
                           for acc, (_, var) in zip(accumulators, grads_and_vars)]

  def reset(after_ops):
    with tf.control_dependencies(list(after_ops)):
      return tf.group(*[acc.assign(tf.where(is_update_step, tf.zeros_like(acc), acc)) for acc in accumulators])

  return mean_grads_and_vars, is_update_step, reset
