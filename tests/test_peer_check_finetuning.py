"""benchmarks/peer_check_finetuning.py: the reference's optimizer, schedule, reader and verdict match the project's."""
import importlib.util

import numpy as np
import pytest
import tensorflow as tf

import tokenization
from bert import optimization
from conftest import EN_VOCAB, ROOT, shared_path

tf1 = tf.compat.v1


@pytest.fixture(scope="module")
def peer():
  spec = importlib.util.spec_from_file_location("peer_check_finetuning",
                                                ROOT / "benchmarks" / "peer_check_finetuning.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_torch_optimizer_and_schedule_reproduce_the_project_updates(peer):
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
  decay = [p for n, p in params.items() if not any(x in n for x in peer.NO_DECAY)]
  no_decay = [p for n, p in params.items() if any(x in n for x in peer.NO_DECAY)]
  assert len(decay) == 1 and len(no_decay) == 2
  torch_optimizer = peer.make_google_adam_class()(
      [{"params": decay, "weight_decay": peer.WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}], lr=lr)
  scheduler = torch.optim.lr_scheduler.LambdaLR(torch_optimizer,
                                                lambda s: peer.google_lr_multiplier(s, steps, warmup))
  for grad in grads:
    for name, param in params.items():
      param.grad = torch.tensor(grad[name])
    torch_optimizer.step()
    scheduler.step()
  for name, param in params.items():
    np.testing.assert_allclose(param.detach().numpy(), want[name], rtol=1e-5, atol=1e-6, err_msg=name)
  # The first update has learning rate 0 (Google's warm-up starts at step 0), so 5 updates moved 4 times.
  assert not np.allclose(want["layer/kernel"], init["layer/kernel"])


def test_schedule_matches_learning_rate_schedule(peer):
  with tf.Graph().as_default(), tf1.Session() as sess:
    step = tf1.placeholder(tf.int64, [])
    rate = optimization.learning_rate_schedule(1.0, step, 20, 3)
    want = [sess.run(rate, {step: s}) for s in range(22)]
  got = [peer.google_lr_multiplier(s, 20, 3) for s in range(22)]
  np.testing.assert_allclose(got, want, atol=1e-6)
  assert got[2] == pytest.approx(2 / 3) and got[3] == pytest.approx(1 - 3 / 20) and got[21] == 0.0


def test_verdict(peer):
  agree = peer.compare([0.80, 0.82, 0.81], [0.81, 0.79, 0.80], num_dev=872)
  assert agree["verdict"] == "agree" and agree["difference"] == pytest.approx(0.01)
  assert agree["pooled_sd"] == pytest.approx(0.01) and agree["threshold"] == pytest.approx(0.02)
  far = peer.compare([0.80, 0.82, 0.81], [0.70, 0.71, 0.69], num_dev=872)
  assert far["verdict"] == "DISAGREE" and far["welch_p"] < 0.01
  # Identical scores on each side: the noise floor is one dev example, so 0.5 of an example is no disagreement.
  same = peer.compare([0.5, 0.5, 0.5], [0.5 + 0.5 / 872] * 3, num_dev=872)
  assert same["verdict"] == "agree" and same["welch_p"] is None


def test_reference_reader_and_tokenization_match_the_project(peer, tmp_path):
  """SST-2 and MRPC subsets: the reference's reader gives the processor's examples; Google-style ids as built."""
  shared_path("glue_en", "MRPC", "train.tsv")  # skips when ../shared/data is absent
  for task in ("sst2", "mrpc"):
    data_dir = tmp_path / task
    recipe = peer.RECIPES[task]
    pool = peer.write_subset(recipe, str(data_dir), 40, max_dev_examples=30)
    assert pool > 3000
    for split, count in (("train", 40), ("dev", 30)):
      rows = peer.reference_read(str(data_dir / ("%s.tsv" % split)), recipe["columns"])
      assert len(rows) == count
      assert rows == peer.project_read(task, str(data_dir), split)
      assert all(row[2] in ("0", "1") for row in rows)
      assert all((row[1] is not None) == (task == "mrpc") for row in rows)
  # The same seeded sample every time.
  again = tmp_path / "again"
  peer.write_subset(peer.RECIPES["sst2"], str(again), 40)
  assert (again / "train.tsv").read_bytes() == (tmp_path / "sst2" / "train.tsv").read_bytes()
  tokenizer = tokenization.FullTokenizer(str(EN_VOCAB), do_lower_case=True)
  ids = peer.google_input_ids(tokenizer, "hello world", "a b c d e", 8)  # 5 tokens for the texts: b loses 2
  assert tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "hello", "world", "[SEP]", "a", "b", "c", "[SEP]"]
