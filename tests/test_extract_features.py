"""extract_features.py / bert.feature_extraction against a direct BertModel computation."""
import json
import subprocess
import sys

import numpy as np
import pytest

import interop_helpers
import tokenization
from bert import estimator_utils
from bert import feature_extraction
from bert import hf_interop
from bert import modeling
from bert.errors import UsageError
from conftest import ROOT

SEQ = interop_helpers.SEQ_LENGTH


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  return interop_helpers.build_tiny_checkpoint(str(tmp_path_factory.mktemp("tiny_ckpt")))


@pytest.fixture
def input_file(tmp_path):
  path = tmp_path / "input.txt"
  path.write_text("\n".join(interop_helpers.SENTENCES) + "\n", encoding="utf-8")
  return str(path)


def mean_pool(layer, mask):
  mask = mask[:, :, None].astype(np.float32)
  return (layer * mask).sum(axis=1) / mask.sum(axis=1)


def script_args(tiny, input_file, output_file, *extra):
  return [sys.executable, str(ROOT / "extract_features.py"), "--input_file=" + input_file,
          "--output_file=" + output_file, "--vocab_file=" + tiny["vocab_file"],
          "--bert_config_file=" + tiny["bert_config_file"], "--init_checkpoint=" + tiny["checkpoint"],
          "--max_seq_length=%d" % SEQ, "--batch_size=1"] + list(extra)


def test_script_writes_googles_token_json(tiny, input_file, tmp_path):
  output = tmp_path / "features.jsonl"
  result = subprocess.run(script_args(tiny, input_file, str(output), "--layers=-1,0"), capture_output=True,
                          text=True, timeout=180, cwd=str(ROOT))
  assert result.returncode == 0, result.stderr
  lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
  assert [line["linex_index"] for line in lines] == [0, 1]
  tokenizer = tokenization.FullTokenizer(tiny["vocab_file"], do_lower_case=True)
  layers = tiny["single_segment_layers"]
  for row, (line, sentence) in enumerate(zip(lines, interop_helpers.SENTENCES)):
    tokens = [feature["token"] for feature in line["features"]]
    assert tokens == ["[CLS]"] + tokenizer.tokenize(sentence) + ["[SEP]"]
    for position, feature in enumerate(line["features"]):
      assert [layer["index"] for layer in feature["layers"]] == [-1, 0]
      np.testing.assert_allclose(feature["layers"][0]["values"], layers[-1][row, position], atol=1e-5, rtol=0)
      np.testing.assert_allclose(feature["layers"][1]["values"], layers[0][row, position], atol=1e-5, rtol=0)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["features.jsonl", "input.txt"]  # no temp file left


def test_script_writes_mean_pooled_vectors_as_npy(tiny, input_file, tmp_path):
  output = tmp_path / "vectors.npy"
  result = subprocess.run(script_args(tiny, input_file, str(output), "--layers=-1", "--pooling=mean"),
                          capture_output=True, text=True, timeout=180, cwd=str(ROOT))
  assert result.returncode == 0, result.stderr
  vectors = np.load(str(output))
  assert vectors.shape == (2, 32) and vectors.dtype == np.float32
  expected = mean_pool(tiny["single_segment_sequence_output"], tiny["input_mask"])
  np.testing.assert_allclose(vectors, expected, atol=1e-5, rtol=0)


def test_cls_pooling_json_lines_concatenates_layers(tiny, input_file, tmp_path):
  config = modeling.BertConfig.from_json_file(tiny["bert_config_file"])
  tokenizer = tokenization.FullTokenizer(tiny["vocab_file"], do_lower_case=True)
  model_fn = feature_extraction.model_fn_builder(config, tiny["checkpoint"], [-1, -2], use_tpu=False,
                                                 use_one_hot_embeddings=True, pooling="cls")
  estimator = estimator_utils.build_estimator(model_fn, estimator_utils.RunOptions(), str(tmp_path / "model"),
                                              train_batch_size=2, predict_batch_size=2)
  output = str(tmp_path / "cls.jsonl")
  # chunk_size=1 runs one predict call per example: chunking must not change or reorder anything.
  count = feature_extraction.extract(estimator, feature_extraction.read_examples(input_file), tokenizer, SEQ,
                                     [-1, -2], output, pooling="cls", chunk_size=1)
  assert count == 2
  lines = [json.loads(line) for line in open(output, encoding="utf-8")]
  layers = tiny["single_segment_layers"]
  for row, line in enumerate(lines):
    assert line["linex_index"] == row
    expected = np.concatenate([layers[-1][row, 0], layers[-2][row, 0]])
    np.testing.assert_allclose(line["values"], expected, atol=1e-5, rtol=0)


def test_pairs_truncation_and_blank_lines(tiny, tmp_path):
  path = tmp_path / "pairs.txt"
  path.write_text("北京 ||| 大学\n\nhello world\n", encoding="utf-8")
  examples = list(feature_extraction.read_examples(str(path)))
  assert examples == [feature_extraction.InputExample(0, "北京", "大学"),
                      feature_extraction.InputExample(1, "", None),
                      feature_extraction.InputExample(2, "hello world", None)]
  tokenizer = tokenization.FullTokenizer(tiny["vocab_file"], do_lower_case=True)
  pair = feature_extraction.convert_example(examples[0], 8, tokenizer)
  assert pair.tokens == ["[CLS]", "北", "京", "[SEP]", "大", "学", "[SEP]"]
  assert pair.input_type_ids == [0, 0, 0, 0, 1, 1, 1, 0]
  assert pair.input_mask == [1] * 7 + [0]
  blank = feature_extraction.convert_example(examples[1], 8, tokenizer)
  assert blank.tokens == ["[CLS]", "[SEP]"]
  long_pair = feature_extraction.InputExample(3, "我们在北京大学研究", "生命科学")
  truncated = feature_extraction.convert_example(long_pair, 8, tokenizer)
  # 5 slots for text: the longer side is cut first, as in Google's _truncate_seq_pair.
  assert truncated.tokens == ["[CLS]", "我", "们", "在", "[SEP]", "生", "命", "[SEP]"]


def test_bad_input(tiny, tmp_path, input_file):
  with pytest.raises(UsageError, match="--layers: 2 is out of range for a model with 2 layers"):
    feature_extraction.parse_layers("-1,2", 2)
  with pytest.raises(UsageError, match="comma-separated integers"):
    feature_extraction.parse_layers("last", 2)
  tensors = interop_helpers.checkpoint_tensors(tiny["checkpoint"])
  del tensors["bert/encoder/layer_0/attention/self/value/kernel"]
  del tensors["bert/pooler/dense/kernel"]  # not needed for features, so not reported
  broken = str(tmp_path / "broken" / "model.ckpt")
  hf_interop.write_tf_checkpoint(tensors, broken)
  with pytest.raises(UsageError, match=r"lacks 1 variable\(s\) needed for BertModel: "
                                       r"bert/encoder/layer_0/attention/self/value/kernel$"):
    hf_interop.check_bert_checkpoint(broken, tiny["config"], with_pooler=False)
  with pytest.raises(UsageError, match="does not exist"):
    list(feature_extraction.read_examples(str(tmp_path / "absent.txt")))
  args = script_args(tiny, input_file, str(tmp_path / "out.jsonl"), "--max_seq_length=100")
  result = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=str(ROOT))
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("error: --max_seq_length 100 exceeds max_position_embeddings 64"), last
  assert "Traceback" not in result.stderr


GOOGLE_FLAGS = {
    "input_file": None, "output_file": None, "layers": "-1,-2,-3,-4", "bert_config_file": None,
    "max_seq_length": 128, "init_checkpoint": None, "vocab_file": None, "do_lower_case": True, "batch_size": 32,
    "use_tpu": False, "master": None, "num_tpu_cores": 8, "use_one_hot_embeddings": False,
}


def test_googles_flags_and_defaults_are_kept():
  # In a fresh interpreter: importing the script here could clash with other scripts' flags in this process.
  code = ("import json, extract_features; from absl import flags; "
          "print(json.dumps({name: flags.FLAGS[name].default for name in %r} | "
          "{'pooling': flags.FLAGS['pooling'].default}))" % sorted(GOOGLE_FLAGS))
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=str(ROOT))
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout.strip().splitlines()[-1]) == dict(GOOGLE_FLAGS, pooling="none")
