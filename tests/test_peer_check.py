"""benchmarks/peer_check.py: Google's optimizer and schedule in torch reproduce bert.optimization; the verdict."""
import sys

import numpy as np
import pytest
import tensorflow as tf

from bert import optimization
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import peer_check  # noqa: E402  pylint: disable=wrong-import-position

tf1 = tf.compat.v1


def test_torch_optimizer_and_schedule_reproduce_the_project_updates():
  """Five updates with Google's schedule: the torch re-implementation gives bert.optimization's weights."""
  torch = pytest.importorskip("torch")
  rng = np.random.RandomState(0)
  init = {"layer/kernel": rng.randn(3, 4).astype(np.float32), "layer/bias": rng.randn(4).astype(np.float32),
          "layer/LayerNorm/gamma": rng.randn(4).astype(np.float32)}
  grads = [{name: rng.randn(*value.shape).astype(np.float32) for name, value in init.items()} for _ in range(5)]
  steps, warmup, lr = 10, 2, 0.05

  with tf.Graph().as_default(), tf1.Session() as sess:
    variables = [tf1.get_variable(name, initializer=value) for name, value in init.items()]
    placeholders = [tf1.placeholder(tf.float32, value.shape) for value in init.values()]
    global_step = tf1.train.get_or_create_global_step()
    rate = optimization.learning_rate_schedule(lr, global_step, steps, warmup)
    optimizer = optimization.make_optimizer(rate)
    train_op = optimization.apply_gradients(optimizer, placeholders, variables, global_step)
    sess.run(tf1.global_variables_initializer())
    for grad in grads:
      sess.run(train_op, dict(zip(placeholders, grad.values())))
    want = dict(zip(init, sess.run(variables)))

  params = {name: torch.nn.Parameter(torch.tensor(value)) for name, value in init.items()}
  decay = [p for n, p in params.items() if not any(x in n for x in peer_check.NO_DECAY)]
  no_decay = [p for n, p in params.items() if any(x in n for x in peer_check.NO_DECAY)]
  assert len(decay) == 1 and len(no_decay) == 2
  torch_optimizer = peer_check.make_google_adam_class()(
      [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)
  scheduler = torch.optim.lr_scheduler.LambdaLR(torch_optimizer,
                                                lambda s: peer_check.google_lr_multiplier(s, steps, warmup))
  for grad in grads:
    for name, param in params.items():
      param.grad = torch.tensor(grad[name])
    torch_optimizer.step()
    scheduler.step()
  for name, param in params.items():
    np.testing.assert_allclose(param.detach().numpy(), want[name], rtol=1e-5, atol=1e-6, err_msg=name)
  # The first update has learning rate 0 (Google's warm-up starts at step 0), so 5 updates moved 4 times.
  assert not np.allclose(want["layer/kernel"], init["layer/kernel"])


def test_schedule_matches_learning_rate_schedule():
  with tf.Graph().as_default(), tf1.Session() as sess:
    step = tf1.placeholder(tf.int64, [])
    rate = optimization.learning_rate_schedule(1.0, step, 20, 3)
    want = [sess.run(rate, {step: s}) for s in range(22)]
  got = [peer_check.google_lr_multiplier(s, 20, 3) for s in range(22)]
  np.testing.assert_allclose(got, want, atol=1e-6)
  assert got[2] == pytest.approx(2 / 3) and got[3] == pytest.approx(1 - 3 / 20) and got[21] == 0.0


def test_verdict():
  agree = peer_check.compare([0.80, 0.82, 0.81], [0.81, 0.79, 0.80], resolution=1 / 872)
  assert agree["verdict"] == "agree" and agree["difference"] == pytest.approx(0.01)
  assert agree["pooled_sd"] == pytest.approx(0.01) and agree["threshold"] == pytest.approx(0.02)
  far = peer_check.compare([0.80, 0.82, 0.81], [0.70, 0.71, 0.69], resolution=1 / 872)
  assert far["verdict"] == "DISAGREE" and far["welch_p"] < 0.01
  # Identical scores on each side: the noise floor is one dev example, so 0.5 of an example is no disagreement.
  same = peer_check.compare([0.5, 0.5, 0.5], [0.5 + 0.5 / 872] * 3, resolution=1 / 872)
  assert same["verdict"] == "agree" and same["welch_p"] is None


def test_decay_groups_follow_the_no_decay_rule():
  named = [("bert/encoder/layer_0/attention/output/dense/kernel", 1), ("bert/encoder/layer_0/output/LayerNorm/gamma", 2),
           ("classifier.bias", 3), ("bert.embeddings.word_embeddings.weight", 4)]
  decay, no_decay = peer_check.decay_groups(named, 0.01)
  assert decay == {"params": [1, 4], "weight_decay": 0.01}
  assert no_decay == {"params": [2, 3], "weight_decay": 0.0}
