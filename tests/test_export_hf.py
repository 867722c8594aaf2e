"""export_hf.py / bert.hf_interop export: transformers (torch CPU) must reproduce the project's own outputs."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import interop_helpers
import tokenization
from bert import hf_interop
from bert.errors import UsageError
from conftest import ROOT

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

ATOL = 1e-4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  return interop_helpers.build_tiny_checkpoint(str(tmp_path_factory.mktemp("tiny_ckpt")))


def export(tiny, output_dir, **kwargs):
  return hf_interop.export_hf(tiny["checkpoint"], tiny["bert_config_file"], tiny["vocab_file"], str(output_dir),
                              **kwargs)


def run_hf(model, tiny, **kwargs):
  with torch.no_grad():
    return model(input_ids=torch.tensor(tiny["input_ids"], dtype=torch.long),
                 attention_mask=torch.tensor(tiny["input_mask"], dtype=torch.long),
                 token_type_ids=torch.tensor(tiny["segment_ids"], dtype=torch.long), **kwargs)


def load(model_class, path):
  model, info = model_class.from_pretrained(str(path), output_loading_info=True)
  # Every parameter of the HF class came from the file, and nothing in the file was left unused.
  assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == [], info
  return model.eval()


def close(actual, expected):
  np.testing.assert_allclose(np.asarray(actual), expected, atol=ATOL, rtol=0)


def test_bert_model_hidden_states_match(tiny, tmp_path):
  summary = export(tiny, tmp_path, head="none")
  assert summary.architecture == "BertModel" and summary.head == "none"
  config = json.loads((tmp_path / "config.json").read_text())
  assert config["model_type"] == "bert" and config["architectures"] == ["BertModel"]
  # Google's "gelu" is the tanh approximation, which transformers calls gelu_new.
  assert config["hidden_act"] == "gelu_new"
  model = load(transformers.BertModel, tmp_path)
  out = run_hf(model, tiny, output_hidden_states=True)
  close(out.last_hidden_state, tiny["sequence_output"])
  close(out.pooler_output, tiny["pooled_output"])
  close(out.hidden_states[0], tiny["embedding_output"])
  for hf_layer, tf_layer in zip(out.hidden_states[1:], tiny["all_layers"]):
    close(hf_layer, tf_layer)
  # Optimizer slots and the step counter are dropped, heads too.
  assert "global_step" in summary.left_out and "bert/embeddings/word_embeddings/adam_m" in summary.left_out
  assert "cls/predictions/output_bias" in summary.left_out


def test_pretraining_head_logits_match(tiny, tmp_path):
  export(tiny, tmp_path, head="pretraining")
  model = load(transformers.BertForPreTraining, tmp_path)
  # The decoder is tied to the word embeddings, as in the TF model.
  assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
  out = run_hf(model, tiny)
  vocab = tiny["config"]["vocab_size"]
  mlm = torch.log_softmax(out.prediction_logits, dim=-1).reshape(-1, vocab)
  close(mlm, tiny["mlm_log_probs"])
  close(torch.log_softmax(out.seq_relationship_logits, dim=-1), tiny["nsp_log_probs"])


def test_masked_lm_head_keeps_the_pooler_for_fine_tuning(tiny, tmp_path):
  tensors = interop_helpers.checkpoint_tensors(tiny["checkpoint"])
  for name in [n for n in tensors if not n.startswith(("bert/", "cls/predictions/"))]:
    del tensors[name]
  no_nsp = str(tmp_path / "no_nsp" / "model.ckpt")  # pretrained without next-sentence prediction
  hf_interop.write_tf_checkpoint(tensors, no_nsp)
  summary = hf_interop.export_hf(no_nsp, tiny["bert_config_file"], tiny["vocab_file"], str(tmp_path / "hf"))
  assert summary.head == "masked_lm" and summary.architecture == "BertForMaskedLM"
  model, info = transformers.BertForMaskedLM.from_pretrained(str(tmp_path / "hf"), output_loading_info=True)
  assert info["missing_keys"] == [] and sorted(info["unexpected_keys"]) == ["bert.pooler.dense.bias",
                                                                             "bert.pooler.dense.weight"]
  mlm = torch.log_softmax(run_hf(model.eval(), tiny).logits, dim=-1).reshape(-1, tiny["config"]["vocab_size"])
  close(mlm, tiny["mlm_log_probs"])
  classifier = transformers.BertForSequenceClassification.from_pretrained(str(tmp_path / "hf"), num_labels=2)
  close(run_hf(classifier.bert.eval(), tiny).pooler_output, tiny["pooled_output"])


def test_classifier_head_logits_and_labels(tiny, tmp_path):
  export(tiny, tmp_path, head="classifier", label_names=interop_helpers.LABEL_NAMES)
  model = load(transformers.BertForSequenceClassification, tmp_path)
  assert model.config.num_labels == interop_helpers.NUM_LABELS
  assert model.config.id2label == dict(enumerate(interop_helpers.LABEL_NAMES))
  assert model.config.label2id["positive"] == 2
  close(run_hf(model, tiny).logits, tiny["classifier_logits"])


def test_classifier_default_label_names(tiny, tmp_path):
  export(tiny, tmp_path, head="classifier")
  config = json.loads((tmp_path / "config.json").read_text())
  assert config["id2label"] == {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}


def test_squad_head_logits_match(tiny, tmp_path):
  summary = export(tiny, tmp_path, head="squad")
  assert summary.architecture == "BertForQuestionAnswering"
  model = load(transformers.BertForQuestionAnswering, tmp_path)
  out = run_hf(model, tiny)
  close(out.start_logits, tiny["start_logits"])
  close(out.end_logits, tiny["end_logits"])


def test_auto_head_prefers_the_task_head(tiny, tmp_path):
  # The fixture holds every head; a run_squad.py checkpoint is recognised by cls/squad/*.
  assert export(tiny, tmp_path, head="auto").head == "squad"


def test_tokenizer_files_reproduce_full_tokenizer(tiny, tmp_path):
  export(tiny, tmp_path, head="none")
  hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
  ours = tokenization.FullTokenizer(tiny["vocab_file"], do_lower_case=True)
  for sentence in interop_helpers.SENTENCES + ["未知字 Unknown"]:
    expected = ["[CLS]"] + ours.tokenize(sentence) + ["[SEP]"]
    assert hf_tokenizer.convert_ids_to_tokens(hf_tokenizer(sentence)["input_ids"]) == expected
  ids = hf_tokenizer(interop_helpers.SENTENCES, padding="max_length", max_length=interop_helpers.SEQ_LENGTH)
  np.testing.assert_array_equal(ids["input_ids"], tiny["input_ids"])


def test_sentence_transformers_mean_pooling(tiny, tmp_path, monkeypatch):
  # Importing sentence-transformers imports transformers' TF utilities, which set TF_USE_LEGACY_KERAS=1 for
  # the whole process when it is unset; TensorFlow then cannot load tf.estimator without the tf_keras package,
  # so later tests (and subprocesses) in this worker would fail. Pinning it to 0 here keeps it unset afterwards.
  monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")
  st = pytest.importorskip("sentence_transformers")
  export(tiny, tmp_path, head="none", sentence_pooling="mean")
  encoder = st.SentenceTransformer(str(tmp_path), device="cpu")
  embeddings = encoder.encode(interop_helpers.SENTENCES, convert_to_numpy=True)
  mask = tiny["input_mask"][:, :, None].astype(np.float32)
  expected = (tiny["single_segment_sequence_output"] * mask).sum(axis=1) / mask.sum(axis=1)
  close(embeddings, expected)


def test_missing_variables_are_all_listed(tiny, tmp_path):
  tensors = interop_helpers.checkpoint_tensors(tiny["checkpoint"])
  for name in ("bert/encoder/layer_1/output/dense/kernel", "bert/pooler/dense/bias", "cls/predictions/output_bias"):
    del tensors[name]
  broken = str(tmp_path / "broken" / "model.ckpt")
  hf_interop.write_tf_checkpoint(tensors, broken)
  with pytest.raises(UsageError) as error:
    hf_interop.export_hf(broken, tiny["bert_config_file"], tiny["vocab_file"], str(tmp_path / "out"),
                         head="pretraining")
  message = str(error.value)
  assert "lacks 3 variable(s)" in message
  for name in ("bert/encoder/layer_1/output/dense/kernel", "bert/pooler/dense/bias", "cls/predictions/output_bias"):
    assert name in message
  assert not (tmp_path / "out" / "config.json").exists()


def test_vocab_and_config_mismatches_are_refused(tiny, tmp_path):
  short_vocab = tmp_path / "vocab.txt"
  short_vocab.write_text("".join(line + "\n" for line in ["[PAD]", "[UNK]", "[CLS]"]), encoding="utf-8")
  with pytest.raises(UsageError, match=r"vocab size mismatch: .* has 3 tokens but --bert_config_file says"):
    hf_interop.export_hf(tiny["checkpoint"], tiny["bert_config_file"], str(short_vocab), str(tmp_path / "out"))
  # A config that disagrees with the checkpoint's shapes.
  config = dict(tiny["config"], intermediate_size=48)
  config_file = tmp_path / "bert_config.json"
  config_file.write_text(json.dumps(config))
  with pytest.raises(UsageError, match=r"intermediate/dense/kernel \[32, 64\] \(config says \[32, 48\]\)"):
    hf_interop.export_hf(tiny["checkpoint"], str(config_file), tiny["vocab_file"], str(tmp_path / "out"))
  with pytest.raises(UsageError, match="no checkpoint there"):
    hf_interop.export_hf(str(tmp_path / "nothing"), tiny["bert_config_file"], tiny["vocab_file"],
                         str(tmp_path / "out"))
  with pytest.raises(UsageError, match="--label_names has 2 names but the classifier head has 3 labels"):
    export(tiny, tmp_path / "out", head="classifier", label_names=["a", "b"])


def test_script_exports_and_reports_errors_in_one_line(tiny, tmp_path):
  args = [sys.executable, str(ROOT / "export_hf.py"), "--init_checkpoint=" + os.path.dirname(tiny["checkpoint"]),
          "--bert_config_file=" + tiny["bert_config_file"], "--vocab_file=" + tiny["vocab_file"],
          "--output_dir=" + str(tmp_path / "hf"), "--head=classifier", "--label_names=neg,neu,pos"]
  result = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=str(ROOT))
  assert result.returncode == 0, result.stderr
  assert sorted(os.listdir(tmp_path / "hf")) == ["config.json", "model.safetensors", "special_tokens_map.json",
                                                 "tokenizer_config.json", "vocab.txt"]
  assert json.loads((tmp_path / "hf" / "config.json").read_text())["id2label"]["2"] == "pos"

  bad = args[:-2] + ["--vocab_file=" + tiny["bert_config_file"]]
  result = subprocess.run(bad, capture_output=True, text=True, timeout=120, cwd=str(ROOT))
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith("error: vocab size mismatch")
  assert "Traceback" not in result.stderr


def restored_task_outputs(tiny, build):
  """Runs a task script's own model (built by `build(config, ids, mask, segments)`) restored from the tiny
  checkpoint, so the export is checked against the graphs run_classifier.py / run_squad.py really build."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from bert import modeling  # pylint: disable=g-import-not-at-top
  config = modeling.BertConfig.from_json_file(tiny["bert_config_file"])
  with tf.Graph().as_default():
    outputs = build(config, tf.constant(tiny["input_ids"]), tf.constant(tiny["input_mask"]),
                    tf.constant(tiny["segment_ids"]))
    with tf.compat.v1.Session() as sess:
      tf.compat.v1.train.Saver().restore(sess, tiny["checkpoint"])
      return sess.run(outputs)


def test_classifier_export_matches_run_classifier_model(tiny, tmp_path):
  from bert.classifier import model as classifier_model  # pylint: disable=g-import-not-at-top

  def build(config, ids, mask, segments):
    _, _, logits, _ = classifier_model.create_model(config, False, ids, mask, segments, labels=None,
                                                    num_labels=interop_helpers.NUM_LABELS,
                                                    use_one_hot_embeddings=False)
    return logits

  expected = restored_task_outputs(tiny, build)
  export(tiny, tmp_path, head="classifier")
  close(run_hf(load(transformers.BertForSequenceClassification, tmp_path), tiny).logits, expected)


def test_squad_export_matches_run_squad_model(tiny, tmp_path):
  from bert.squad import model as squad_model  # pylint: disable=g-import-not-at-top

  def build(config, ids, mask, segments):
    return squad_model.create_model(config, False, ids, mask, segments, use_one_hot_embeddings=False)

  start, end = restored_task_outputs(tiny, build)
  export(tiny, tmp_path, head="squad")
  out = run_hf(load(transformers.BertForQuestionAnswering, tmp_path), tiny)
  close(out.start_logits, start)
  close(out.end_logits, end)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_exported_files_get_the_mode_of_new_files(tiny, tmp_path, umask, mode):
  """model.safetensors was 0600 (safetensors' private temporary file) while the other files were 0644."""
  previous = os.umask(umask)
  try:
    export(tiny, tmp_path / "hf", head="pretraining", sentence_pooling="mean")
  finally:
    os.umask(previous)
  modes = {str(path.relative_to(tmp_path / "hf")): path.stat().st_mode & 0o777
           for path in (tmp_path / "hf").rglob("*") if path.is_file()}
  assert {"model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json", "1_Pooling/config.json"} <= set(modes)
  assert modes == {name: mode for name in modes}, {name: oct(m) for name, m in modes.items()}
  assert not [name for name in modes if name.endswith(".tmp")]
