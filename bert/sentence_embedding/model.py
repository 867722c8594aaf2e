"""The siamese sentence encoder, its two training objectives and the TPUEstimator model_fn.

One BertModel (Google's variable names, so --init_checkpoint loads any BERT checkpoint and the result exports
with bert.hf_interop) encodes both sides of every pair: the two [batch, seq] inputs are stacked into one
[2 * batch, seq] batch, so the weights are shared by construction and each step is one encoder pass. The
sentence vector is the mean of the last layer over the real tokens ([CLS] and [SEP] included) or the [CLS]
vector (bert.feature_extraction.pool_sequence, the pooling of sentence-transformers). Token type ids are 0.

Objectives (u, v: the pooled vectors of the two sides):
- cosine_mse: mean over the batch of (cos(u_i, v_i) - target_i)^2, the target being the gold score scaled to
  [0, 1] (sentence-transformers' CosineSimilarityLoss);
- mnrl: multiple negatives ranking: for anchor i the positive v_i competes with every other v_j of the batch;
  cross-entropy of softmax_j(scale * cos(u_i, v_j)) at j = i (MultipleNegativesRankingLoss, scale 20). Under
  --num_gpus / TPU the negatives are those of the replica's (core's) own batch.
"""
import tensorflow as tf

from bert import feature_extraction
from bert import model_fn as model_fn_lib
from bert import modeling


POOLING_MODES = ("mean", "cls")
LOSSES = ("cosine_mse", "mnrl")


def encode(bert_config, is_training, input_ids, input_mask, pooling, use_one_hot_embeddings=False,
           compute_type=tf.float32):
  """Sentence vectors [batch, hidden] (float32) of single-sentence inputs.

  Args:
    bert_config: modeling.BertConfig.
    is_training: dropout on.
    input_ids, input_mask: int32 [batch, seq].
    pooling: "mean" or "cls".
    use_one_hot_embeddings: one-hot embedding lookup (TPU).
    compute_type: the encoder's activation dtype (mixed precision); pooling happens in float32.
  """
  model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=tf.zeros_like(input_ids),
                             use_one_hot_embeddings=use_one_hot_embeddings, compute_type=compute_type)
  return feature_extraction.pool_sequence(tf.cast(model.get_sequence_output(), tf.float32), input_mask, pooling)


def siamese_encode(bert_config, is_training, features, pooling, use_one_hot_embeddings=False,
                   compute_type=tf.float32):
  """(u, v): the vectors of side a and side b, from one encoder pass over both sides stacked."""
  input_ids = tf.concat([features["input_ids_a"], features["input_ids_b"]], axis=0)
  input_mask = tf.concat([features["input_mask_a"], features["input_mask_b"]], axis=0)
  vectors = encode(bert_config, is_training, input_ids, input_mask, pooling, use_one_hot_embeddings, compute_type)
  batch = tf.shape(features["input_ids_a"])[0]
  return vectors[:batch], vectors[batch:]


def cosine_similarity(u, v):
  """Row-wise cosine similarity [batch] of two [batch, hidden] matrices."""
  return tf.reduce_sum(tf.math.l2_normalize(u, axis=-1) * tf.math.l2_normalize(v, axis=-1), axis=-1)


def cosine_mse_loss(u, v, target):
  """(loss, per-pair loss): squared error between cos(u_i, v_i) and target_i, averaged over the batch."""
  per_example = tf.square(cosine_similarity(u, v) - target)
  return tf.reduce_mean(per_example), per_example


def mnrl_loss(u, v, scale=20.0):
  """(loss, per-anchor loss): in-batch-negatives cross-entropy over scale * cos(u_i, v_j), gold j = i."""
  logits = scale * tf.matmul(tf.math.l2_normalize(u, axis=-1), tf.math.l2_normalize(v, axis=-1), transpose_b=True)
  labels = tf.range(tf.shape(u)[0])
  per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
  return tf.reduce_mean(per_example), per_example


def model_fn_builder(bert_config, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps, run_options,
                     pooling="mean", loss="cosine_mse", mnrl_scale=20.0, output_dir=None):
  """Returns the TPUEstimator model_fn: TRAIN minimises `loss`; PREDICT gives both vectors and their cosine.

  Args:
    bert_config: modeling.BertConfig.
    init_checkpoint: Google-named checkpoint to start from (None: random initialisation).
    learning_rate, num_train_steps, num_warmup_steps: Google's schedule (estimator_utils.build_train_op).
    run_options: estimator_utils.RunOptions.
    pooling: "mean" or "cls".
    loss: "cosine_mse" or "mnrl".
    mnrl_scale: the similarity scale of the MNRL loss.
    output_dir: where training progress summaries go (None: no progress host_call).
  """
  def forward(features, mode, encoder):
    u, v = siamese_encode(bert_config, encoder.is_training, features, pooling, encoder.use_one_hot_embeddings,
                          encoder.compute_type)
    if mode == tf.estimator.ModeKeys.TRAIN:
      if loss == "mnrl":
        total_loss, _ = mnrl_loss(u, v, mnrl_scale)
      else:
        total_loss, _ = cosine_mse_loss(u, v, features["target"])
      return model_fn_lib.StageOutputs(loss=total_loss)
    # Evaluation is done on predictions (bert.sentence_embedding.evaluation), so there is no EVAL mode.
    return model_fn_lib.StageOutputs(predictions={
        "embedding_a": u, "embedding_b": v, "cosine": cosine_similarity(u, v),
        "is_real_example": tf.cast(features["is_real_example"], tf.int32)})

  return model_fn_lib.build_model_fn(forward, init_checkpoint, learning_rate, num_train_steps, num_warmup_steps,
                                     run_options, output_dir, stage="the sentence encoder")
