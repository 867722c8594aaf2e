"""Google's sequence-classification head on BertModel, the TPUEstimator model_fn, and SavedModel export.

Variables: the encoder under `bert/...`, the head as `output_weights` [num_labels, hidden] and `output_bias`
[num_labels] at the root scope, exactly as Google's run_classifier, so checkpoints fine-tuned with Google's code
load here and vice versa. Regression tasks (STS-B) use the same variables with num_labels = 1 and a mean
squared error loss.
"""
import tensorflow as tf

from bert import model_fn as model_fn_lib
from bert import modeling

def create_model(bert_config, is_training, input_ids, input_mask, segment_ids, labels, num_labels,
                 use_one_hot_embeddings, is_regression=False, compute_type=tf.float32):
  """Creates a classification (or regression) model: dropout + dense layer on the pooled [CLS] vector.

  Args:
    bert_config: modeling.BertConfig.
    is_training: enables dropout.
    input_ids, input_mask, segment_ids: int32 [batch, seq_length].
    labels: int32 [batch] label ids (float32 scores for regression), or None (serving: no loss).
    num_labels: number of classes (ignored for regression, which has one output).
    use_one_hot_embeddings: one-hot embedding lookup (TPU).
    is_regression: one real-valued output trained with mean squared error.
    compute_type: activation dtype of the encoder (mixed precision); the head runs in float32.

  Returns:
    (loss, per_example_loss, logits, outputs): loss/per_example_loss are None when labels is None; outputs is
    the probabilities [batch, num_labels] (classification) or the predicted scores [batch] (regression).
  """
  model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=segment_ids,
                             use_one_hot_embeddings=use_one_hot_embeddings, compute_type=compute_type)
  output_layer = model.get_pooled_output()
  hidden_size = output_layer.shape[-1]
  num_outputs = 1 if is_regression else num_labels

  output_weights = tf.compat.v1.get_variable(
      "output_weights", [num_outputs, hidden_size],
      initializer=tf.compat.v1.truncated_normal_initializer(stddev=0.02))
  output_bias = tf.compat.v1.get_variable("output_bias", [num_outputs], initializer=tf.compat.v1.zeros_initializer())

  with tf.compat.v1.variable_scope("loss"):
    if is_training:
      output_layer = tf.nn.dropout(output_layer, rate=0.1)
    logits = tf.nn.bias_add(tf.matmul(output_layer, output_weights, transpose_b=True), output_bias)
    if is_regression:
      outputs = tf.squeeze(logits, axis=-1)
      if labels is None:
        return None, None, logits, outputs
      per_example_loss = tf.square(outputs - tf.cast(labels, tf.float32))
    else:
      outputs = tf.nn.softmax(logits, axis=-1)
      if labels is None:
        return None, None, logits, outputs
      log_probs = tf.nn.log_softmax(logits, axis=-1)
      one_hot_labels = tf.one_hot(labels, depth=num_labels, dtype=tf.float32)
      per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
    loss = tf.reduce_mean(per_example_loss)
    return loss, per_example_loss, logits, outputs


def output_key(is_regression):
  """Name of the model's main output in predictions and in the serving signature."""
  return "predictions" if is_regression else "probabilities"


def model_fn_builder(bert_config, num_labels, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps,
                     run_options, use_one_hot_embeddings=False, is_regression=False, output_dir=None):
  """Returns the TPUEstimator model_fn (train, eval and predict; predict also serves the SavedModel), bert.model_fn's
  skeleton around the classification forward pass.

  Args:
    bert_config: modeling.BertConfig.
    num_labels: number of classes.
    init_checkpoint: Google-named checkpoint to start from (None: random initialisation).
    learning_rate, num_train_steps, num_warmup_steps: optimizer schedule (estimator_utils.build_train_op).
    run_options: estimator_utils.RunOptions (TPU, precision, optimizer, logging).
    use_one_hot_embeddings: one-hot embedding lookup (TPU).
    is_regression: regression head (STS-B).
    output_dir: where training progress summaries go (None: no progress host_call).

  Returns:
    model_fn(features, labels, mode, params).
  """
  def forward(features, mode, encoder):
    input_ids = features["input_ids"]
    label_ids = features.get("label_ids")
    if "is_real_example" in features:
      is_real_example = tf.cast(features["is_real_example"], tf.float32)
    else:
      is_real_example = tf.ones(tf.shape(input_ids)[:1], dtype=tf.float32)
    total_loss, per_example_loss, logits, outputs = create_model(
        bert_config, encoder.is_training, input_ids, features["input_mask"], features["segment_ids"], label_ids,
        num_labels, encoder.use_one_hot_embeddings, is_regression=is_regression, compute_type=encoder.compute_type)
    if mode == tf.estimator.ModeKeys.TRAIN:
      return model_fn_lib.StageOutputs(loss=total_loss)

    if mode == tf.estimator.ModeKeys.EVAL:
      def metric_fn(per_example_loss, label_ids, logits, is_real_example):
        metrics = {"eval_loss": tf.compat.v1.metrics.mean(values=per_example_loss, weights=is_real_example)}
        if not is_regression:
          predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
          metrics["eval_accuracy"] = tf.compat.v1.metrics.accuracy(labels=label_ids, predictions=predictions,
                                                                   weights=is_real_example)
        return metrics
      return model_fn_lib.StageOutputs(
          loss=total_loss, eval_metrics=(metric_fn, [per_example_loss, label_ids, logits, is_real_example]))

    predictions = {output_key(is_regression): outputs}
    if per_example_loss is not None:
      # Batch prediction over a labelled file (--do_eval) also returns the loss and the padding marker.
      predictions["per_example_loss"] = per_example_loss
      predictions["is_real_example"] = tf.cast(is_real_example, tf.int32)
    return model_fn_lib.StageOutputs(predictions=predictions)

  return model_fn_lib.build_model_fn(forward, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps,
                                     run_options, output_dir, use_one_hot_embeddings, stage="classification")


def serving_input_receiver_fn_builder(max_seq_length):
  """Serving inputs: int32 input_ids, input_mask, segment_ids of shape [batch, max_seq_length]."""

  def serving_input_receiver_fn():
    features = {name: tf.compat.v1.placeholder(tf.int32, [None, max_seq_length], name=name)
                for name in ("input_ids", "input_mask", "segment_ids")}
    return tf.estimator.export.ServingInputReceiver(features, features)

  return serving_input_receiver_fn


def export_saved_model(estimator, export_dir, max_seq_length, checkpoint_path=None):
  """Writes a SavedModel (signature serving_default: input_ids, input_mask, segment_ids -> probabilities, or
  predictions for regression) under export_dir/<timestamp>/, TensorFlow Serving's versioned layout.

  Args:
    estimator: an estimator built with use_tpu=False (the graph is exported for CPU/GPU serving).
    export_dir: base directory.
    max_seq_length: the sequence length the inputs must have.
    checkpoint_path: checkpoint to export (default: the latest in the estimator's model_dir).

  Returns:
    The path of the SavedModel directory (str).
  """
  path = estimator.export_saved_model(export_dir, serving_input_receiver_fn_builder(max_seq_length),
                                      checkpoint_path=checkpoint_path)
  return path.decode("utf-8") if isinstance(path, bytes) else path
