"""run_sentence_embedding.py / bert.sentence_embedding: siamese encoder, losses (also against
sentence-transformers' own loss classes), evaluation, the sentence-transformers export, data readers, bad input.

End-to-end runs use a tiny random BERT on small synthetic pair sets (STS Benchmark layout, AFQMC JSON lines);
the readers are also checked on the real sets of ../shared/data (skipped when it is absent).
"""
import gzip
import json
import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn import metrics as sk_metrics

from conftest import EN_VOCAB, GOOGLE_FINETUNING_FLAGS, ROOT, ZH_VOCAB, run_main_per_argv, script_env, shared_path

TINY = {"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 32,
        "initializer_range": 0.02, "intermediate_size": 64, "max_position_embeddings": 64, "num_attention_heads": 2,
        "num_hidden_layers": 2, "type_vocab_size": 2}
SEQ = 24
SUBJECTS = ["a man", "a woman", "the dog", "a cat", "the child"]
VERBS = ["is playing", "is eating", "is running", "is reading"]
OBJECTS = ["a guitar", "an apple", "in the park", "a book"]


def _config(path, vocab_size):
  path.write_text(json.dumps(dict(TINY, vocab_size=vocab_size)), encoding="utf-8")
  return path


def _sentence(rng):
  return [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]


def write_sts_benchmark(path, counts=(("train", 64), ("dev", 24), ("test", 16)), seed=0):
  """A small stsbenchmark.tsv.gz (the STS Benchmark's columns); score = 5 * shared parts / 3."""
  rng = random.Random(seed)
  lines = ["split\tgenre\tdataset\tyear\tsid\tscore\tsentence1\tsentence2"]
  for split, count in counts:
    for index in range(count):
      a, b = _sentence(rng), _sentence(rng)
      if index % 2:
        b = [a[0], a[1], b[2]]
      score = 5.0 * sum(x == y for x, y in zip(a, b)) / 3
      lines.append("%s\tmain\tsynthetic\t2024\t%04d\t%.3f\t%s.\t%s." % (split, index, score, " ".join(a), " ".join(b)))
  with gzip.open(path, "wt", encoding="utf-8") as handle:
    handle.write("\n".join(lines) + "\n")


def write_afqmc(directory, seed=0):
  """AFQMC-style JSON lines: paraphrases (label 1) and unrelated questions (label 0)."""
  rng = random.Random(seed)
  people, verbs, things = ["我", "你", "他们", "小明"], ["喜欢", "想买", "讨厌"], ["苹果", "手机", "咖啡", "花呗"]
  for name, count in (("train", 48), ("dev", 24), ("test", 16)):
    with open(directory / ("%s.json" % name), "w", encoding="utf-8") as handle:
      for index in range(count):
        who, verb, thing = rng.choice(people), rng.choice(verbs), rng.choice(things)
        if index % 2:
          other, label = "%s很%s%s吗" % (who, verb, thing), "1"
        else:
          other, label = "%s%s%s" % (rng.choice(people), rng.choice(verbs), rng.choice(things)), "0"
        handle.write(json.dumps({"sentence1": who + verb + thing, "sentence2": other, "label": label, "id": index},
                                ensure_ascii=False) + "\n")


def _run(args):
  command = [sys.executable, str(ROOT / "run_sentence_embedding.py")] + args
  result = subprocess.run(command, capture_output=True, text=True, env=script_env(), timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stderr


@pytest.fixture(scope="module")
def sts_run(tmp_path_factory):
  """cosine_mse, mean pooling: 6 steps on 64 synthetic STS pairs, eval on 24, predict 16, export."""
  work = tmp_path_factory.mktemp("sts")
  data = work / "data"
  data.mkdir()
  write_sts_benchmark(data / "stsbenchmark.tsv.gz")
  config = _config(work / "bert_config.json", 30522)
  output_dir, export_dir = work / "out", work / "st"
  stderr = _run(["--task_name=STS-B", "--data_dir=%s" % data, "--vocab_file=%s" % EN_VOCAB,
                 "--bert_config_file=%s" % config, "--output_dir=%s" % output_dir, "--do_train", "--do_eval",
                 "--do_predict", "--max_seq_length=%d" % SEQ, "--train_batch_size=8", "--num_train_steps=6",
                 "--learning_rate=1e-3", "--eval_batch_size=16", "--predict_batch_size=16", "--log_every_n_steps=3",
                 "--tf_random_seed=7", "--export_dir=%s" % export_dir])
  return {"data": data, "config": config, "output_dir": output_dir, "export_dir": export_dir, "stderr": stderr}


def test_sts_train_eval_predict_outputs(sts_run):
  output_dir = sts_run["output_dir"]
  assert (output_dir / "model.ckpt-6.index").exists()
  assert re.search(r"step 6/6 loss [0-9.]+ learning_rate [0-9.e+-]+ examples/s", sts_run["stderr"])
  results = json.loads((output_dir / "eval_results.json").read_text())
  assert results["global_step"] == 6 and results["eval_num_examples"] == 24
  assert sorted(results) == ["eval_cosine_mse", "eval_num_examples", "eval_pearson", "eval_spearman", "global_step"]
  assert -100.0 <= results["eval_spearman"] <= 100.0 and -100.0 <= results["eval_pearson"] <= 100.0
  parsed = dict(line.split(" = ") for line in (output_dir / "eval_results.txt").read_text().splitlines())
  assert float(parsed["eval_spearman"]) == pytest.approx(results["eval_spearman"])
  flags = json.loads((output_dir / "run_flags.json").read_text())
  assert flags["loss"] == "cosine_mse" and flags["pooling"] == "mean" and flags["mnrl_scale"] == 20.0

  side_a = np.load(output_dir / "test_embeddings_a.npy")
  side_b = np.load(output_dir / "test_embeddings_b.npy")
  assert side_a.shape == side_b.shape == (16, 32) and side_a.dtype == np.float32
  side_a, side_b = side_a.astype(np.float64), side_b.astype(np.float64)
  lines = (output_dir / "test_results.tsv").read_text().splitlines()
  assert lines[0] == "id\tcosine\tgold" and len(lines) == 17
  cosines = np.array([float(line.split("\t")[1]) for line in lines[1:]])
  gold = np.array([float(line.split("\t")[2]) for line in lines[1:]])
  expected = np.sum(side_a * side_b, 1) / np.linalg.norm(side_a, axis=1) / np.linalg.norm(side_b, axis=1)
  np.testing.assert_allclose(cosines, expected, atol=2e-6)
  # The synthetic test scores are labelled, so the paper metrics of the test set are written too.
  test = json.loads((output_dir / "test_eval_results.json").read_text())
  assert test["test_num_examples"] == 16
  assert test["test_spearman"] == pytest.approx(100 * scipy_stats.spearmanr(gold, expected)[0], abs=1e-6)
  assert test["test_pearson"] == pytest.approx(100 * scipy_stats.pearsonr(gold, expected)[0], abs=1e-6)
  assert test["test_cosine_mse"] == pytest.approx(np.mean((expected - gold / 5) ** 2), abs=1e-6)
  assert not [name for name in os.listdir(output_dir) if ".tmp" in name]


def _sentence_transformers(monkeypatch):
  # See tests/test_export_hf.py: importing sentence-transformers would set TF_USE_LEGACY_KERAS=1 for the process.
  monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")
  return pytest.importorskip("sentence_transformers")


def _test_pairs(sts_run):
  from bert.sentence_embedding import data  # pylint: disable=import-outside-toplevel
  return data.build_task("stsb").read(str(sts_run["data"]), "test", labelled=False)


def test_sentence_transformers_export_reproduces_the_embeddings(sts_run, monkeypatch):
  st = _sentence_transformers(monkeypatch)
  export_dir = sts_run["export_dir"]
  modules = json.loads((export_dir / "modules.json").read_text())
  assert [m["type"] for m in modules] == ["sentence_transformers.models.Transformer",
                                          "sentence_transformers.models.Pooling"]
  assert json.loads((export_dir / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"] is True
  assert json.loads((export_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == SEQ
  encoder = st.SentenceTransformer(str(export_dir), device="cpu")
  pairs = _test_pairs(sts_run)
  for side, texts in (("a", [p.text_a for p in pairs]), ("b", [p.text_b for p in pairs])):
    ours = np.load(sts_run["output_dir"] / ("test_embeddings_%s.npy" % side))
    np.testing.assert_allclose(encoder.encode(texts, convert_to_numpy=True), ours, atol=1e-5, rtol=0)


def test_losses_equal_sentence_transformers_losses(sts_run, monkeypatch):
  """Peer check on a slice: our graph's cosine-MSE and MNRL losses on 8 pairs, restored from the trained
  checkpoint, equal CosineSimilarityLoss / MultipleNegativesRankingLoss of the exported model (no dropout)."""
  st = _sentence_transformers(monkeypatch)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  import tokenization  # pylint: disable=import-outside-toplevel
  from bert import modeling  # pylint: disable=import-outside-toplevel
  from bert.sentence_embedding import data, model  # pylint: disable=import-outside-toplevel

  pairs = _test_pairs(sts_run)[:8]
  targets = np.array([p.score / 5.0 for p in pairs], np.float32)
  tokenizer = tokenization.FullTokenizer(str(EN_VOCAB), do_lower_case=True)
  features = {}
  for side in ("a", "b"):
    encoded = [data.encode_sentence(getattr(p, "text_" + side), tokenizer, SEQ) for p in pairs]
    features["input_ids_" + side] = np.array([e.input_ids for e in encoded], np.int32)
    features["input_mask_" + side] = np.array([e.input_mask for e in encoded], np.int32)
  with tf.Graph().as_default():
    config = modeling.BertConfig.from_json_file(str(sts_run["config"]))
    u, v = model.siamese_encode(config, False, {k: tf.constant(x) for k, x in features.items()}, "mean")
    cosine_mse = model.cosine_mse_loss(u, v, tf.constant(targets))[0]
    mnrl = model.mnrl_loss(u, v, 20.0)[0]
    with tf.compat.v1.Session() as session:
      tf.compat.v1.train.Saver().restore(session, tf.train.latest_checkpoint(str(sts_run["output_dir"])))
      ours = session.run({"cosine_mse": cosine_mse, "mnrl": mnrl})

  try:
    from sentence_transformers.sentence_transformer import losses  # pylint: disable=import-outside-toplevel
  except ImportError:  # sentence-transformers < 5
    from sentence_transformers import losses  # pylint: disable=import-outside-toplevel
  encoder = st.SentenceTransformer(str(sts_run["export_dir"]), device="cpu").eval()
  preprocess = getattr(encoder, "preprocess", None) or encoder.tokenize
  sides = [preprocess([p.text_a for p in pairs]), preprocess([p.text_b for p in pairs])]
  with torch.no_grad():
    theirs_mse = losses.CosineSimilarityLoss(encoder)(sides, torch.tensor(targets)).item()
    theirs_mnrl = losses.MultipleNegativesRankingLoss(encoder, scale=20.0)(sides, None).item()
  assert ours["cosine_mse"] == pytest.approx(theirs_mse, abs=1e-5)
  assert ours["mnrl"] == pytest.approx(theirs_mnrl, abs=1e-5)


@pytest.fixture(scope="module")
def afqmc_run(tmp_path_factory):
  """MNRL, [CLS] pooling: 3 steps, then a resumed run to 5 steps with eval and predict on binary AFQMC-style
  pairs."""
  work = tmp_path_factory.mktemp("afqmc")
  data = work / "data"
  data.mkdir()
  write_afqmc(data)
  config = _config(work / "bert_config.json", 21128)
  output_dir = work / "out"
  common = ["--task_name=afqmc", "--data_dir=%s" % data, "--vocab_file=%s" % ZH_VOCAB,
            "--bert_config_file=%s" % config, "--output_dir=%s" % output_dir, "--loss=mnrl", "--pooling=cls",
            "--max_seq_length=16", "--train_batch_size=8", "--learning_rate=1e-3", "--log_every_n_steps=1",
            "--tf_random_seed=3", "--eval_batch_size=16", "--predict_batch_size=16"]
  first = _run(common + ["--do_train", "--num_train_steps=3"])
  second = _run(common + ["--do_train", "--num_train_steps=5", "--do_eval", "--do_predict"])
  return {"data": data, "output_dir": output_dir, "first": first, "second": second}


def test_mnrl_resumes_and_reports_binary_metrics(afqmc_run):
  output_dir = afqmc_run["output_dir"]
  assert re.search(r"step 3/3 loss [0-9.]+", afqmc_run["first"])
  # The second run continues from step 3: it restores that checkpoint and logs steps 4 and 5 only.
  assert "model.ckpt-3" in afqmc_run["second"] and re.search(r"step 5/5 loss", afqmc_run["second"])
  assert not re.search(r"step [123]/5 loss", afqmc_run["second"])
  # MNRL trains on the 24 positive pairs of the 48.
  assert "train.json: 48 pairs" in afqmc_run["first"] and "(mnrl, cls pooling): 24 pairs" in afqmc_run["first"]
  results = json.loads((output_dir / "eval_results.json").read_text())
  assert results["global_step"] == 5 and results["eval_num_examples"] == 24
  assert sorted(results) == ["eval_accuracy", "eval_average_precision", "eval_num_examples", "eval_threshold",
                             "global_step"]
  assert 50.0 <= results["eval_accuracy"] <= 100.0  # the dev-chosen threshold beats "all negative" (12 of 24)
  lines = (output_dir / "test_results.tsv").read_text().splitlines()
  rows = [line.split("\t") for line in lines[1:]]
  assert lines[0] == "id\tcosine\tgold" and [r[0] for r in rows] == [str(i) for i in range(16)]
  gold = np.array([int(float(r[2])) for r in rows])
  assert gold.tolist() == [i % 2 for i in range(16)]
  side_a, side_b = (np.load(output_dir / ("test_embeddings_%s.npy" % s)).astype(np.float64) for s in "ab")
  cosines = np.sum(side_a * side_b, 1) / np.linalg.norm(side_a, axis=1) / np.linalg.norm(side_b, axis=1)
  np.testing.assert_allclose([float(r[1]) for r in rows], cosines, atol=1e-6)
  test = json.loads((output_dir / "test_eval_results.json").read_text())
  # Test accuracy uses the dev threshold; average precision needs none.
  assert test["test_threshold"] == results["eval_threshold"]
  assert test["test_accuracy"] == pytest.approx(100 * np.mean((cosines > results["eval_threshold"]) == gold),
                                                abs=1e-9)
  assert test["test_average_precision"] == pytest.approx(100 * sk_metrics.average_precision_score(gold, cosines),
                                                         abs=1e-6)


# ---- the model, in-process -------------------------------------------------------------------------------------

def test_siamese_encoder_shares_one_bert_pools_without_padding_and_learns(tmp_path):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from bert import estimator_utils, feature_extraction, modeling  # pylint: disable=import-outside-toplevel
  from bert.sentence_embedding import model  # pylint: disable=import-outside-toplevel

  config = modeling.BertConfig.from_dict(dict(TINY, vocab_size=50, hidden_dropout_prob=0.0,
                                              attention_probs_dropout_prob=0.0))
  rng = np.random.RandomState(0)
  lengths = rng.randint(3, 10, size=(2, 8))
  features = {}
  for index, side in enumerate("ab"):
    ids = rng.randint(5, 50, size=(8, 12)).astype(np.int32)
    mask = (np.arange(12)[None, :] < lengths[index][:, None]).astype(np.int32)
    features["input_ids_" + side], features["input_mask_" + side] = ids * mask, mask
  features["target"] = np.linspace(0.0, 1.0, 8).astype(np.float32)
  features["is_real_example"] = np.ones(8, np.int32)

  with tf.Graph().as_default():
    model_fn = model.model_fn_builder(config, None, 1e-3, 100, 0, estimator_utils.RunOptions(), pooling="mean")
    spec = model_fn({k: tf.constant(v) for k, v in features.items()}, None, tf.estimator.ModeKeys.TRAIN, {})
    names = sorted(v.op.name for v in tf.compat.v1.trainable_variables())
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      losses = [session.run([spec.train_op, spec.loss])[1] for _ in range(20)]
  with tf.Graph().as_default():
    modeling.BertModel(config, False, tf.constant(features["input_ids_a"]))
    single = sorted(v.op.name for v in tf.compat.v1.trainable_variables())
  assert names == single  # both sides run through the variables of one BertModel
  assert losses[-1] < 0.3 * losses[0]

  # The same sentences padded to 12 and to 20 positions: equal vectors, with either pooling.
  ids, mask = features["input_ids_a"], features["input_mask_a"]
  vectors = []
  for width in (0, 8):
    with tf.Graph().as_default():
      padded_mask = tf.constant(np.pad(mask, [(0, 0), (0, width)]))
      bert = modeling.BertModel(config, False, tf.constant(np.pad(ids, [(0, 0), (0, width)])), padded_mask,
                                tf.zeros_like(padded_mask))
      pooled = {mode: feature_extraction.pool_sequence(bert.get_sequence_output(), padded_mask, mode)
                for mode in model.POOLING_MODES}
      saver = tf.compat.v1.train.Saver()
      with tf.compat.v1.Session() as session:
        if width:
          saver.restore(session, str(tmp_path / "model.ckpt"))
        else:
          session.run(tf.compat.v1.global_variables_initializer())
          saver.save(session, str(tmp_path / "model.ckpt"))
        vectors.append(session.run(pooled))
  for mode in model.POOLING_MODES:
    np.testing.assert_allclose(vectors[0][mode], vectors[1][mode], atol=1e-5)


def test_losses_match_their_definitions():
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from bert.sentence_embedding import model  # pylint: disable=import-outside-toplevel
  rng = np.random.RandomState(1)
  u, v = rng.randn(5, 7).astype(np.float32), rng.randn(5, 7).astype(np.float32)
  target = rng.rand(5).astype(np.float32)
  with tf.Graph().as_default(), tf.compat.v1.Session() as session:
    mse, mse_each = session.run(model.cosine_mse_loss(tf.constant(u), tf.constant(v), tf.constant(target)))
    mnrl, mnrl_each = session.run(model.mnrl_loss(tf.constant(u), tf.constant(v), 20.0))
  un = u / np.linalg.norm(u, axis=1, keepdims=True)
  vn = v / np.linalg.norm(v, axis=1, keepdims=True)
  cos = np.sum(un * vn, axis=1)
  np.testing.assert_allclose(mse_each, (cos - target) ** 2, rtol=1e-5, atol=1e-7)
  assert mse == pytest.approx(np.mean((cos - target) ** 2), rel=1e-5)
  logits = 20.0 * un @ vn.T
  expected = np.log(np.exp(logits).sum(axis=1)) - np.diag(logits)
  np.testing.assert_allclose(mnrl_each, expected, rtol=1e-5, atol=1e-6)
  assert mnrl == pytest.approx(expected.mean(), rel=1e-5)


# ---- evaluation ---------------------------------------------------------------------------------------------

def test_threshold_accuracy_and_average_precision():
  from bert.sentence_embedding import evaluation  # pylint: disable=import-outside-toplevel
  cosines, labels = [0.9, 0.8, 0.7, 0.6, 0.5], [1, 1, 0, 1, 0]
  # Top 2 positive and top 4 positive both get 4 of 5 right; the first from the top wins.
  assert evaluation.best_threshold(cosines, labels) == (pytest.approx(0.75), pytest.approx(0.8))
  # A threshold cannot separate equal cosines: all-positive / all-negative remain.
  threshold, accuracy = evaluation.best_threshold([0.5, 0.5, 0.2], [1, 0, 0])
  assert accuracy == pytest.approx(2 / 3) and threshold > 0.5
  rng = np.random.RandomState(2)
  cosines, labels = rng.rand(200), rng.randint(0, 2, 200)
  threshold, accuracy = evaluation.best_threshold(cosines, labels)
  brute = max(np.mean((cosines > t) == labels) for t in np.concatenate([cosines, [-1.0]]))
  assert accuracy == pytest.approx(brute) and np.mean((cosines > threshold) == labels) == pytest.approx(accuracy)
  results = evaluation.binary_metrics(cosines, labels, threshold)
  assert results["accuracy"] == pytest.approx(100 * accuracy)
  assert results["average_precision"] == pytest.approx(100 * sk_metrics.average_precision_score(labels, cosines))
  gold = rng.rand(50) * 5
  scores = gold + rng.randn(50)
  correlations = evaluation.correlation_metrics(scores, gold)
  assert correlations["spearman"] == pytest.approx(100 * scipy_stats.spearmanr(gold, scores)[0])
  assert correlations["pearson"] == pytest.approx(100 * scipy_stats.pearsonr(gold, scores)[0])


# ---- data ------------------------------------------------------------------------------------------------------

def test_pairs_know_their_file_and_line(tmp_path):
  from bert.sentence_embedding import data  # pylint: disable=import-outside-toplevel
  (tmp_path / "train.tsv").write_text("index\tsentence1\tsentence2\tscore\n0\ta b\tc d\t4.5\n\n1\te\tf\t0\n",
                                      encoding="utf-8")
  task = data.build_task("stsb")
  pairs = task.read(str(tmp_path), "train")
  assert [(p.text_a, p.text_b, p.score, p.line) for p in pairs] == [("a b", "c d", 4.5, 2), ("e", "f", 0.0, 4)]
  assert task.target(4.5) == pytest.approx(0.9)
  (tmp_path / "train.tsv").write_text("index\tsentence1\tsentence2\tscore\n0\ta\tb\t7.5\n", encoding="utf-8")
  assert data.build_task("stsb", score_max=10).read(str(tmp_path), "train")[0].score == 7.5
  assert data.build_task("stsb", score_max=10).target(7.5) == pytest.approx(0.75)
  # Own data as the generic tsv task: columns by flag, scores in [0, 1] unless told otherwise.
  (tmp_path / "own.tsv").write_text("q\tp\tsim\nx\ty\t0.25\n", encoding="utf-8")
  own = data.build_task("tsv", train_file="own.tsv", text_a_field="q", text_b_field="p", label_field="sim")
  assert [(p.text_a, p.text_b, p.score, p.line) for p in own.read(str(tmp_path), "train")] == [("x", "y", 0.25, 2)]


def test_shared_pair_sets_through_the_task_readers():
  from bert.sentence_embedding import data  # pylint: disable=import-outside-toplevel
  stsb = data.build_task("stsb")
  directory = str(shared_path("glue_en", "STS-B"))
  train, dev, test = (stsb.read(directory, split, labelled=split != "test") for split in ("train", "dev", "test"))
  assert (len(train), len(dev), len(test)) == (5749, 1500, 1379) and train[0].line == 2
  assert all(0.0 <= p.score <= 5.0 for p in train + dev + test) and stsb.kind == data.SCORED
  assert len(stsb.positive_pairs(train, 0.8)) == sum(p.score >= 4.0 for p in train)

  bustm = data.build_task("bustm")
  pairs = bustm.read(str(shared_path("fewclue", "bustm")), "train")
  assert len(pairs) == 160 and bustm.kind == data.BINARY and {p.score for p in pairs} == {0.0, 1.0}
  afqmc = data.build_task("afqmc").read(str(shared_path("afqmc")), "dev")
  assert len(afqmc) == 4316 and sum(p.score for p in afqmc) == 1338
  xnli = data.build_task("xnli")
  dev = xnli.read(str(shared_path("xnli_zh")), "dev")
  assert len(dev) == 2490 and len(xnli.positive_pairs(dev, 0.8)) == 830  # the entailment pairs
  ocnli = data.build_task("ocnli", train_file="train.3k.json")
  pairs = ocnli.read(str(shared_path("ocnli")), "train")
  stats = list(ocnli.processor.stats.values())[0]
  assert len(pairs) == 3000 - 6 and stats.dropped_no_gold_label == 6  # rows labelled "-" have no gold label


def test_bad_input_gives_one_line_errors_naming_file_line_or_flag(tmp_path):
  config = _config(tmp_path / "bert_config.json", 30522)
  header = "index\tsentence1\tsentence2\tscore\n"
  cases = {
      "missing_side": header + "0\ta man\ta woman\t3\n1\ta dog\t\t2\n",
      "not_a_number": header + "0\ta man\ta woman\t3\n1\ta dog\ta cat\thigh\n",
      "out_of_range": header + "0\ta man\ta woman\t7\n",
      "header_only": header,
      "good": header + "0\ta man\ta woman\t3\n",
  }
  for name, text in cases.items():
    (tmp_path / name).mkdir()
    (tmp_path / name / "train.tsv").write_text(text, encoding="utf-8")
  (tmp_path / "json_side").mkdir()
  (tmp_path / "json_side" / "train.json").write_text(
      '{"sentence1": "a", "sentence2": "b", "label": "1"}\n{"sentence1": "c", "label": "0"}\n', encoding="utf-8")
  (tmp_path / "no_positive").mkdir()
  (tmp_path / "no_positive" / "train.json").write_text(
      '{"sentence1": "a", "sentence2": "b", "label": "0"}\n', encoding="utf-8")
  common = ["--vocab_file=%s" % EN_VOCAB, "--bert_config_file=%s" % config, "--do_train", "--max_seq_length=16"]

  def case(task, directory, *extra):
    return ["--task_name=%s" % task, "--data_dir=%s" % (tmp_path / directory),
            "--output_dir=%s" % (tmp_path / ("output-" + directory))] + common + list(extra)

  argvs = [case("stsb", "missing_side"), case("stsb", "not_a_number"), case("stsb", "out_of_range"),
           case("stsb", "header_only"), case("afqmc", "json_side"), case("afqmc", "no_positive", "--loss=mnrl"),
           case("chnsenticorp", "good"), case("stsb", "good", "--do_eval"),
           case("afqmc", "no_positive", "--score_max=5"), case("stsb", "good")[1:]]
  report = run_main_per_argv("run_sentence_embedding", argvs)
  messages = report["errors"]
  assert {name: report["defaults"][name] for name in GOOGLE_FINETUNING_FLAGS} == GOOGLE_FINETUNING_FLAGS
  assert report["defaults"]["mnrl_scale"] == 20.0 and report["defaults"]["pooling"] == "mean"
  assert all(m and m.startswith("error: ") and "\n" not in m for m in messages), messages
  assert "missing_side/train.tsv:3: the pair has no second sentence" in messages[0]
  assert "not_a_number/train.tsv:3: score 'high' is not a number" in messages[1]
  assert ("out_of_range/train.tsv:2: score 7 is outside the declared range [0, 5] (--score_min/--score_max)"
          in messages[2])
  assert "stsb: no train sentence pairs in " in messages[3] and "header_only/train.tsv" in messages[3]
  assert "json_side/train.json:2: missing field(s) sentence2" in messages[4]
  assert "--loss=mnrl trains on positive pairs (label 1), and the training set has none" in messages[5]
  assert "--task_name chnsenticorp is not a sentence-pair task" in messages[6]
  assert "no dev file in --data_dir" in messages[7]  # checked before any training
  assert "--score_min/--score_max apply to scored tasks" in messages[8]
  assert messages[9] == "error: --task_name is required"
  # Data is read and checked before anything is written.
  assert not [name for name in os.listdir(tmp_path) if name.startswith("output-")]
