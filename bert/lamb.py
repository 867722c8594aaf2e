"""LAMB optimizer (You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes").

Adam moments with bias correction and decoupled weight decay, then a per-variable trust ratio
||w|| / ||update|| that scales the step, which keeps very large batches (tens of thousands of examples)
stable where Adam diverges. Like `bert.optimization.AdamWeightDecayOptimizer` it is a regular
`tf.compat.v1.train.Optimizer` (slots `<variable>/adam_m`, `<variable>/adam_v`, so checkpoints keep
Google's slot names and either optimizer can resume the other's run), usable on TPU through
CrossShardOptimizer and under tf.distribute.

Per variable w with gradient g at step t (1-based):
  m <- beta_1 m + (1 - beta_1) g              m_hat = m / (1 - beta_1^t)
  v <- beta_2 v + (1 - beta_2) g^2            v_hat = v / (1 - beta_2^t)
  u = m_hat / (sqrt(v_hat) + epsilon) + weight_decay_rate w          (no decay for excluded names)
  r = ||w|| / ||u|| if both norms are > 0, else 1                     (1 for excluded names)
  w <- w - lr r u
"""
import tensorflow as tf

from bert import modeling
from bert import optimization

tf1 = tf.compat.v1

STEP_VARIABLE_NAME = "lamb_step"


class LAMBOptimizer(optimization.AdamWeightDecayOptimizer):
  """Layer-wise adaptive moments optimizer for large-batch BERT pretraining.

  AdamWeightDecayOptimizer's slots, weight-decay rule and dense/sparse apply dispatch, with two changes: the
  moments are bias-corrected (a step counter shared by all weights) and each variable's update is scaled by
  its trust ratio.
  """

  def __init__(self, learning_rate, weight_decay_rate=0.01, exclude_from_weight_decay=None,
               exclude_from_layer_adaptation=None, name="LAMBOptimizer", **adam_args):
    """Constructs the optimizer.

    Args:
      learning_rate, weight_decay_rate, exclude_from_weight_decay, name, **adam_args (beta_1, beta_2,
        epsilon): as AdamWeightDecayOptimizer (epsilon is added to sqrt(v_hat)).
      exclude_from_layer_adaptation: regular expressions; matching variables use trust ratio 1. Defaults
        to `exclude_from_weight_decay` (LayerNorm and biases are not layer-adapted, as in the paper's code).
    """
    super(LAMBOptimizer, self).__init__(learning_rate, weight_decay_rate=weight_decay_rate,
                                        exclude_from_weight_decay=list(exclude_from_weight_decay or []),
                                        name=name, **adam_args)
    if exclude_from_layer_adaptation is None:
      exclude_from_layer_adaptation = self.exclude_from_weight_decay
    self.exclude_from_layer_adaptation = list(exclude_from_layer_adaptation)

  def _create_slots(self, var_list):
    super(LAMBOptimizer, self)._create_slots(var_list)
    first_var = min(var_list, key=lambda var: var.name)
    # The step counter (for bias correction) is one variable for all weights, like Adam's beta powers.
    self._create_non_slot_variable(initial_value=0.0, name=STEP_VARIABLE_NAME, colocate_with=first_var)

  def _step_variable(self):
    if tf.executing_eagerly():
      return self._get_non_slot_variable(STEP_VARIABLE_NAME, graph=None)
    # Inside a control-flow branch (conditional update) the default graph is the branch's function graph;
    # the counter belongs to the outermost graph.
    graph = tf1.get_default_graph()
    while getattr(graph, "outer_graph", None) is not None:
      graph = graph.outer_graph
    return self._get_non_slot_variable(STEP_VARIABLE_NAME, graph=graph)

  def _decayed_update(self, grad, var):
    """LAMB's update of one variable from a dense gradient; returns the grouped assign ops."""
    var_dtype = var.dtype.base_dtype
    grad = tf.cast(grad, var_dtype)
    learning_rate = tf.cast(self._learning_rate_tensor, var_dtype)
    step = tf.cast(self._step_variable(), var_dtype) + 1.0
    m = self.get_slot(var, "adam_m")
    v = self.get_slot(var, "adam_v")

    next_m = self.beta_1 * m + (1.0 - self.beta_1) * grad
    next_v = self.beta_2 * v + (1.0 - self.beta_2) * tf.square(grad)
    m_hat = next_m / (1.0 - tf.pow(tf.cast(self.beta_1, var_dtype), step))
    v_hat = next_v / (1.0 - tf.pow(tf.cast(self.beta_2, var_dtype), step))
    update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
    name = modeling.variable_name(var)
    if self._do_use_weight_decay(name):
      update += self.weight_decay_rate * var
    ratio = 1.0
    if not optimization.matches_any(name, self.exclude_from_layer_adaptation):
      weight_norm = tf.norm(var, ord=2)
      update_norm = tf.norm(update, ord=2)
      ratio = tf.where(tf.logical_and(weight_norm > 0.0, update_norm > 0.0),
                       weight_norm / tf.maximum(update_norm, 1e-30), tf.ones_like(weight_norm))
    next_var = var - learning_rate * ratio * update
    return tf.group(var.assign(next_var), m.assign(next_m), v.assign(next_v))

  def _finish(self, update_ops, name_scope):
    with tf.control_dependencies(update_ops):
      step = self._step_variable()
      with tf1.colocate_with(step):
        increment = step.assign_add(1.0, use_locking=self._use_locking)
    return tf.group(*(list(update_ops) + [increment]), name=name_scope)
