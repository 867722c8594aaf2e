"""The pretraining model_fn: BERT with the masked-LM and next-sentence heads (Google's run_pretraining).

Train: loss = masked-LM loss + next-sentence loss (masked-LM only with no_nsp), Google's optimizer through
`estimator_utils.build_train_op`, progress logged every `log_every_n_steps`.
Eval: masked_lm_accuracy, masked_lm_loss, next_sentence_accuracy, next_sentence_loss.
Predict: masked-LM log-probabilities and predicted ids per masked position (and next-sentence
log-probabilities), e.g. for inspecting a checkpoint.
"""
import tensorflow as tf

from bert import model_fn as model_fn_lib
from bert import modeling

tf1 = tf.compat.v1


def masked_lm_accuracy(log_probs, label_ids, label_weights):
  """Weighted accuracy of the masked-LM predictions of one batch (padding predictions have weight 0).

  Args:
    log_probs: [batch*max_predictions, vocab] log-probabilities (or the logits: the argmax is the same).
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
  """Returns the TPUEstimator model_fn for pretraining (bert.model_fn's skeleton around `forward`).

  Args:
    bert_config: BertConfig.
    init_checkpoint: checkpoint to start from (None: random init); vocab may be extended (see
      checkpoints.init_from_checkpoint).
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

  def forward(features, mode, encoder):
    model = modeling.BertModel(
        config=bert_config,
        is_training=encoder.is_training,
        input_ids=features["input_ids"],
        input_mask=features["input_mask"],
        token_type_ids=features["segment_ids"],
        use_one_hot_embeddings=encoder.use_one_hot_embeddings,
        compute_type=encoder.compute_type,
        # The heads read only the masked positions and [CLS]: the last layer computes only those rows.
        sequence_output_positions=features["masked_lm_positions"])
    masked_lm_logits = modeling.get_masked_lm_logits(bert_config, model.get_sequence_output(),
                                                     model.get_embedding_table(), positions=None)
    masked_lm_loss, masked_lm_example_loss = modeling.masked_lm_loss(
        masked_lm_logits, features["masked_lm_ids"], features["masked_lm_weights"])
    total_loss = masked_lm_loss
    next_sentence = None
    if not no_nsp:
      next_sentence = modeling.get_next_sentence_output(bert_config, model.get_pooled_output(),
                                                        features["next_sentence_labels"])
      total_loss += next_sentence[0]

    if mode == tf.estimator.ModeKeys.TRAIN:
      scalars = {"masked_lm_loss": masked_lm_loss,
                 # A callable: built only on logged steps (bert.progress.only_on_logging_steps).
                 "masked_lm_accuracy": lambda: masked_lm_accuracy(masked_lm_logits, features["masked_lm_ids"],
                                                                  features["masked_lm_weights"])}
      if next_sentence is not None:
        scalars["next_sentence_loss"] = next_sentence[0]
      return model_fn_lib.StageOutputs(loss=total_loss, scalars=scalars)

    masked_lm_log_probs = tf.nn.log_softmax(masked_lm_logits, axis=-1)
    if mode == tf.estimator.ModeKeys.EVAL:
      metric_tensors = {"masked_lm_example_loss": masked_lm_example_loss,
                        "masked_lm_log_probs": masked_lm_log_probs, "masked_lm_ids": features["masked_lm_ids"],
                        "masked_lm_weights": features["masked_lm_weights"]}
      if next_sentence is not None:
        metric_tensors.update(next_sentence_example_loss=next_sentence[1],
                              next_sentence_log_probs=next_sentence[2],
                              next_sentence_labels=features["next_sentence_labels"])
      return model_fn_lib.StageOutputs(loss=total_loss, eval_metrics=(metric_fn, metric_tensors))

    max_predictions = modeling.get_shape_list(features["masked_lm_positions"])[1]
    log_probs = tf.reshape(masked_lm_log_probs, [-1, max_predictions, bert_config.vocab_size])
    predictions = {"masked_lm_log_probs": log_probs,
                   "masked_lm_predictions": tf.argmax(log_probs, axis=-1, output_type=tf.int32)}
    if next_sentence is not None:
      predictions["next_sentence_log_probs"] = next_sentence[2]
    return model_fn_lib.StageOutputs(predictions=predictions)

  return model_fn_lib.build_model_fn(forward, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps,
                                     options, output_dir, use_one_hot_embeddings, stage="pretraining")


def format_eval_results(result):
  """Google's eval_results.txt format: 'key = value' lines, sorted by key."""
  return "".join("%s = %s\n" % (key, result[key]) for key in sorted(result))
