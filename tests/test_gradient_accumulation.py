"""Gradient accumulation: k micro-batches then one AdamW update == one AdamW step on the k-times batch."""
import numpy as np
import pytest
import tensorflow as tf

from bert import optimization

tf1 = tf.compat.v1
K = 3
MICRO = 4


def _data(steps):
  rng = np.random.RandomState(0)
  # Rows are unique within each big batch: Google's clipping takes the norm of an embedding gradient's
  # IndexedSlices values, which differs from the summed dense gradient's norm when a row repeats.
  ids = np.concatenate([rng.permutation(40)[:K * MICRO * 3].reshape(K * MICRO, 3) for _ in range(steps)])
  ids = ids.astype(np.int32)
  x = rng.randn(steps * K * MICRO, 5).astype(np.float32)
  y = rng.randn(steps * K * MICRO, 1).astype(np.float32)
  return ids, x, y


def _train(batches, accumulation_steps, optimizer_name="adamw"):
  """Runs create_optimizer's train op once per batch; returns (variables, global_step, micro_step)."""
  graph = tf.Graph()
  with graph.as_default():
    tf1.set_random_seed(1)
    ids = tf1.placeholder(tf.int32, [None, 3])
    x = tf1.placeholder(tf.float32, [None, 5])
    y = tf1.placeholder(tf.float32, [None, 1])
    init = tf1.truncated_normal_initializer(stddev=0.5, seed=2)
    table = tf1.get_variable("embeddings/word_embeddings", [40, 5], initializer=init)
    kernel = tf1.get_variable("dense/kernel", [5, 8], initializer=init)
    bias = tf1.get_variable("dense/bias", [8], initializer=tf1.constant_initializer(0.1))
    out = tf1.get_variable("out/kernel", [8, 1], initializer=init)
    hidden = tf.tanh(tf.matmul(x + tf.reduce_sum(tf.gather(table, ids), axis=1), kernel) + bias)
    loss = tf.reduce_mean(tf.square(tf.matmul(hidden, out) - y))
    train_op = optimization.create_optimizer(loss, 0.05, num_train_steps=100, num_warmup_steps=0, use_tpu=False,
                                             optimizer_name=optimizer_name,
                                             gradient_accumulation_steps=accumulation_steps)
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      for b_ids, b_x, b_y in batches:
        session.run(train_op, {ids: b_ids, x: b_x, y: b_y})
      values = session.run({v.op.name: v for v in tf1.trainable_variables()})
      step = session.run(tf1.train.get_global_step())
  return values, step


@pytest.mark.parametrize("optimizer_name", ["adamw", "lamb"])
def test_k_micro_batches_equal_one_step_on_the_k_times_batch(optimizer_name):
  ids, x, y = _data(steps=2)
  big = [(ids[i:i + K * MICRO], x[i:i + K * MICRO], y[i:i + K * MICRO]) for i in range(0, len(x), K * MICRO)]
  micro = [(ids[i:i + MICRO], x[i:i + MICRO], y[i:i + MICRO]) for i in range(0, len(x), MICRO)]
  want, want_step = _train(big, 1, optimizer_name)
  got, got_step = _train(micro, K, optimizer_name)
  assert want_step == got_step == 2  # the global step counts optimizer updates
  for name in want:
    np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)
  # The updates really happened and differ from a plain per-micro-batch run.
  plain, plain_step = _train(micro, 1, optimizer_name)
  assert plain_step == 6
  assert max(np.abs(plain[n] - want[n]).max() for n in want) > 1e-3


def test_no_update_before_the_kth_micro_batch():
  ids, x, y = _data(steps=1)
  micro = [(ids[i:i + MICRO], x[i:i + MICRO], y[i:i + MICRO]) for i in range(0, len(x), MICRO)]
  initial, step0 = _train([], K)
  partial, step = _train(micro[:K - 1], K)
  assert step0 == step == 0
  for name in initial:
    np.testing.assert_array_equal(partial[name], initial[name])
