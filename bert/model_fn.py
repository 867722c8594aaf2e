"""The model_fn every stage trains through: one skeleton, each stage supplying only its forward pass.

Pretraining, classification, reading comprehension and sentence embedding differ in their heads, losses,
metrics and predictions; everything around them is the same and lives here once: the compute type (mixed
precision), the XLA scope, the checkpoint initialisation, the train op, and the progress line with its scalars
(loss, the stage's own scalars, the learning rate the update used, examples/s) written by one host_call.

A stage is a function `forward(features, mode, encoder)` returning `StageOutputs`:
- `encoder` (EncoderSettings) says how to build the BertModel: is_training (dropout), compute_type and
  use_one_hot_embeddings;
- `loss` is the scalar to minimise (None where the mode has no labels);
- `scalars` are extra training scalars for the progress line, in the order they are shown: tensors already
  computed for the loss, or callables that build a metric (e.g. an accuracy's argmax), which the skeleton
  builds inside a tf.cond so that it runs only on the steps that are logged;
- `eval_metrics` is TPUEstimator's (metric_fn, tensors) pair, or None when the stage has no EVAL mode;
- `predictions` is the PREDICT dict, or None when the stage has no PREDICT mode.
"""
import collections

import tensorflow as tf

from bert import checkpoints
from bert import estimator_utils
from bert import mixed_precision
from bert import optimization
from bert import progress

tf1 = tf.compat.v1

EncoderSettings = collections.namedtuple("EncoderSettings", ["is_training", "compute_type", "use_one_hot_embeddings"])


class StageOutputs(collections.namedtuple("StageOutputs", ["loss", "scalars", "eval_metrics", "predictions"])):
  """What a stage's forward pass returns (see the module docstring)."""

  def __new__(cls, loss=None, scalars=None, eval_metrics=None, predictions=None):
    return super().__new__(cls, loss, scalars or {}, eval_metrics, predictions)


def build_model_fn(forward, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps, options,
                   output_dir=None, use_one_hot_embeddings=None, stage="this stage"):
  """Returns a TPUEstimator model_fn around a stage's forward pass.

  Args:
    forward: forward(features, mode, encoder) -> StageOutputs.
    init_checkpoint: checkpoint to start from (None: random initialisation); the vocabulary may be extended
      (checkpoints.init_from_checkpoint).
    learning_rate, num_train_steps, num_warmup_steps: Google's schedule (estimator_utils.build_train_op).
    options: estimator_utils.RunOptions (TPU, precision, XLA, optimizer, accumulation, logging).
    output_dir: where the training progress summaries go (None: no progress host_call).
    use_one_hot_embeddings: one-hot embedding lookup (default: on TPU, as in Google's scripts).
    stage: the stage's name, for the error a mode it lacks raises.

  Returns:
    model_fn(features, labels, mode, params).
  """
  if use_one_hot_embeddings is None:
    use_one_hot_embeddings = options.use_tpu
  compute_type = mixed_precision.compute_type(options.precision)

  def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
    encoder = EncoderSettings(mode == tf.estimator.ModeKeys.TRAIN, compute_type, use_one_hot_embeddings)
    # One XLA scope for the forward pass, its gradients and the optimizer's update, so that --use_xla fuses
    # the update's elementwise ops (a dozen passes over every variable) as well as the model's.
    with estimator_utils.xla_scope(options):
      outputs = forward(features, mode, encoder)
      if mode == tf.estimator.ModeKeys.TRAIN:
        train_op = estimator_utils.build_train_op(outputs.loss, options, learning_rate, num_train_steps,
                                                  num_warmup_steps)
    scaffold_fn = checkpoints.init_from_checkpoint(init_checkpoint, options.use_tpu)

    if mode == tf.estimator.ModeKeys.TRAIN:
      host_call = None
      if output_dir:
        host_call = _progress_host_call(outputs, train_op, features, params, options, output_dir, learning_rate,
                                        num_train_steps, num_warmup_steps)
      return tf1.estimator.tpu.TPUEstimatorSpec(mode=mode, loss=outputs.loss, train_op=train_op,
                                                host_call=host_call, scaffold_fn=scaffold_fn)
    if mode == tf.estimator.ModeKeys.EVAL and outputs.eval_metrics is not None:
      return tf1.estimator.tpu.TPUEstimatorSpec(mode=mode, loss=outputs.loss, eval_metrics=outputs.eval_metrics,
                                                scaffold_fn=scaffold_fn)
    if mode == tf.estimator.ModeKeys.PREDICT and outputs.predictions is not None:
      return tf1.estimator.tpu.TPUEstimatorSpec(mode=mode, predictions=outputs.predictions,
                                                scaffold_fn=scaffold_fn)
    raise ValueError("%s has no %s mode" % (stage, mode))

  return model_fn


def _progress_host_call(outputs, train_op, features, params, options, output_dir, learning_rate, num_train_steps,
                        num_warmup_steps):
  """The host_call of the progress line: loss, the stage's scalars, the learning rate and examples/s."""
  with tf.control_dependencies([train_op]):
    step = tf.identity(tf1.train.get_global_step())
  scalars = collections.OrderedDict([("loss", outputs.loss)])
  scalars.update(outputs.scalars)
  # The rate the update just applied used: the schedule at the step before the increment.
  scalars["learning_rate"] = lambda: optimization.learning_rate_schedule(learning_rate, step - 1, num_train_steps,
                                                                         num_warmup_steps)
  scalars = progress.only_on_logging_steps(scalars, step, options.log_every_n_steps)
  if options.use_tpu:
    step, scalars = progress.held_until_outfed(step, scalars, options.log_every_n_steps)
  batch_tensor = features[sorted(name for name in features if name.startswith("input_ids"))[0]]
  return progress.training_host_call(
      output_dir, step, scalars, progress.examples_per_step(params, options, batch_tensor),
      options.log_every_n_steps, num_train_steps)

