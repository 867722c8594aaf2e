"""Mixed precision (--precision {fp32,bf16,fp16}) for the BERT model (--use_xla: estimator_utils.xla_scope).

Variables, optimizer slots and checkpoints always stay float32; `BertModel(compute_type=...)` runs the
encoder's matmuls in the reduced type. bf16 has float32's exponent range and needs nothing else. fp16 has a
narrow range, so small gradients would flush to zero: the loss is multiplied by a loss scale before
differentiation and the gradients divided by it; a step whose gradients are not finite is skipped and the
scale halved, and after `growth_interval` finite steps in a row it is doubled (dynamic loss scaling).
"""
import tensorflow as tf

tf1 = tf.compat.v1

COMPUTE_TYPES = {"fp32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}
SCOPE = "loss_scale"


def compute_type(precision):
  """The tf.DType for BertModel(compute_type=...) for a --precision value ('fp32', 'bf16', 'fp16')."""
  return COMPUTE_TYPES[precision]


def loss_scale_for(precision, **kwargs):
  """A DynamicLossScale for fp16, None for fp32/bf16 (kwargs go to DynamicLossScale)."""
  return DynamicLossScale(**kwargs) if precision == "fp16" else None


def all_finite(grads):
  """True when every gradient is free of inf/NaN (scalar bool Tensor)."""
  checks = [tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(g))) for g in grads if g is not None]
  return tf.reduce_all(tf.stack(checks)) if checks else tf.constant(True)


class DynamicLossScale(object):
  """Loss scale that adapts to overflow: halved on non-finite gradients, doubled after a run of good steps.

  The state lives in two non-trainable variables under `loss_scale/` (kept in checkpoints, so a resumed run
  keeps its scale).
  """

  def __init__(self, initial_scale=2.0 ** 15, growth_interval=2000, factor=2.0, min_scale=1.0):
    """Args:
      initial_scale: starting loss scale.
      growth_interval: finite steps in a row before the scale grows.
      factor: multiplier for growing / divisor for shrinking.
      min_scale: the scale never goes below this.
    """
    self.initial_scale = float(initial_scale)
    self.growth_interval = int(growth_interval)
    self.factor = float(factor)
    self.min_scale = float(min_scale)
    self._scale = None
    self._good_steps = None

  def _variables(self):
    if self._scale is None:
      with tf1.variable_scope(SCOPE, reuse=tf1.AUTO_REUSE):
        self._scale = tf1.get_variable("scale", shape=[], dtype=tf.float32, trainable=False,
                                       initializer=tf1.constant_initializer(self.initial_scale))
        self._good_steps = tf1.get_variable("good_steps", shape=[], dtype=tf.int64, trainable=False,
                                            initializer=tf1.zeros_initializer())
    return self._scale, self._good_steps

  @property
  def scale(self):
    """The current loss scale (float32 scalar)."""
    return tf.convert_to_tensor(self._variables()[0])

  def scale_loss(self, loss):
    """loss * scale (differentiate this)."""
    return loss * tf.cast(self.scale, loss.dtype)

  def unscale(self, grads):
    """Divides each gradient (Tensor or IndexedSlices; None kept) by the scale used for this step."""
    inverse = 1.0 / self.scale
    unscaled = []
    for grad in grads:
      if grad is None:
        unscaled.append(None)
      elif isinstance(grad, tf.IndexedSlices):
        unscaled.append(tf.IndexedSlices(grad.values * tf.cast(inverse, grad.values.dtype), grad.indices,
                                         grad.dense_shape))
      else:
        unscaled.append(grad * tf.cast(inverse, grad.dtype))
    return unscaled

  def update(self, finite):
    """Adjusts the scale after a step whose gradients were `finite` (bool scalar); returns the op."""
    scale, good_steps = self._variables()
    grow = tf.logical_and(finite, good_steps + 1 >= self.growth_interval)
    new_scale = tf.where(finite, tf.where(grow, scale * self.factor, scale),
                         tf.maximum(scale / self.factor, self.min_scale))
    new_good = tf.where(finite, tf.where(grow, tf.zeros_like(good_steps), good_steps + 1),
                        tf.zeros_like(good_steps))
    return tf.group(scale.assign(new_scale), good_steps.assign(new_good))
