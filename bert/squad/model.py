"""The span-prediction model for SQuAD-style reading comprehension, its TFRecords and input/model functions.

The head is Google's: one dense layer from each token's final hidden state to a start and an end logit, with
the variables `cls/squad/output_weights` [2, hidden] and `cls/squad/output_bias` [2], so checkpoints
fine-tuned with Google's run_squad.py load here and vice versa. The loss is the mean of the start and end
cross-entropies; for SQuAD 2.0 impossible questions (and windows that do not contain the answer) the label
is the [CLS] position 0.
"""

import collections

import tensorflow as tf

from bert import file_io
from bert import model_fn as model_fn_lib
from bert import modeling
from bert import tfrecord_input

tf1 = tf.compat.v1


def create_model(bert_config, is_training, input_ids, input_mask, segment_ids, use_one_hot_embeddings,
                 compute_type=tf.float32):
  """Builds BERT plus the span head.

  Args:
    bert_config: modeling.BertConfig.
    is_training: enables dropout.
    input_ids, input_mask, segment_ids: int32 [batch, seq_length].
    use_one_hot_embeddings: one-hot embedding lookup (TPU).
    compute_type: encoder activation dtype (float32, bfloat16 or float16); logits are float32.

  Returns:
    (start_logits, end_logits), each float32 [batch, seq_length].
  """
  model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=segment_ids,
                             use_one_hot_embeddings=use_one_hot_embeddings, compute_type=compute_type)
  final_hidden = tf.cast(model.get_sequence_output(), tf.float32)
  batch_size, seq_length, hidden_size = modeling.get_shape_list(final_hidden, expected_rank=3)
  output_weights = tf1.get_variable("cls/squad/output_weights", [2, hidden_size],
                                    initializer=tf1.truncated_normal_initializer(stddev=0.02))
  output_bias = tf1.get_variable("cls/squad/output_bias", [2], initializer=tf1.zeros_initializer())
  logits = tf.matmul(tf.reshape(final_hidden, [batch_size * seq_length, hidden_size]), output_weights,
                     transpose_b=True)
  logits = tf.nn.bias_add(logits, output_bias)
  logits = tf.transpose(tf.reshape(logits, [batch_size, seq_length, 2]), [2, 0, 1])
  start_logits, end_logits = tf.unstack(logits, axis=0)
  return start_logits, end_logits


def span_loss(start_logits, end_logits, start_positions, end_positions):
  """Mean of the start and end cross-entropies (positions are int [batch])."""
  seq_length = modeling.get_shape_list(start_logits)[1]

  def cross_entropy(logits, positions):
    one_hot = tf.one_hot(positions, depth=seq_length, dtype=tf.float32)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    return -tf.reduce_mean(tf.reduce_sum(one_hot * log_probs, axis=-1))

  return (cross_entropy(start_logits, start_positions) + cross_entropy(end_logits, end_positions)) / 2.0


def model_fn_builder(bert_config, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps, options,
                     output_dir=None):
  """Returns the TPUEstimator model_fn (train: span loss; predict: unique_ids, start_logits, end_logits).

  Args:
    bert_config: modeling.BertConfig.
    init_checkpoint: checkpoint to start from (None: random initialisation).
    learning_rate, num_train_steps, num_warmup_steps: optimizer schedule.
    options: estimator_utils.RunOptions (TPU, precision, optimizer, accumulation, logging).
    output_dir: where training progress summaries go (None: no progress logging).
  """
  def forward(features, mode, encoder):
    start_logits, end_logits = create_model(
        bert_config, encoder.is_training, features["input_ids"], features["input_mask"], features["segment_ids"],
        use_one_hot_embeddings=encoder.use_one_hot_embeddings, compute_type=encoder.compute_type)
    if mode == tf.estimator.ModeKeys.TRAIN:
      return model_fn_lib.StageOutputs(
          loss=span_loss(start_logits, end_logits, features["start_positions"], features["end_positions"]))
    return model_fn_lib.StageOutputs(predictions={"unique_ids": features["unique_ids"],
                                                  "start_logits": start_logits, "end_logits": end_logits})

  return model_fn_lib.build_model_fn(forward, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps,
                                     options, output_dir, stage="reading comprehension")


class FeatureWriter(object):
  """Writes InputFeatures to a TFRecord file (Google's feature names, so the files are interchangeable)."""

  def __init__(self, filename, is_training):
    self.filename = filename
    self.is_training = is_training
    self.num_features = 0
    # Written under a temporary name and renamed by close(): the file under its final name is always whole.
    self._temporary = file_io.temporary_path(filename)
    self._writer = tf.io.TFRecordWriter(self._temporary)

  def process_feature(self, feature):
    """Serialises one InputFeatures."""
    self.num_features += 1

    def ints(values):
      return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    record = collections.OrderedDict()
    record["unique_ids"] = ints([feature.unique_id])
    record["input_ids"] = ints(feature.input_ids)
    record["input_mask"] = ints(feature.input_mask)
    record["segment_ids"] = ints(feature.segment_ids)
    if self.is_training:
      record["start_positions"] = ints([feature.start_position])
      record["end_positions"] = ints([feature.end_position])
      record["is_impossible"] = ints([int(feature.is_impossible)])
    example = tf.train.Example(features=tf.train.Features(feature=record))
    self._writer.write(example.SerializeToString())

  def close(self):
    self._writer.close()
    file_io.replace(self._temporary, self.filename)


def input_fn_builder(input_file, seq_length, is_training, drop_remainder):
  """Returns the TPUEstimator input_fn reading FeatureWriter records (shuffled and repeated for training)."""
  name_to_features = {
      "unique_ids": tf.io.FixedLenFeature([], tf.int64),
      "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
      "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
  }
  if is_training:
    name_to_features["start_positions"] = tf.io.FixedLenFeature([], tf.int64)
    name_to_features["end_positions"] = tf.io.FixedLenFeature([], tf.int64)

  return tfrecord_input.single_file_input_fn_builder(input_file, name_to_features, is_training, drop_remainder)
