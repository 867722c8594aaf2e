"""Tests for bert/optimization.py: update rule vs numpy, weight-decay exclusions, schedule, slot names."""
import numpy as np
import pytest
import tensorflow as tf

from bert import optimization

tf1 = tf.compat.v1


def _numpy_adamw_steps(weights, grads_per_step, learning_rates, decay_rate, decayed):
  """Reference: Google's AdamWeightDecayOptimizer update, no bias correction."""
  w = weights.copy()
  m = np.zeros_like(w)
  v = np.zeros_like(w)
  for grad, lr in zip(grads_per_step, learning_rates):
    m = 0.9 * m + 0.1 * grad
    v = 0.999 * v + 0.001 * grad * grad
    update = m / (np.sqrt(v) + 1e-6)
    if decayed:
      update = update + decay_rate * w
    w = w - lr * update
  return w, m, v


def test_update_rule_matches_numpy_with_and_without_weight_decay():
  rng = np.random.RandomState(0)
  init_kernel = rng.randn(3, 4).astype(np.float32)
  init_bias = rng.randn(4).astype(np.float32)
  grads = [(rng.randn(3, 4).astype(np.float32), rng.randn(4).astype(np.float32)) for _ in range(4)]
  with tf.Graph().as_default(), tf1.Session() as sess:
    kernel = tf1.get_variable("layer/kernel", initializer=init_kernel)
    bias = tf1.get_variable("layer/bias", initializer=init_bias)
    grad_kernel = tf1.placeholder(tf.float32, [3, 4])
    grad_bias = tf1.placeholder(tf.float32, [4])
    global_step = tf1.train.get_or_create_global_step()
    optimizer = optimization.make_optimizer(learning_rate=0.05)
    train_op = optimization.apply_gradients(optimizer, [grad_kernel, grad_bias], [kernel, bias], global_step)
    sess.run(tf1.global_variables_initializer())
    for gk, gb in grads:
      sess.run(train_op, {grad_kernel: gk, grad_bias: gb})
    got_kernel, got_bias, step = sess.run([kernel, bias, global_step])
    got_m = sess.run(optimizer.get_slot(kernel, "adam_m"))

  want_kernel, want_m, _ = _numpy_adamw_steps(init_kernel, [g[0] for g in grads], [0.05] * 4, 0.01, decayed=True)
  want_bias, _, _ = _numpy_adamw_steps(init_bias, [g[1] for g in grads], [0.05] * 4, 0.01, decayed=False)
  np.testing.assert_allclose(got_kernel, want_kernel, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(got_bias, want_bias, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(got_m, want_m, rtol=1e-5, atol=1e-7)
  assert step == 4


@pytest.mark.parametrize("name,decayed", [
    ("bert/encoder/layer_0/attention/self/query/kernel", True),
    ("bert/embeddings/word_embeddings", True),
    ("cls/seq_relationship/output_weights", True),
    ("bert/encoder/layer_0/attention/self/query/bias", False),
    ("bert/embeddings/LayerNorm/gamma", False),
    ("bert/embeddings/LayerNorm/beta", False),
    ("my_head/layer_norm/scale", False),
    ("cls/predictions/output_bias", False),
])
def test_weight_decay_exclusion_list(name, decayed):
  optimizer = optimization.make_optimizer(learning_rate=1.0)
  assert optimizer._do_use_weight_decay(name) is decayed


def test_schedule_warmup_then_linear_decay_from_step_zero():
  with tf.Graph().as_default(), tf1.Session() as sess:
    step = tf1.placeholder(tf.int64, [])
    lr = optimization.learning_rate_schedule(1e-3, step, num_train_steps=100, num_warmup_steps=10)
    values = {s: sess.run(lr, {step: s}) for s in (0, 1, 5, 9, 10, 50, 99, 100, 150)}
    no_warmup = optimization.learning_rate_schedule(2e-3, step, num_train_steps=100, num_warmup_steps=0)
    no_warmup_values = [sess.run(no_warmup, {step: s}) for s in (0, 25, 100)]
  np.testing.assert_allclose(values[0], 0.0, atol=1e-12)
  np.testing.assert_allclose(values[1], 1e-4, rtol=1e-5)
  np.testing.assert_allclose(values[5], 5e-4, rtol=1e-5)
  np.testing.assert_allclose(values[9], 9e-4, rtol=1e-5)
  # After warm-up: the decay line that started at step 0 (Google's semantics).
  np.testing.assert_allclose(values[10], 9e-4, rtol=1e-5)
  np.testing.assert_allclose(values[50], 5e-4, rtol=1e-5)
  np.testing.assert_allclose(values[99], 1e-5, rtol=1e-4)
  np.testing.assert_allclose(values[100], 0.0, atol=1e-12)
  np.testing.assert_allclose(values[150], 0.0, atol=1e-12)
  np.testing.assert_allclose(no_warmup_values, [2e-3, 1.5e-3, 0.0], rtol=1e-5, atol=1e-12)


def test_create_optimizer_slot_names_clipping_and_global_step():
  with tf.Graph().as_default(), tf1.Session() as sess:
    w = tf1.get_variable("bert/pooler/dense/kernel", initializer=np.full([2, 2], 3.0, np.float32))
    table = tf1.get_variable("bert/embeddings/word_embeddings", initializer=np.ones([5, 2], np.float32))
    # A huge loss makes the raw gradient norm far above 1, so clipping matters; the gather gives a sparse
    # (IndexedSlices) gradient for the embedding table.
    loss = 1000.0 * tf.reduce_sum(w * w) + 1000.0 * tf.reduce_sum(tf.gather(table, [1, 3]) * [[2.0], [1.0]])
    train_op = optimization.create_optimizer(loss, init_lr=0.1, num_train_steps=10, num_warmup_steps=0,
                                             use_tpu=False)
    names = sorted(v.op.name for v in tf1.global_variables())
    sess.run(tf1.global_variables_initializer())
    sess.run(train_op)
    m_w, m_table, step, table_value = sess.run([
        tf1.global_variables("bert/pooler/dense/kernel/adam_m")[0],
        tf1.global_variables("bert/embeddings/word_embeddings/adam_m")[0],
        tf1.train.get_global_step(), table])
  assert names == sorted([
      "bert/pooler/dense/kernel", "bert/pooler/dense/kernel/adam_m", "bert/pooler/dense/kernel/adam_v",
      "bert/embeddings/word_embeddings", "bert/embeddings/word_embeddings/adam_m",
      "bert/embeddings/word_embeddings/adam_v", "global_step"])
  assert step == 1
  # Raw gradients: 6000 per kernel entry, 2000/1000 for embedding rows 1/3 (global norm ~12,200 > 1).
  raw = np.concatenate([np.full(4, 6000.0), [2000.0, 2000.0, 1000.0, 1000.0]])
  scale = 1.0 / np.linalg.norm(raw)
  np.testing.assert_allclose(m_w, np.full([2, 2], 0.1 * 6000.0 * scale), rtol=1e-5)
  np.testing.assert_allclose(m_table[[1, 3], 0], [0.1 * 2000.0 * scale, 0.1 * 1000.0 * scale], rtol=1e-5)
  np.testing.assert_allclose(m_table[[0, 2, 4]], 0.0)
  # Untouched rows have zero gradient but are still weight-decayed, as in Google's dense update.
  np.testing.assert_allclose(table_value[0], 1.0 - 0.1 * 0.01, rtol=1e-6)
