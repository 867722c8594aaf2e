"""BERT's optimizer: Adam with decoupled weight decay, warm-up then linear decay, gradient clipping.

Semantics are Google's `optimization.py`, so training curves and resumed checkpoints match theirs:
  * learning rate: linear warm-up from 0 to `init_lr` over `num_warmup_steps`, otherwise
    `init_lr * (1 - step / num_train_steps)` (polynomial decay of power 1 to 0, counted from step 0);
  * gradients clipped to global norm 1.0;
  * Adam without bias correction (beta_1 0.9, beta_2 0.999, epsilon 1e-6) plus decoupled weight decay 0.01,
    except for variables whose names contain "LayerNorm", "layer_norm" or "bias";
  * optimizer slots named `<variable>/adam_m` and `<variable>/adam_v`; `global_step` incremented per update.

The pieces are separate functions (`learning_rate_schedule`, `make_optimizer`, `clip_gradients`,
`apply_gradients`) so callers can change one of them (another optimizer, accumulated or loss-scaled gradients)
and reuse the rest. `AdamWeightDecayOptimizer` is a regular `tf.compat.v1.train.Optimizer`, so it also works
under `tf.distribute` strategies (gradients are all-reduced by the base class) and with dense or sparse
(embedding) gradients.
"""
import re

import tensorflow as tf

from bert import modeling

tf1 = tf.compat.v1

# Names of variables that are not weight-decayed (substring or regular-expression match).
DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
DEFAULT_WEIGHT_DECAY_RATE = 0.01
DEFAULT_CLIP_NORM = 1.0


def create_optimizer(loss, init_lr, num_train_steps, num_warmup_steps, use_tpu, optimizer_name="adamw",
                     gradient_accumulation_steps=1, loss_scale=None):
  """Builds the training op for `loss` with Google's BERT recipe.

  Args:
    loss: scalar float Tensor to minimise.
    init_lr: peak learning rate.
    num_train_steps: total steps; the learning rate reaches 0 here.
    num_warmup_steps: steps of linear warm-up (0 or None: none).
    use_tpu: wrap the optimizer in CrossShardOptimizer so gradients are summed over TPU cores.
    optimizer_name: "adamw" (Google's) or "lamb" (bert.lamb.LAMBOptimizer).
    gradient_accumulation_steps: micro-batches per update (bert.gradient_accumulation); the global step
      and the schedule then count updates.
    loss_scale: bert.mixed_precision.DynamicLossScale for fp16, or None.

  Returns:
    The train op (updates all trainable variables and increments the global step).
  """
  global_step = tf1.train.get_or_create_global_step()
  learning_rate = learning_rate_schedule(init_lr, global_step, num_train_steps, num_warmup_steps)
  from bert import distribution  # pylint: disable=import-outside-toplevel
  if (optimizer_name != "adamw" or gradient_accumulation_steps > 1 or loss_scale is not None or
      distribution.in_multi_replica_context()):
    # LAMB, accumulation, loss scaling and tf.distribute replicas go through bert.distribution, which
    # averages over replicas and makes the update conditional where needed.
    optimizer = make_optimizer(learning_rate, use_tpu, optimizer_name=optimizer_name)
    tvars = tf1.trainable_variables()
    grads = tf.gradients(loss if loss_scale is None else loss_scale.scale_loss(loss), tvars)
    if loss_scale is not None:
      grads = loss_scale.unscale(grads)
    return distribution.apply_gradients(optimizer, list(zip(grads, tvars)), global_step=global_step,
                                        clip_norm=DEFAULT_CLIP_NORM,
                                        accumulation_steps=gradient_accumulation_steps, loss_scale=loss_scale)
  optimizer = make_optimizer(learning_rate, use_tpu)
  tvars = tf1.trainable_variables()
  grads = tf.gradients(loss, tvars)
  grads = clip_gradients(grads)
  return apply_gradients(optimizer, grads, tvars, global_step)


def learning_rate_schedule(init_lr, global_step, num_train_steps, num_warmup_steps):
  """Linear warm-up to `init_lr`, then linear decay to 0 at `num_train_steps` (Google's schedule).

  After warm-up the rate is that of a linear decay started at step 0 (as in Google's code), i.e.
  `init_lr * (1 - step / num_train_steps)`, not a decay restarted at the end of warm-up.

  Args:
    init_lr: peak learning rate (Python float).
    global_step: integer step Tensor.
    num_train_steps: step at which the rate reaches 0 (it stays 0 afterwards).
    num_warmup_steps: warm-up length in steps; 0 or None for no warm-up.

  Returns:
    Scalar float32 learning-rate Tensor.
  """
  step = tf.cast(global_step, tf.float32)
  decayed = tf1.train.polynomial_decay(
      tf.constant(init_lr, dtype=tf.float32), global_step, num_train_steps, end_learning_rate=0.0, power=1.0,
      cycle=False)
  if not num_warmup_steps:
    return decayed
  warmup_steps = float(num_warmup_steps)
  warmup = init_lr * step / warmup_steps
  in_warmup = tf.cast(step < warmup_steps, tf.float32)
  return in_warmup * warmup + (1.0 - in_warmup) * decayed


def make_optimizer(learning_rate, use_tpu=False, weight_decay_rate=DEFAULT_WEIGHT_DECAY_RATE,
                   optimizer_name="adamw"):
  """Returns BERT's AdamWeightDecayOptimizer, or LAMB (cross-shard on TPU).

  Args:
    learning_rate: float or scalar Tensor.
    use_tpu: wrap in `tf.compat.v1.tpu.CrossShardOptimizer`.
    weight_decay_rate: decoupled weight decay factor.
    optimizer_name: "adamw" or "lamb" (bert.lamb.LAMBOptimizer, same decay and exclusions).

  Returns:
    A tf.compat.v1.train.Optimizer.
  """
  if optimizer_name == "lamb":
    from bert import lamb  # pylint: disable=import-outside-toplevel
    optimizer = lamb.LAMBOptimizer(learning_rate=learning_rate, weight_decay_rate=weight_decay_rate,
                                   exclude_from_weight_decay=list(DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY))
    return tf1.tpu.CrossShardOptimizer(optimizer) if use_tpu else optimizer
  optimizer = AdamWeightDecayOptimizer(
      learning_rate=learning_rate,
      weight_decay_rate=weight_decay_rate,
      beta_1=0.9,
      beta_2=0.999,
      epsilon=1e-6,
      exclude_from_weight_decay=list(DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY))
  if use_tpu:
    optimizer = tf1.tpu.CrossShardOptimizer(optimizer)
  return optimizer


def clip_gradients(grads, clip_norm=DEFAULT_CLIP_NORM):
  """Scales gradients down so that their global norm is at most `clip_norm` (None entries are kept).

  Args:
    grads: list of gradient Tensors/IndexedSlices (or None).
    clip_norm: maximum global norm.

  Returns:
    The list of clipped gradients.
  """
  clipped, _ = tf.clip_by_global_norm(grads, clip_norm=clip_norm)
  return clipped


def apply_gradients(optimizer, grads, tvars, global_step):
  """Applies gradients and increments `global_step` once the updates are done.

  Args:
    optimizer: a tf.compat.v1.train.Optimizer.
    grads: list of gradients matching `tvars` (None entries are skipped).
    tvars: the variables.
    global_step: the step variable.

  Returns:
    The train op.
  """
  grads_and_vars = [(grad, var) for grad, var in zip(grads, tvars) if grad is not None]
  return optimizer.apply_gradients(grads_and_vars, global_step=global_step)


class AdamWeightDecayOptimizer(tf1.train.Optimizer):
  """Adam without bias correction, with weight decay applied to the update (not through the loss).

  Per variable w with gradient g:
    m <- beta_1 m + (1 - beta_1) g
    v <- beta_2 v + (1 - beta_2) g^2
    w <- w - lr (m / (sqrt(v) + epsilon) + weight_decay_rate w)      (no decay for excluded names)

  Adding `w^2` to the loss would interact with m and v; decaying in the update keeps the two separate
  (Loshchilov & Hutter, "Decoupled Weight Decay Regularization").
  """

  def __init__(self,
               learning_rate,
               weight_decay_rate=0.0,
               beta_1=0.9,
               beta_2=0.999,
               epsilon=1e-6,
               exclude_from_weight_decay=None,
               name="AdamWeightDecayOptimizer"):
    """Constructs the optimizer.

    Args:
      learning_rate: float or scalar Tensor.
      weight_decay_rate: decoupled weight decay factor.
      beta_1: decay of the first-moment estimate.
      beta_2: decay of the second-moment estimate.
      epsilon: added to sqrt(v) for stability.
      exclude_from_weight_decay: list of patterns; variables whose name matches one (re.search) are not
        decayed.
      name: name of the optimizer's ops.
    """
    super(AdamWeightDecayOptimizer, self).__init__(use_locking=False, name=name)
    self.learning_rate = learning_rate
    self.weight_decay_rate = weight_decay_rate
    self.beta_1 = beta_1
    self.beta_2 = beta_2
    self.epsilon = epsilon
    self.exclude_from_weight_decay = exclude_from_weight_decay

  def _create_slots(self, var_list):
    # The slot op names become "<variable>/adam_m" and "<variable>/adam_v", the names in Google's
    # checkpoints, so pretraining can resume from (and be resumed by) Google's code.
    for var in var_list:
      self._zeros_slot(var, "adam_m", "adam_m")
      self._zeros_slot(var, "adam_v", "adam_v")

  def _prepare(self):
    self._learning_rate_tensor = tf.convert_to_tensor(self.learning_rate, name="learning_rate")

  def _decayed_update(self, grad, var):
    """Builds the update of one variable from a dense gradient; returns the grouped assign ops."""
    var_dtype = var.dtype.base_dtype
    grad = tf.cast(grad, var_dtype)
    learning_rate = tf.cast(self._learning_rate_tensor, var_dtype)
    m = self.get_slot(var, "adam_m")
    v = self.get_slot(var, "adam_v")

    next_m = self.beta_1 * m + (1.0 - self.beta_1) * grad
    next_v = self.beta_2 * v + (1.0 - self.beta_2) * tf.square(grad)
    update = next_m / (tf.sqrt(next_v) + self.epsilon)
    if self._do_use_weight_decay(modeling.variable_name(var)):
      update += self.weight_decay_rate * var
    next_var = var - learning_rate * update
    return tf.group(var.assign(next_var), m.assign(next_m), v.assign(next_v))

  def _apply_dense(self, grad, var):
    return self._decayed_update(grad, var)

  def _resource_apply_dense(self, grad, handle):
    # Not TensorFlow's fused ResourceApplyAdam (tried): it computes 1 - beta_2 in float32 (0.00099998713, not
    # 0.001) and did not give the same weights under tf.distribute as on one device.
    return self._decayed_update(grad, handle)

  def _apply_sparse(self, grad, var):
    # Google's optimizer decays m and v of every row at every step, so a sparse (embedding) gradient is
    # densified rather than updating only the touched rows.
    dense = tf.math.unsorted_segment_sum(grad.values, grad.indices, tf.shape(var)[0])
    return self._decayed_update(dense, var)

  def _resource_apply_sparse(self, grad, handle, indices):
    dense = tf.math.unsorted_segment_sum(grad, indices, tf.shape(handle)[0])
    return self._decayed_update(dense, handle)

  def _do_use_weight_decay(self, param_name):
    """Whether the variable called `param_name` is weight-decayed."""
    return bool(self.weight_decay_rate) and not matches_any(param_name, self.exclude_from_weight_decay or ())


def matches_any(name, patterns):
  """True when one of the regular expressions `patterns` matches somewhere in `name` (re.search)."""
  return any(re.search(pattern, name) is not None for pattern in patterns)
