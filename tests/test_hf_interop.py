"""bert/hf_interop.py: the name tables against both real model definitions, config conversion, checkpoint writing."""
import numpy as np
import pytest
import tensorflow as tf

from bert import hf_interop
from bert import modeling
from bert.errors import UsageError

tf1 = tf.compat.v1

CONFIG = {"vocab_size": 30, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
          "intermediate_size": 24, "max_position_embeddings": 20, "type_vocab_size": 2, "hidden_act": "gelu",
          "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}


def project_variable_shapes():
  """Variables (name -> shape) that bert.modeling creates for BertModel and the pretraining heads."""
  config = modeling.BertConfig.from_dict(CONFIG)
  with tf.Graph().as_default():
    ids = tf.zeros([2, 8], tf.int32)
    model = modeling.BertModel(config, is_training=False, input_ids=ids)
    backbone = {v.op.name: tuple(v.shape.as_list()) for v in tf1.global_variables()}
    modeling.get_masked_lm_output(config, model.get_sequence_output(), model.get_embedding_table(), ids, ids,
                                  tf.ones([2, 8]))
    modeling.get_next_sentence_output(config, model.get_pooled_output(), tf.zeros([2], tf.int32))
    everything = {v.op.name: tuple(v.shape.as_list()) for v in tf1.global_variables()}
  heads = {k: v for k, v in everything.items() if k not in backbone}
  return backbone, heads


def test_rules_cover_exactly_the_variables_of_bert_modeling():
  backbone, heads = project_variable_shapes()
  rules = hf_interop.backbone_rules(CONFIG["num_hidden_layers"])
  assert {r.tf_name for r in rules} == set(backbone)
  assert {r.tf_name for r in hf_interop.head_rules("pretraining")} == set(heads)
  # The shapes the exporter checks are the shapes the model creates.
  expected = hf_interop.expected_tf_shapes(CONFIG, "pretraining")
  assert expected == dict(backbone, **heads)


@pytest.mark.parametrize("head", hf_interop.HEADS)
def test_rules_cover_exactly_the_parameters_of_transformers(head):
  transformers = pytest.importorskip("transformers")
  config = transformers.BertConfig(**hf_interop.hf_config_dict(CONFIG, head, num_labels=3))
  model_class = getattr(transformers, hf_interop.ARCHITECTURES[head])
  model = model_class(config)
  parameters = {name: tuple(p.shape) for name, p in model.named_parameters()}
  rules = hf_interop.export_rules(CONFIG["num_hidden_layers"], head)
  # named_parameters lists tied parameters once, under the embedding's name, as we store them.
  assert {r.hf_name for r in rules} == set(parameters)
  tf_shapes = hf_interop.expected_tf_shapes(CONFIG, head, num_labels=3)
  for rule in rules:
    tf_shape = tf_shapes[rule.tf_name]
    assert parameters[rule.hf_name] == (tf_shape[::-1] if rule.transpose else tf_shape), rule


def test_only_dense_kernels_are_transposed():
  rules = hf_interop.export_rules(2, "pretraining") + hf_interop.head_rules("classifier") + \
      hf_interop.head_rules("squad")
  transposed = {r.tf_name for r in rules if r.transpose}
  assert transposed == {r.tf_name for r in rules if r.tf_name.endswith("/kernel")}
  # Google's output_weights are [num_classes, hidden] already, like torch's Linear.weight.
  assert not any(r.transpose for r in rules if r.tf_name.endswith("output_weights"))


def test_detect_head():
  base = [r.tf_name for r in hf_interop.backbone_rules(2)] + ["global_step", "bert/pooler/dense/kernel/adam_m"]
  assert hf_interop.detect_head(base) == "none"
  assert hf_interop.detect_head(base + ["cls/predictions/output_bias"]) == "masked_lm"
  assert hf_interop.detect_head(base + ["cls/predictions/output_bias", "cls/seq_relationship/output_weights"]) == \
      "pretraining"
  assert hf_interop.detect_head(base + ["output_weights", "output_bias"]) == "classifier"
  assert hf_interop.detect_head(base + ["cls/squad/output_weights"]) == "squad"


def test_activation_names_round_trip():
  # Google's "gelu" is the tanh approximation; transformers' "gelu" is exact.
  assert hf_interop.hf_activation("gelu") == "gelu_new"
  assert hf_interop.tf_activation("gelu") == "gelu_exact"
  for tf_act in ("gelu", "gelu_exact", "relu", "tanh"):
    assert hf_interop.tf_activation(hf_interop.hf_activation(tf_act)) == tf_act
    modeling.get_activation(tf_act)  # bert.modeling knows every name the importer writes
  with pytest.raises(UsageError, match="hidden_act='silu' is not supported"):
    hf_interop.tf_activation("silu")
  with pytest.raises(UsageError, match="has no transformers equivalent"):
    hf_interop.hf_activation("swish")


def test_tf_config_from_hf_config_and_refusals():
  hf_config = hf_interop.hf_config_dict(CONFIG, "none")
  assert hf_interop.tf_bert_config_dict(hf_config) == {k: CONFIG[k] for k in hf_interop.BERT_CONFIG_FIELDS}
  with pytest.raises(UsageError, match="model_type is 'albert', not 'bert'"):
    hf_interop.tf_bert_config_dict(dict(hf_config, model_type="albert"))
  with pytest.raises(UsageError, match="position_embedding_type=relative_key is not supported"):
    hf_interop.tf_bert_config_dict(dict(hf_config, position_embedding_type="relative_key"))
  with pytest.raises(UsageError, match="decoder"):
    hf_interop.tf_bert_config_dict(dict(hf_config, is_decoder=True))
  broken = dict(hf_config)
  del broken["num_hidden_layers"]
  with pytest.raises(UsageError, match="lacks num_hidden_layers"):
    hf_interop.tf_bert_config_dict(broken)


def test_written_checkpoint_restores_into_graph_variables(tmp_path):
  values = {"bert/a/kernel": np.arange(6, dtype=np.float32).reshape(2, 3), "cls/b": np.array([1.5], np.float32),
            "step": np.array(3, np.int64)}
  prefix = str(tmp_path / "sub" / "bert_model.ckpt")
  hf_interop.write_tf_checkpoint(values, prefix)
  assert dict(tf.train.list_variables(str(tmp_path / "sub"))) == {"bert/a/kernel": [2, 3], "cls/b": [1],
                                                                  "step": []}
  with tf.Graph().as_default():
    kernel = tf1.get_variable("bert/a/kernel", [2, 3])
    step = tf1.get_variable("step", [], tf.int64)
    with tf1.Session() as sess:
      tf1.train.Saver([kernel, step]).restore(sess, prefix)
      np.testing.assert_array_equal(sess.run(kernel), values["bert/a/kernel"])
      assert sess.run(step) == 3
  assert not list((tmp_path / "sub").glob("*.tmp*"))
