"""LAMB optimizer: updates equal a NumPy transcription of the paper's algorithm; slots keep Google's names."""
import numpy as np
import tensorflow as tf

from bert import lamb

tf1 = tf.compat.v1


def numpy_lamb(weights, grads_per_step, lr, weight_decay, adapt_and_decay, beta_1=0.9, beta_2=0.999, eps=1e-6):
  """Reference LAMB on float64 arrays; returns the weights after all steps."""
  w = weights.astype(np.float64)
  m = np.zeros_like(w)
  v = np.zeros_like(w)
  for t, g in enumerate(grads_per_step, start=1):
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    update = (m / (1 - beta_1 ** t)) / (np.sqrt(v / (1 - beta_2 ** t)) + eps)
    ratio = 1.0
    if adapt_and_decay:
      update = update + weight_decay * w
      w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
      ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
    w = w - lr * ratio * update
  return w


def test_lamb_matches_numpy_reference_over_several_steps():
  rng = np.random.RandomState(3)
  kernel0 = rng.randn(4, 3).astype(np.float32)
  gamma0 = (1.0 + 0.1 * rng.randn(3)).astype(np.float32)
  grads = [(rng.randn(4, 3).astype(np.float32), rng.randn(3).astype(np.float32)) for _ in range(4)]
  graph = tf.Graph()
  with graph.as_default():
    kernel = tf1.get_variable("layer/kernel", initializer=kernel0)
    gamma = tf1.get_variable("layer/LayerNorm/gamma", initializer=gamma0)
    g_kernel = tf1.placeholder(tf.float32, [4, 3])
    g_gamma = tf1.placeholder(tf.float32, [3])
    optimizer = lamb.LAMBOptimizer(0.01, weight_decay_rate=0.05, exclude_from_weight_decay=["LayerNorm", "bias"])
    train_op = optimizer.apply_gradients([(g_kernel, kernel), (g_gamma, gamma)])
    names = sorted(v.op.name for v in tf1.global_variables())
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      for gk, gg in grads:
        session.run(train_op, {g_kernel: gk, g_gamma: gg})
      got_kernel, got_gamma = session.run([kernel, gamma])
  want_kernel = numpy_lamb(kernel0, [g for g, _ in grads], 0.01, 0.05, adapt_and_decay=True)
  want_gamma = numpy_lamb(gamma0, [g for _, g in grads], 0.01, 0.05, adapt_and_decay=False)
  np.testing.assert_allclose(got_kernel, want_kernel, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(got_gamma, want_gamma, rtol=1e-5, atol=1e-6)
  # The trust ratio really changes the step: plain bias-corrected Adam would land elsewhere.
  assert np.abs(want_kernel - numpy_lamb(kernel0, [g for g, _ in grads], 0.01, 0.0, False)).max() > 1e-3
  assert names == ["lamb_step", "layer/LayerNorm/gamma", "layer/LayerNorm/gamma/adam_m",
                   "layer/LayerNorm/gamma/adam_v", "layer/kernel", "layer/kernel/adam_m", "layer/kernel/adam_v"]


def test_lamb_trust_ratio_is_one_for_zero_weights():
  graph = tf.Graph()
  with graph.as_default():
    kernel = tf1.get_variable("kernel", initializer=np.zeros([2, 2], np.float32))
    grad = tf.constant([[1.0, -2.0], [0.5, 0.0]])
    train_op = lamb.LAMBOptimizer(0.1, weight_decay_rate=0.0).apply_gradients([(grad, kernel)])
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      session.run(train_op)
      got = session.run(kernel)
  want = numpy_lamb(np.zeros([2, 2]), [np.array([[1.0, -2.0], [0.5, 0.0]])], 0.1, 0.0, adapt_and_decay=True)
  np.testing.assert_allclose(got, want, atol=1e-6)
  assert abs(got[0, 0] + 0.1) < 1e-4  # first bias-corrected Adam step is lr * sign(g)
