"""run_classifier end to end on a ChnSentiCorp slice with a tiny random model; bad input through the CLI; the
classification/regression heads; submission writers."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import GOOGLE_FINETUNING_FLAGS, ROOT, ZH_VOCAB, run_main_per_argv, script_env, shared_path

TINY_CONFIG = {"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
               "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 64,
               "max_position_embeddings": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
               "type_vocab_size": 2, "vocab_size": 21128}
SEQ = 64


def _slice(source, target, rows):
  """Copies the header and the first `rows` data lines of a TSV."""
  with open(source, encoding="utf-8") as handle:
    lines = [next(handle) for _ in range(rows + 1)]
  target.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  """Trains 8 steps on 160 ChnSentiCorp examples, evaluates on 40, predicts 24, exports a SavedModel."""
  source = shared_path("chnsenticorp")
  work = tmp_path_factory.mktemp("chnsenticorp")
  data = work / "data"
  data.mkdir()
  _slice(source / "train.tsv", data / "train.tsv", 160)
  _slice(source / "dev.tsv", data / "dev.tsv", 40)
  _slice(source / "test.tsv", data / "test.tsv", 24)
  config = work / "bert_config.json"
  config.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
  output_dir, export_dir = work / "out", work / "export"
  command = [sys.executable, str(ROOT / "run_classifier.py"), "--task_name=chnsenticorp", "--data_dir=%s" % data,
             "--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % config, "--output_dir=%s" % output_dir,
             "--do_train", "--do_eval", "--do_predict", "--max_seq_length=%d" % SEQ, "--train_batch_size=16",
             "--num_train_steps=8", "--learning_rate=1e-3", "--eval_batch_size=16", "--predict_batch_size=16",
             "--log_every_n_steps=4", "--tf_random_seed=7", "--export_dir=%s" % export_dir]
  result = subprocess.run(command, capture_output=True, text=True, env=script_env(), timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  return {"data": data, "output_dir": output_dir, "export_dir": export_dir, "stderr": result.stderr}


def test_train_eval_predict_outputs(trained_run):
  output_dir = trained_run["output_dir"]
  assert os.path.exists(output_dir / "model.ckpt-8.index")
  results = json.loads((output_dir / "eval_results.json").read_text())
  assert results["global_step"] == 8 and results["eval_num_examples"] == 40
  assert 0.0 <= results["eval_accuracy"] <= 1.0 and 0.0 < results["eval_loss"] < 5.0
  text_lines = (output_dir / "eval_results.txt").read_text().splitlines()
  parsed = dict(line.split(" = ") for line in text_lines)
  assert float(parsed["eval_accuracy"]) == pytest.approx(results["eval_accuracy"])
  probabilities = np.loadtxt(output_dir / "test_results.tsv", delimiter="\t")
  assert probabilities.shape == (24, 2)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
  # ChnSentiCorp's test file is labelled, so its metrics are reported too.
  assert json.loads((output_dir / "test_eval_results.json").read_text())["test_num_examples"] == 24
  # The progress line of the shared host_call (step 4 and 8 of 8).
  assert re.search(r"step 8/8 loss [0-9.]+", trained_run["stderr"])


def test_rerun_with_another_config_is_refused_before_any_step(trained_run, tmp_path):
  import shutil  # pylint: disable=import-outside-toplevel
  out = tmp_path / "out"
  shutil.copytree(trained_run["output_dir"], out)
  saved = (out / "bert_config.json").read_text()
  wider = tmp_path / "wider.json"
  wider.write_text(json.dumps(dict(TINY_CONFIG, intermediate_size=128)), encoding="utf-8")
  command = [sys.executable, str(ROOT / "run_classifier.py"), "--task_name=chnsenticorp",
             "--data_dir=%s" % trained_run["data"], "--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % wider,
             "--output_dir=%s" % out, "--do_train", "--do_eval", "--max_seq_length=%d" % SEQ,
             "--train_batch_size=16", "--num_train_steps=16"]
  result = subprocess.run(command, capture_output=True, text=True, env=script_env(), timeout=300)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
      "error: --output_dir %s holds checkpoints (model.ckpt-8) of another model config: intermediate_size 64 "
      "there, 128 in --bert_config_file; resume with the config they were made with (%s/bert_config.json) or "
      "use a new --output_dir" % (out, out))
  assert "Traceback" not in result.stderr
  assert (out / "bert_config.json").read_text() == saved
  assert not (out / "model.ckpt-16.index").exists()


def test_saved_model_probabilities_equal_estimator_predict(trained_run):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tokenization  # pylint: disable=import-outside-toplevel
  from bert.classifier import data as classifier_data  # pylint: disable=import-outside-toplevel
  from bert.classifier import tasks  # pylint: disable=import-outside-toplevel

  (version,) = os.listdir(trained_run["export_dir"])
  loaded = tf.saved_model.load(str(trained_run["export_dir"] / version))
  signature = loaded.signatures["serving_default"]
  assert sorted(signature.structured_input_signature[1]) == ["input_ids", "input_mask", "segment_ids"]
  processor = tasks.get_processor("chnsenticorp")
  examples = processor.get_test_examples(str(trained_run["data"]))
  tokenizer = tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=True)
  features = classifier_data.convert_examples_to_features(examples, processor.get_labels(), SEQ, tokenizer)
  inputs = {name: tf.constant([getattr(f, name) for f in features], dtype=tf.int32)
            for name in ("input_ids", "input_mask", "segment_ids")}
  served = signature(**inputs)["probabilities"].numpy()
  predicted = np.loadtxt(trained_run["output_dir"] / "test_results.tsv", delimiter="\t")
  np.testing.assert_allclose(served, predicted, atol=1e-6)


def test_bad_input_gives_one_line_errors_and_google_flags_are_kept(tmp_path):
  config = tmp_path / "bert_config.json"
  config.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
  good = tmp_path / "good"
  good.mkdir()
  (good / "train.tsv").write_text("label\ttext_a\n1\t好\n", encoding="utf-8")
  bad_columns = tmp_path / "bad_columns"
  bad_columns.mkdir()
  (bad_columns / "train.tsv").write_text("label\ttext_a\n1\t好\n0\t差\t多余\n", encoding="utf-8")
  bad_label = tmp_path / "bad_label"
  bad_label.mkdir()
  (bad_label / "train.tsv").write_text("label\ttext_a\n1\t好\n2\t差\n", encoding="utf-8")
  empty = tmp_path / "empty"
  empty.mkdir()
  (empty / "train.tsv").write_text("", encoding="utf-8")
  common = ["--vocab_file=%s" % ZH_VOCAB, "--bert_config_file=%s" % config, "--do_train",
            "--max_seq_length=%d" % SEQ, "--num_train_steps=1"]
  cases = [
      ["--task_name=chnsenticorp", "--data_dir=%s" % bad_columns, "--output_dir=%s" % (tmp_path / "o1")],
      ["--task_name=chnsenticorp", "--data_dir=%s" % bad_label, "--output_dir=%s" % (tmp_path / "o2")],
      ["--task_name=sentiment", "--data_dir=%s" % good, "--output_dir=%s" % (tmp_path / "o3")],
      ["--task_name=chnsenticorp", "--data_dir=%s" % empty, "--output_dir=%s" % (tmp_path / "o4")],
      ["--task_name=chnsenticorp", "--data_dir=%s" % good, "--output_dir=%s" % (tmp_path / "o5"),
       "--max_seq_length=128"],
      ["--task_name=chnsenticorp", "--data_dir=%s" % good],
      ["--task_name=chnsenticorp", "--data_dir=%s" % good, "--output_dir=%s" % (tmp_path / "o7"), "--do_eval"],
  ]
  argvs = [case + common[:-2] + (common[-2:] if "--max_seq_length=128" not in case else common[-1:])
           for case in cases]
  report = run_main_per_argv("run_classifier", argvs)
  messages = report["errors"]
  assert {name: report["defaults"][name] for name in GOOGLE_FINETUNING_FLAGS} == GOOGLE_FINETUNING_FLAGS
  for shared in ("num_gpus", "precision", "use_xla", "optimizer", "gradient_accumulation_steps"):
    assert shared in report["defaults"]
  assert all(message and message.startswith("error: ") and "\n" not in message for message in messages), messages
  assert "bad_columns/train.tsv:3: expected 2 tab-separated columns, found 3" in messages[0]
  assert "--skip_bad_rows" in messages[0]
  assert "unknown label '2' for task chnsenticorp; allowed labels: 0, 1" in messages[1]
  assert "'sentiment' is not a known task; known tasks: " in messages[2] and "chnsenticorp" in messages[2]
  assert "empty/train.tsv: the file is empty" in messages[3]
  assert "--max_seq_length 128 exceeds max_position_embeddings 64" in messages[4]
  assert messages[5] == "error: --output_dir is required"
  # A missing dev file is reported before any training happens.
  assert "no dev file in --data_dir" in messages[6] and "dev.tsv" in messages[6]
  assert not (tmp_path / "o7").exists()


def test_skip_bad_rows_trains_on_the_good_rows(tmp_path):
  from bert.classifier import tasks  # pylint: disable=import-outside-toplevel
  (tmp_path / "train.tsv").write_text("label\ttext_a\n1\t好\n0\t差\t多余\n0\t坏\n", encoding="utf-8")
  processor = tasks.get_processor("chnsenticorp", skip_bad_rows=True)
  assert [e.text_a for e in processor.get_train_examples(str(tmp_path))] == ["好", "坏"]
  assert list(processor.stats.values())[0].as_dict() == {"examples": 2, "skipped_bad_rows": 1,
                                                         "dropped_no_gold_label": 0}


# ---- heads (graph level) ------------------------------------------------------------------------------------

def _build_head(is_regression, labels):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from bert import modeling  # pylint: disable=import-outside-toplevel
  from bert.classifier import model as classifier_model  # pylint: disable=import-outside-toplevel
  graph = tf.Graph()
  with graph.as_default():
    config = modeling.BertConfig.from_dict(TINY_CONFIG)
    ids = tf.constant(np.random.RandomState(0).randint(1, 21128, size=(3, 8)), dtype=tf.int32)
    label_tensor = tf.constant(labels, dtype=tf.float32 if is_regression else tf.int32)
    outputs = classifier_model.create_model(config, False, ids, tf.ones_like(ids), tf.zeros_like(ids), label_tensor,
                                            num_labels=3, use_one_hot_embeddings=False, is_regression=is_regression)
    shapes = {v.name.split(":")[0]: v.shape.as_list() for v in tf.compat.v1.global_variables()}
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      values = session.run(outputs)
  return shapes, values


def test_classification_head_is_googles():
  shapes, (loss, per_example, logits, probabilities) = _build_head(False, [0, 2, 1])
  assert shapes["output_weights"] == [3, 32] and shapes["output_bias"] == [3]
  assert "bert/pooler/dense/kernel" in shapes
  log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  np.testing.assert_allclose(per_example, -log_probs[np.arange(3), [0, 2, 1]], rtol=1e-5)
  np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-6)
  assert loss == pytest.approx(per_example.mean(), rel=1e-5)


def test_regression_head_uses_mean_squared_error():
  targets = [0.5, 4.0, 2.5]
  shapes, (loss, per_example, logits, scores) = _build_head(True, targets)
  assert shapes["output_weights"] == [1, 32] and shapes["output_bias"] == [1]
  np.testing.assert_allclose(scores, logits[:, 0])
  np.testing.assert_allclose(per_example, (scores - np.array(targets)) ** 2, rtol=1e-5)
  assert loss == pytest.approx(np.mean((scores - np.array(targets)) ** 2), rel=1e-5)


# ---- TPU padding and submission files ----------------------------------------------------------------------

def test_padding_examples_are_zero_features_marked_unreal():
  from bert.classifier import data as classifier_data  # pylint: disable=import-outside-toplevel
  from bert.classifier.tasks import InputExample, PaddingInputExample  # pylint: disable=import-outside-toplevel
  padded, real = classifier_data.pad_examples([InputExample("a", "x")] * 5, 4)
  assert (len(padded), real) == (8, 5) and all(isinstance(e, PaddingInputExample) for e in padded[5:])
  feature = classifier_data.convert_single_example(0, padded[-1], ["0", "1"], 16, tokenizer=None)
  assert feature.input_ids == [0] * 16 and feature.input_mask == [0] * 16 and not feature.is_real_example


def test_glue_and_clue_submission_files(tmp_path):
  from bert.classifier import outputs as classifier_outputs  # pylint: disable=import-outside-toplevel
  from bert.classifier.tasks import InputExample  # pylint: disable=import-outside-toplevel
  examples = [InputExample("t-1", "a", example_id="0"), InputExample("t-2", "b", example_id="1")]
  probabilities = np.array([[0.2, 0.8], [0.9, 0.1]])
  labels = classifier_outputs.predicted_labels(probabilities, ["entailment", "not_entailment"], False)
  path = classifier_outputs.write_submission(str(tmp_path), ("glue", "RTE"), "", examples, labels)
  assert os.path.basename(path) == "RTE.tsv"
  assert open(path).read() == "index\tprediction\n0\tnot_entailment\n1\tentailment\n"
  path = classifier_outputs.write_submission(str(tmp_path), ("glue", "MNLI"), "mismatched", examples,
                                             ["neutral", "entailment"])
  assert os.path.basename(path) == "MNLI-mm.tsv"
  scores = classifier_outputs.predicted_labels(np.array([5.7, 2.25]), [None], True)
  path = classifier_outputs.write_submission(str(tmp_path), ("glue", "STS-B"), "", examples, scores)
  assert open(path).read() == "index\tprediction\n0\t5.000\n1\t2.250\n"
  clue = [InputExample("t-1", "a", example_id=17), InputExample("t-2", "b", example_id="18")]
  path = classifier_outputs.write_submission(str(tmp_path), ("clue", "tnews"), "", clue, ["102", "116"])
  assert os.path.basename(path) == "tnews_predict.json"
  assert [json.loads(line) for line in open(path)] == [{"id": 17, "label": "102"}, {"id": 18, "label": "116"}]
  assert not [name for name in os.listdir(tmp_path) if ".tmp-" in name]  # atomic writes leave no temp files


def test_tpu_style_padding_predicts_the_same_probabilities(trained_run):
  """The TPU path (examples padded to full batches, drop_remainder, padding filtered out) run on CPU gives the
  same 24 outputs as --do_predict."""
  import tokenization  # pylint: disable=import-outside-toplevel
  from bert import estimator_utils, modeling  # pylint: disable=import-outside-toplevel
  from bert.classifier import model as classifier_model  # pylint: disable=import-outside-toplevel
  from bert.classifier import run as classifier_runner  # pylint: disable=import-outside-toplevel
  from bert.classifier import tasks  # pylint: disable=import-outside-toplevel

  processor = tasks.get_processor("chnsenticorp")
  examples = processor.get_test_examples(str(trained_run["data"]))
  options = estimator_utils.RunOptions(use_tpu=False)
  model_fn = classifier_model.model_fn_builder(modeling.BertConfig.from_dict(TINY_CONFIG), 2, None, 1e-3, 8, 0,
                                               options)
  estimator = estimator_utils.build_estimator(model_fn, options, str(trained_run["output_dir"]), 16,
                                              predict_batch_size=16)
  setup = classifier_runner.ClassifierSetup(processor, processor.get_labels(),
                                            tokenization.FullTokenizer(str(ZH_VOCAB)), SEQ,
                                            str(trained_run["output_dir"]), use_tpu=True)
  outputs, losses = classifier_runner.predict(estimator, setup, examples, 16, "predict_padded")
  assert outputs.shape == (24, 2) and losses.shape == (24,)  # 32 rows predicted, 8 padding rows dropped
  predicted = np.loadtxt(trained_run["output_dir"] / "test_results.tsv", delimiter="\t")
  np.testing.assert_allclose(outputs, predicted, atol=1e-6)


def test_stsb_regression_end_to_end_on_two_replicas_writes_glue_submission(tmp_path):
  """STS-B from the STS Benchmark file: float labels, regression head, Pearson/Spearman, STS-B.tsv scores;
  trained with --num_gpus=2 (MirroredStrategy over two logical CPUs: the multi-GPU code path)."""
  data_dir = shared_path("glue_en", "STS-B")
  config = dict(TINY_CONFIG, vocab_size=30522)
  (tmp_path / "bert_config.json").write_text(json.dumps(config), encoding="utf-8")
  output_dir = tmp_path / "out"
  command = [sys.executable, str(ROOT / "run_classifier.py"), "--task_name=STS-B", "--data_dir=%s" % data_dir,
             "--vocab_file=%s" % (ROOT / "vocab" / "en_uncased_vocab.txt"),
             "--bert_config_file=%s" % (tmp_path / "bert_config.json"), "--output_dir=%s" % output_dir,
             "--do_train", "--do_eval", "--do_predict", "--max_seq_length=32", "--train_batch_size=16",
             "--num_train_steps=4", "--eval_batch_size=128", "--predict_batch_size=128",
             "--save_checkpoints_steps=100", "--num_gpus=2", "--log_every_n_steps=2"]
  result = subprocess.run(command, capture_output=True, text=True, env=script_env(), timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  # The progress line of every stage: loss, the learning rate the update used, examples/s.
  assert re.search(r"step 4/4 loss [0-9.]+ learning_rate [0-9.e+-]+ examples/s [0-9.]+", result.stderr)
  results = json.loads((output_dir / "eval_results.json").read_text())
  assert results["eval_num_examples"] == 1500 and results["global_step"] == 4
  assert -1.0 <= results["eval_pearson"] <= 1.0 and -1.0 <= results["eval_spearman"] <= 1.0
  assert results["eval_corr"] == pytest.approx((results["eval_pearson"] + results["eval_spearman"]) / 2)
  lines = (output_dir / "STS-B.tsv").read_text().splitlines()
  assert lines[0] == "index\tprediction" and len(lines) == 1 + 1379
  scores = [float(line.split("\t")[1]) for line in lines[1:]]
  assert all(0.0 <= score <= 5.0 for score in scores)
  np.testing.assert_allclose(np.clip(np.loadtxt(output_dir / "test_results.tsv"), 0, 5), scores, atol=1e-3)
