"""The pretraining model_fn: BERT with the masked-LM and next-sentence heads (Google's run_pretraining).

Train: loss = masked-LM loss + next-sentence loss (masked-LM only with no_nsp), Google's optimizer through
`estimator_utils.build_train_op`, progress logged every `log_every_n_steps`.
Eval: masked_lm_accuracy, masked_lm_loss, next_sentence_accuracy, next_sentence_loss.
Predict: masked-LM log-probabilities and predicted ids per masked position (and next-sentence
log-probabilities), e.g. for inspecting a checkpoint.
"""
import tensorflow as tf

from bert import estimator_utils
from bert import modeling
from bert import optimization

tf1 = tf.compat.v1

COMPUTE_TYPES = {"fp32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}


def masked_lm_accuracy(log_probs, label_ids, label_weights):
  """Weighted accuracy of the masked-LM predictions of one batch (padding predictions have weight 0).

  Args:
    log_probs: [batch*max_predictions, vocab] log-probabilities.
    label_ids: [batch, max_predictions] original ids.
    label_weights: [batch, max_predictions] 1.0 for real predictions.

  Returns:
    Scalar float32.
  """
  predictions = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
  labels = tf.reshape(tf.cast(label_ids, tf.int32), [-1])
  weights = tf.reshape(tf.cast(label_weights, tf.float32), [-1])
  correct = tf.cast(tf.equal(predictions, labels), tf.float32)
  return tf.reduce_sum(correct * weights) / tf.maximum(tf.reduce_sum(weights), 1e-5)


def metric_fn(masked_lm_example_loss, masked_lm_log_probs, masked_lm_ids, masked_lm_weights,
              next_sentence_example_loss=None, next_sentence_log_probs=None, next_sentence_labels=None):
  """Eval metrics (Google's names); the next-sentence ones only when the model has that head."""
  masked_lm_log_probs = tf.reshape(masked_lm_log_probs, [-1, masked_lm_log_probs.shape[-1]])
  masked_lm_predictions = tf.argmax(masked_lm_log_probs, axis=-1, output_type=tf.int32)
  masked_lm_ids = tf.reshape(masked_lm_ids, [-1])
  masked_lm_weights = tf.reshape(masked_lm_weights, [-1])
  metrics = {
      "masked_lm_accuracy": tf1.metrics.accuracy(labels=masked_lm_ids, predictions=masked_lm_predictions,
                                                 weights=masked_lm_weights),
      "masked_lm_loss": tf1.metrics.mean(values=tf.reshape(masked_lm_example_loss, [-1]),
                                         weights=masked_lm_weights),
  }
  if next_sentence_labels is not None:
    next_sentence_predictions = tf.argmax(next_sentence_log_probs, axis=-1, output_type=tf.int32)
    metrics["next_sentence_accuracy"] = tf1.metrics.accuracy(labels=tf.reshape(next_sentence_labels, [-1]),
                                                             predictions=next_sentence_predictions)
    metrics["next_sentence_loss"] = tf1.metrics.mean(values=next_sentence_example_loss)
  return metrics


def model_fn_builder(bert_config, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps, options,
                     output_dir, no_nsp=False, use_one_hot_embeddings=None):
  """Returns the TPUEstimator model_fn for pretraining.

  Args:
    bert_config: BertConfig.
    init_checkpoint: checkpoint to start from (None: random init); vocab may be extended (see
      estimator_utils.init_from_checkpoint).
    learning_rate: peak learning rate.
    num_train_steps: total training steps (end of the decay).
    num_warmup_steps: warmup steps.
    options: RunOptions.
    output_dir: model directory (progress summaries).
    no_nsp: train and evaluate without the next-sentence head.
    use_one_hot_embeddings: one-hot embedding lookup (default: on TPU, as Google's script).

  Returns:
    model_fn(features, labels, mode, params).
  """
  if use_one_hot_embeddings is None:
    use_one_hot_embeddings = options.use_tpu

  def model_fn(features, labels, mode, params):
    del labels
    is_training = mode == tf.estimator.ModeKeys.TRAIN
    with estimator_utils.xla_scope(options):
      model = modeling.BertModel(
          config=bert_config,
          is_training=is_training,
          input_ids=features["input_ids"],
          input_mask=features["input_mask"],
          token_type_ids=features["segment_ids"],
          use_one_hot_embeddings=use_one_hot_embeddings,
          compute_type=COMPUTE_TYPES[options.precision])
      (masked_lm_loss, masked_lm_example_loss, masked_lm_log_probs) = modeling.get_masked_lm_output(
          bert_config, model.get_sequence_output(), model.get_embedding_table(), features["masked_lm_positions"],
          features["masked_lm_ids"], features["masked_lm_weights"])
      total_loss = masked_lm_loss
      next_sentence = None
      if not no_nsp:
        next_sentence = modeling.get_next_sentence_output(bert_config, model.get_pooled_output(),
                                                          features["next_sentence_labels"])
        total_loss += next_sentence[0]

    scaffold_fn = estimator_utils.init_from_checkpoint(init_checkpoint, options.use_tpu)

    if mode == tf.estimator.ModeKeys.TRAIN:
      train_op = estimator_utils.build_train_op(total_loss, options, learning_rate, num_train_steps,
                                                num_warmup_steps)
      with tf.control_dependencies([train_op]):
        step = tf.identity(tf1.train.get_global_step())
      scalars = {"loss": total_loss, "masked_lm_loss": masked_lm_loss,
                 "masked_lm_accuracy": masked_lm_accuracy(masked_lm_log_probs, features["masked_lm_ids"],
                                                          features["masked_lm_weights"])}
      if next_sentence is not None:
        scalars["next_sentence_loss"] = next_sentence[0]
      # The rate the update just applied used: the schedule at the step before the increment.
      scalars["learning_rate"] = optimization.learning_rate_schedule(learning_rate, step - 1, num_train_steps,
                                                                     num_warmup_steps)
      if "batch_size" in params:
        examples_per_step = params["batch_size"] * _num_shards(options)
      else:
        # Under tf.distribute (--num_gpus, TF_CONFIG) TPUEstimator passes no batch size to the per-replica
        # model_fn: each replica reads its own batch.
        examples_per_step = (modeling.get_shape_list(features["input_ids"])[0] *
                             tf.distribute.get_strategy().num_replicas_in_sync)
      # With gradient accumulation one global step consumes several micro-batches.
      examples_per_step *= options.gradient_accumulation_steps
      host_call = estimator_utils.training_host_call(output_dir, step, scalars, examples_per_step,
                                                     options.log_every_n_steps, num_train_steps)
      return tf1.estimator.tpu.TPUEstimatorSpec(mode=mode, loss=total_loss, train_op=train_op,
                                                host_call=host_call, scaffold_fn=scaffold_fn)

    if mode == tf.estimator.ModeKeys.EVAL:
      metric_tensors = {"masked_lm_example_loss": masked_lm_example_loss,
                        "masked_lm_log_probs": masked_lm_log_probs, "masked_lm_ids": features["masked_lm_ids"],
                        "masked_lm_weights": features["masked_lm_weights"]}
      if next_sentence is not None:
        metric_tensors.update(next_sentence_example_loss=next_sentence[1],
                              next_sentence_log_probs=next_sentence[2],
                              next_sentence_labels=features["next_sentence_labels"])
      return tf1.estimator.tpu.TPUEstimatorSpec(mode=mode, loss=total_loss,
                                                eval_metrics=(metric_fn, metric_tensors), scaffold_fn=scaffold_fn)

    max_predictions = modeling.get_shape_list(features["masked_lm_positions"])[1]
    log_probs = tf.reshape(masked_lm_log_probs, [-1, max_predictions, bert_config.vocab_size])
    predictions = {"masked_lm_log_probs": log_probs,
                   "masked_lm_predictions": tf.argmax(log_probs, axis=-1, output_type=tf.int32)}
    if next_sentence is not None:
      predictions["next_sentence_log_probs"] = next_sentence[2]
    return tf1.estimator.tpu.TPUEstimatorSpec(mode=mode, predictions=predictions, scaffold_fn=scaffold_fn)

  return model_fn


def _num_shards(options):
  """On TPU params['batch_size'] is per core; elsewhere it is the global batch."""
  return options.num_tpu_cores if options.use_tpu else 1


def format_eval_results(result):
  """Google's eval_results.txt format: 'key = value' lines, sorted by key."""
  return "".join("%s = %s\n" % (key, result[key]) for key in sorted(result))
