"""Mixed precision: bf16/fp16 training curves track fp32 on a tiny BERT; fp16 dynamic loss scaling skips
overflowing steps and adapts the scale."""
import numpy as np
import pytest
import tensorflow as tf

from bert import mixed_precision
from bert import modeling
from bert import optimization

tf1 = tf.compat.v1
STEPS = 16
CONFIG = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
              hidden_act="gelu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
              max_position_embeddings=32, type_vocab_size=2, initializer_range=0.02)


def _batch(step):
  rng = np.random.RandomState(step)
  ids = rng.randint(104, 120, size=(8, 16)).astype(np.int32)
  positions = np.sort(np.stack([rng.choice(np.arange(1, 16), 3, replace=False) for _ in range(8)]), 1)
  return dict(ids=ids, positions=positions.astype(np.int32), labels=rng.randint(104, 120, (8, 3)).astype(np.int32),
              nsp=rng.randint(0, 2, (8, 1)).astype(np.int32))


def _loss_curve(precision):
  """Trains the tiny pretraining model for STEPS steps in `precision`; returns the losses and the scale."""
  config = modeling.BertConfig.from_dict(CONFIG)
  graph = tf.Graph()
  with graph.as_default():
    tf1.set_random_seed(3)
    data = {"ids": tf1.placeholder(tf.int32, [8, 16]), "positions": tf1.placeholder(tf.int32, [8, 3]),
            "labels": tf1.placeholder(tf.int32, [8, 3]), "nsp": tf1.placeholder(tf.int32, [8, 1])}
    model = modeling.BertModel(config, is_training=True, input_ids=data["ids"],
                               compute_type=mixed_precision.compute_type(precision))
    mlm_loss, _, _ = modeling.get_masked_lm_output(config, model.get_sequence_output(), model.get_embedding_table(),
                                                   data["positions"], data["labels"], tf.ones([8, 3]))
    nsp_loss, _, _ = modeling.get_next_sentence_output(config, model.get_pooled_output(), data["nsp"])
    loss = tf.cast(mlm_loss + nsp_loss, tf.float32)
    loss_scale = mixed_precision.loss_scale_for(precision)
    train_op = optimization.create_optimizer(loss, 1e-3, num_train_steps=100, num_warmup_steps=0, use_tpu=False,
                                             loss_scale=loss_scale)
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      losses = []
      for step in range(STEPS):
        feed = {data[key]: value for key, value in _batch(step % 4).items()}
        losses.append(session.run([loss, train_op], feed)[0])
      scale = session.run(loss_scale.scale) if loss_scale else None
      step = session.run(tf1.train.get_global_step())
  return np.array(losses), scale, step


@pytest.fixture(scope="module")
def fp32_curve():
  return _loss_curve("fp32")[0]


@pytest.mark.parametrize("precision,tolerance", [("bf16", 0.03), ("fp16", 0.005)])
def test_reduced_precision_loss_curve_matches_fp32(fp32_curve, precision, tolerance):
  losses, scale, step = _loss_curve(precision)
  assert fp32_curve[-4:].mean() < fp32_curve[:4].mean() - 0.3  # it learns: the curves have a shape to match
  relative = np.abs(losses - fp32_curve) / fp32_curve
  assert relative.max() < tolerance, (precision, losses, fp32_curve)
  assert step == STEPS
  if precision == "fp16":
    assert scale == 2.0 ** 15  # no overflow on this tiny run, no growth before the interval


def test_dynamic_loss_scale_skips_non_finite_steps_and_adapts():
  graph = tf.Graph()
  with graph.as_default():
    weight = tf1.get_variable("w", initializer=np.array([1.0, 2.0], np.float32))
    poison = tf1.placeholder(tf.float32, [])
    loss = tf.reduce_sum(weight * weight) * poison
    loss_scale = mixed_precision.DynamicLossScale(initial_scale=8.0, growth_interval=2)
    train_op = optimization.create_optimizer(loss, 0.1, num_train_steps=100, num_warmup_steps=0, use_tpu=False,
                                             loss_scale=loss_scale)
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      session.run(train_op, {poison: np.inf})
      assert session.run(loss_scale.scale) == 4.0  # halved
      np.testing.assert_array_equal(session.run(weight), [1.0, 2.0])  # update skipped
      assert session.run(tf1.train.get_global_step()) == 1  # the step still counts
      session.run(train_op, {poison: 1.0})
      assert not np.allclose(session.run(weight), [1.0, 2.0])
      assert session.run(loss_scale.scale) == 4.0
      session.run(train_op, {poison: 1.0})
      assert session.run(loss_scale.scale) == 8.0  # doubled after growth_interval finite steps
      assert session.run(tf1.train.get_global_step()) == 3


def test_precision_helpers():
  assert mixed_precision.compute_type("bf16") == tf.bfloat16
  assert mixed_precision.loss_scale_for("bf16") is None and mixed_precision.loss_scale_for("fp32") is None
  assert isinstance(mixed_precision.loss_scale_for("fp16"), mixed_precision.DynamicLossScale)
