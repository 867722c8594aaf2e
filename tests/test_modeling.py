"""Tests for bert/modeling.py.

The main proof: a tiny model with random weights (heads included) is saved as a TF checkpoint, loaded by
Hugging Face's `load_tf_weights_in_bert` into `BertForPreTraining`, and both are run on real Chinese sentences
with padding; every output must agree to 1e-4.
"""
import json
import logging

import numpy as np
import pytest
import tensorflow as tf

import tokenization
from bert import modeling
from bert import optimization
from bert.errors import UsageError
from conftest import ZH_VOCAB, shared_path

tf1 = tf.compat.v1

TINY = dict(vocab_size=21128, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
            hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
            max_position_embeddings=64, type_vocab_size=2, initializer_range=0.02)
SEQ_LENGTH = 48
NUM_PREDICTIONS = 5


def _tiny_config(**overrides):
  fields = dict(TINY)
  fields.update(overrides)
  return modeling.BertConfig.from_dict(fields)


def _chinese_batch(num_sentences=6):
  """Tokenizes real sentences of different lengths into a padded batch (sentence pairs for the last two)."""
  path = shared_path("pretrain_zh", "news_zh_1.txt")
  lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 8]
  tokenizer = tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=True)
  rng = np.random.RandomState(1)
  input_ids = np.zeros([num_sentences, SEQ_LENGTH], np.int32)
  input_mask = np.zeros_like(input_ids)
  segment_ids = np.zeros_like(input_ids)
  positions = np.zeros([num_sentences, NUM_PREDICTIONS], np.int32)
  for row in range(num_sentences):
    # Lengths from 10 to SEQ_LENGTH tokens, so most rows are padded and one is full.
    length = SEQ_LENGTH if row == 0 else 10 + 6 * row
    first = tokenizer.tokenize(lines[row])
    if row >= num_sentences - 2:
      second = tokenizer.tokenize(lines[row + 10])
      half = (length - 3) // 2
      tokens = ["[CLS]"] + first[:half] + ["[SEP]"] + second[:length - 3 - half] + ["[SEP]"]
      segments = [0] * (half + 2) + [1] * (len(tokens) - half - 2)
    else:
      tokens = ["[CLS]"] + first[:length - 2] + ["[SEP]"]
      segments = [0] * len(tokens)
    ids = tokenizer.convert_tokens_to_ids(tokens)
    input_ids[row, :len(ids)] = ids
    input_mask[row, :len(ids)] = 1
    segment_ids[row, :len(ids)] = segments
    positions[row] = rng.choice(np.arange(1, len(ids) - 1), NUM_PREDICTIONS, replace=False)
  assert input_mask.sum(axis=1).min() < SEQ_LENGTH, "the batch must contain padding"
  assert (input_ids[input_mask == 1] == tokenizer.vocab["[UNK]"]).mean() < 0.05
  return input_ids, input_mask, segment_ids, positions


def _build_pretraining_graph(config, batch_size, seq_length, compute_type=tf.float32, is_training=False,
                             scope=None):
  """Builds encoder + both heads; returns (placeholders, outputs, model)."""
  feeds = dict(
      input_ids=tf1.placeholder(tf.int32, [batch_size, seq_length], "input_ids"),
      input_mask=tf1.placeholder(tf.int32, [batch_size, seq_length], "input_mask"),
      segment_ids=tf1.placeholder(tf.int32, [batch_size, seq_length], "segment_ids"),
      positions=tf1.placeholder(tf.int32, [batch_size, NUM_PREDICTIONS], "positions"))
  model = modeling.BertModel(config, is_training=is_training, input_ids=feeds["input_ids"],
                             input_mask=feeds["input_mask"], token_type_ids=feeds["segment_ids"],
                             scope=scope, compute_type=compute_type)
  mlm_loss, _, mlm_log_probs = modeling.get_masked_lm_output(
      config, model.get_sequence_output(), model.get_embedding_table(), feeds["positions"],
      tf.zeros([batch_size, NUM_PREDICTIONS], tf.int32), tf.ones([batch_size, NUM_PREDICTIONS]))
  nsp_loss, _, nsp_log_probs = modeling.get_next_sentence_output(
      config, model.get_pooled_output(), tf.zeros([batch_size], tf.int32))
  outputs = dict(sequence=model.get_sequence_output(), pooled=model.get_pooled_output(),
                 mlm_log_probs=mlm_log_probs, nsp_log_probs=nsp_log_probs, loss=mlm_loss + nsp_loss)
  return feeds, outputs, model


def _randomize_all_variables(sess, rng):
  """Overwrites every variable with random values (gamma around 1), so no zero bias or unit gain hides a
  misplaced weight."""
  assign_ops, feeds = [], {}
  for var in tf1.trainable_variables():
    shape = var.shape.as_list()
    if var.op.name.endswith("gamma"):
      value = 1.0 + 0.2 * rng.randn(*shape)
    else:
      value = 0.1 * rng.randn(*shape)
    placeholder = tf1.placeholder(tf.float32, shape)
    assign_ops.append(var.assign(placeholder))
    feeds[placeholder] = value.astype(np.float32)
  sess.run(assign_ops, feeds)


def _feed_dict(feeds, batch):
  return {feeds[name]: value for name, value in zip(("input_ids", "input_mask", "segment_ids", "positions"), batch)}


def test_matches_hugging_face_bert_for_pretraining_on_padded_chinese_batch(tmp_path):
  torch = pytest.importorskip("torch")
  from transformers import BertConfig as HFBertConfig
  from transformers import BertForPreTraining
  from transformers.models.bert import modeling_bert

  batch = _chinese_batch()
  config = _tiny_config()
  with tf.Graph().as_default(), tf1.Session() as sess:
    feeds, outputs, _ = _build_pretraining_graph(config, *batch[0].shape)
    # Optimizer slots and global_step in the checkpoint, as in a real pretraining checkpoint.
    optimization.create_optimizer(outputs["loss"], 1e-4, 10, 1, use_tpu=False)
    sess.run(tf1.global_variables_initializer())
    _randomize_all_variables(sess, np.random.RandomState(0))
    tf_out = sess.run(outputs, _feed_dict(feeds, batch))
    checkpoint = tf1.train.Saver().save(sess, str(tmp_path / "model.ckpt"))

  hf_config = HFBertConfig(
      vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.num_hidden_layers,
      num_attention_heads=config.num_attention_heads, intermediate_size=config.intermediate_size,
      hidden_act="gelu_new",  # Google's "gelu" is the tanh approximation, HF's "gelu_new".
      max_position_embeddings=config.max_position_embeddings, type_vocab_size=config.type_vocab_size,
      layer_norm_eps=1e-12, attn_implementation="eager")
  hf_model = BertForPreTraining(hf_config).eval()
  with torch.no_grad():
    for parameter in hf_model.parameters():
      parameter.fill_(float("nan"))  # anything the checkpoint does not provide stays NaN

  messages = []
  handler = logging.Handler(level=logging.DEBUG)
  handler.emit = lambda record: messages.append(record.getMessage())
  hf_logger = logging.getLogger(modeling_bert.__name__)
  old_level = hf_logger.level
  hf_logger.addHandler(handler)
  hf_logger.setLevel(logging.DEBUG)
  try:
    modeling_bert.load_tf_weights_in_bert(hf_model, hf_config, checkpoint)
  finally:
    hf_logger.removeHandler(handler)
    hf_logger.setLevel(old_level)

  skipped = sorted(m.split(" ", 1)[1] for m in messages if m.startswith("Skipping"))
  assert skipped, "expected the optimizer slots to be reported as skipped"
  assert all(name == "global_step" or name.endswith(("/adam_m", "/adam_v")) for name in skipped), skipped
  missing = [name for name, value in hf_model.named_parameters() if torch.isnan(value).any()]
  assert missing == []

  input_ids, input_mask, segment_ids, positions = batch
  with torch.no_grad():
    hf_bert = hf_model.bert(input_ids=torch.from_numpy(input_ids.astype(np.int64)),
                            attention_mask=torch.from_numpy(input_mask.astype(np.int64)),
                            token_type_ids=torch.from_numpy(segment_ids.astype(np.int64)))
    mlm_logits, nsp_logits = hf_model.cls(hf_bert.last_hidden_state, hf_bert.pooler_output)
  hf_sequence = hf_bert.last_hidden_state.numpy()
  hf_pooled = hf_bert.pooler_output.numpy()
  rows = np.repeat(np.arange(len(positions)), NUM_PREDICTIONS)
  hf_mlm_log_probs = torch.log_softmax(mlm_logits, dim=-1).numpy()[rows, positions.reshape(-1)]
  hf_nsp_log_probs = torch.log_softmax(nsp_logits, dim=-1).numpy()

  # Outputs are O(1) with these weights, so 1e-4 absolute is a tight check.
  assert np.abs(tf_out["sequence"]).mean() > 0.3
  assert np.abs(tf_out["mlm_log_probs"]).mean() > 1.0
  np.testing.assert_allclose(tf_out["sequence"], hf_sequence, rtol=0, atol=1e-4)
  np.testing.assert_allclose(tf_out["pooled"], hf_pooled, rtol=0, atol=1e-4)
  np.testing.assert_allclose(tf_out["mlm_log_probs"], hf_mlm_log_probs, rtol=0, atol=1e-4)
  np.testing.assert_allclose(tf_out["nsp_log_probs"], hf_nsp_log_probs, rtol=0, atol=1e-4)
  # Padding must not leak: a padded row equals the same row run alone without its padding.
  length = int(input_mask[1].sum())
  with torch.no_grad():
    alone = hf_model.bert(input_ids=torch.from_numpy(input_ids[1:2, :length].astype(np.int64)),
                          token_type_ids=torch.from_numpy(segment_ids[1:2, :length].astype(np.int64)))
  np.testing.assert_allclose(tf_out["sequence"][1, :length], alone.last_hidden_state.numpy()[0], atol=1e-4)


def _expected_variable_names(num_layers):
  """The checkpoint names listed in DESIGN.md (Google's names)."""
  names = ["bert/embeddings/word_embeddings", "bert/embeddings/token_type_embeddings",
           "bert/embeddings/position_embeddings", "bert/embeddings/LayerNorm/beta",
           "bert/embeddings/LayerNorm/gamma", "bert/pooler/dense/kernel", "bert/pooler/dense/bias",
           "cls/predictions/transform/dense/kernel", "cls/predictions/transform/dense/bias",
           "cls/predictions/transform/LayerNorm/beta", "cls/predictions/transform/LayerNorm/gamma",
           "cls/predictions/output_bias", "cls/seq_relationship/output_weights",
           "cls/seq_relationship/output_bias"]
  for layer in range(num_layers):
    prefix = "bert/encoder/layer_%d/" % layer
    for part in ("attention/self/query", "attention/self/key", "attention/self/value", "attention/output/dense",
                 "intermediate/dense", "output/dense"):
      names += [prefix + part + "/kernel", prefix + part + "/bias"]
    for part in ("attention/output/LayerNorm", "output/LayerNorm"):
      names += [prefix + part + "/beta", prefix + part + "/gamma"]
  return names


def test_variable_names_and_shapes_are_googles():
  config = _tiny_config(num_hidden_layers=3)
  with tf.Graph().as_default():
    _build_pretraining_graph(config, 2, 16)
    shapes = {v.op.name: v.shape.as_list() for v in tf1.global_variables()}
  assert sorted(shapes) == sorted(_expected_variable_names(3))
  assert shapes["bert/embeddings/word_embeddings"] == [21128, 64]
  assert shapes["bert/embeddings/position_embeddings"] == [64, 64]
  assert shapes["bert/encoder/layer_2/intermediate/dense/kernel"] == [64, 256]
  assert shapes["bert/encoder/layer_2/output/dense/kernel"] == [256, 64]
  assert shapes["cls/seq_relationship/output_weights"] == [2, 64]
  assert shapes["cls/predictions/output_bias"] == [21128]


def test_reduced_precision_compute_keeps_float32_variables_and_outputs_close_to_float32():
  config = _tiny_config(vocab_size=200)
  rng = np.random.RandomState(3)
  batch = (rng.randint(5, 200, size=[3, 24]).astype(np.int32), np.ones([3, 24], np.int32),
           np.zeros([3, 24], np.int32), rng.randint(0, 24, size=[3, NUM_PREDICTIONS]).astype(np.int32))
  batch[1][1, 15:] = 0
  results = {}
  for compute_type in (tf.float32, tf.bfloat16, tf.float16):
    with tf.Graph().as_default(), tf1.Session() as sess:
      feeds, outputs, _ = _build_pretraining_graph(config, 3, 24, compute_type=compute_type)
      train_op = optimization.create_optimizer(outputs["loss"], 1e-3, 10, 0, use_tpu=False)
      assert {v.dtype.base_dtype for v in tf1.global_variables() if v.op.name != "global_step"} == {tf.float32}
      for name in ("sequence", "pooled", "mlm_log_probs", "nsp_log_probs"):
        assert outputs[name].dtype == tf.float32
      matmul_types = {op.get_attr("T") for op in sess.graph.get_operations()
                      if op.type in ("MatMul", "BatchMatMulV2") and op.name.startswith("bert/encoder")}
      assert matmul_types == {compute_type}
      sess.run(tf1.global_variables_initializer())
      _randomize_all_variables(sess, np.random.RandomState(0))
      results[compute_type] = sess.run(outputs, _feed_dict(feeds, batch))
      # Gradients flow through the casts into the float32 variables.
      for _ in range(2):
        sess.run(train_op, _feed_dict(feeds, batch))
      loss_after = sess.run(outputs["loss"], _feed_dict(feeds, batch))
      assert np.isfinite(loss_after) and loss_after != results[compute_type]["loss"]
  fp32 = results[tf.float32]
  scale = np.abs(fp32["sequence"]).mean()
  for compute_type in (tf.bfloat16, tf.float16):
    low = results[compute_type]
    # Measured: bf16 mean error ~0.6% of the mean activation (max 0.04), fp16 about half of that.
    assert np.abs(fp32["sequence"] - low["sequence"]).mean() < 0.015 * scale
    assert np.abs(fp32["sequence"] - low["sequence"]).max() < 0.1
    assert np.abs(fp32["nsp_log_probs"] - low["nsp_log_probs"]).max() < 0.02
    assert np.abs(fp32["mlm_log_probs"] - low["mlm_log_probs"]).mean() < 0.02
    # Not identical: the encoder really ran in reduced precision.
    assert np.abs(fp32["sequence"] - low["sequence"]).max() > 1e-4


def test_dropout_only_in_training():
  config = _tiny_config(vocab_size=100, hidden_dropout_prob=0.5)
  ids = np.arange(2 * 16, dtype=np.int32).reshape(2, 16) % 100
  with tf.Graph().as_default(), tf1.Session() as sess:
    train_model = modeling.BertModel(config, True, tf.constant(ids))
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
      eval_model = modeling.BertModel(config, False, tf.constant(ids), scope="bert")
    sess.run(tf1.global_variables_initializer())
    train_a, train_b = sess.run(train_model.get_sequence_output()), sess.run(train_model.get_sequence_output())
    eval_a, eval_b = sess.run(eval_model.get_sequence_output()), sess.run(eval_model.get_sequence_output())
  assert not np.allclose(train_a, train_b)
  np.testing.assert_array_equal(eval_a, eval_b)
  assert len(train_model.get_all_encoder_layers()) == 2


def test_dynamic_shapes_and_one_hot_embeddings_give_the_same_outputs():
  config = _tiny_config(vocab_size=100, hidden_size=32)
  ids = (np.arange(3 * 10, dtype=np.int32).reshape(3, 10) * 7) % 100
  mask = np.ones_like(ids)
  mask[2, 6:] = 0
  with tf.Graph().as_default(), tf1.Session() as sess:
    ids_ph = tf1.placeholder(tf.int32, [None, None])
    mask_ph = tf1.placeholder(tf.int32, [None, None])
    dynamic = modeling.BertModel(config, False, ids_ph, input_mask=mask_ph)
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
      one_hot = modeling.BertModel(config, False, tf.constant(ids), input_mask=tf.constant(mask),
                                   use_one_hot_embeddings=True, scope="bert")
    sess.run(tf1.global_variables_initializer())
    got_dynamic = sess.run(dynamic.get_sequence_output(), {ids_ph: ids, mask_ph: mask})
    got_one_hot = sess.run(one_hot.get_sequence_output())
  assert got_dynamic.shape == (3, 10, 32)
  np.testing.assert_allclose(got_dynamic, got_one_hot, atol=1e-5)


def _pretraining_loss_and_gradients(config, batch, sequence_output_positions):
  """Both heads' loss on `batch` with the last layer at every position or only at the masked ones; returns
  (tensors, gradients by variable name) of a model in scope "bert" (variables shared when built twice)."""
  input_ids, input_mask, segment_ids, positions = (tf.constant(value) for value in batch)
  with tf1.variable_scope(tf1.get_variable_scope(), reuse=tf1.AUTO_REUSE):
    model = modeling.BertModel(config, False, input_ids, input_mask=input_mask, token_type_ids=segment_ids,
                               scope="bert",
                               sequence_output_positions=positions if sequence_output_positions else None)
    logits = modeling.get_masked_lm_logits(config, model.get_sequence_output(), model.get_embedding_table(),
                                           None if sequence_output_positions else positions)
    mlm_loss, _ = modeling.masked_lm_loss(logits, input_ids[:, :NUM_PREDICTIONS], tf.ones(positions.shape))
    nsp_loss, _, _ = modeling.get_next_sentence_output(config, model.get_pooled_output(),
                                                       tf.zeros([positions.shape[0]], tf.int32))
  loss = mlm_loss + nsp_loss
  variables = tf1.trainable_variables()
  gradients = dict(zip((v.op.name for v in variables), tf.gradients(loss, variables)))
  return dict(loss=loss, logits=logits, pooled=model.get_pooled_output(),
              last=model.get_all_encoder_layers()[-1]), gradients


def test_last_layer_only_at_the_masked_positions_gives_the_full_models_numbers():
  config = _tiny_config(vocab_size=300)
  input_ids, input_mask, segment_ids, positions = _chinese_batch()
  input_ids = input_ids % 300
  # Repeated positions and position 0 ([CLS]: padding predictions of real records point there).
  positions[1, 1] = positions[1, 0]
  positions[2, 4] = 0
  batch = (input_ids, input_mask, segment_ids, positions)
  with tf.Graph().as_default(), tf1.Session() as sess:
    full, full_gradients = _pretraining_loss_and_gradients(config, batch, False)
    sparse, sparse_gradients = _pretraining_loss_and_gradients(config, batch, True)
    sess.run(tf1.global_variables_initializer())
    _randomize_all_variables(sess, np.random.RandomState(3))
    full, sparse, full_gradients, sparse_gradients = sess.run([full, sparse, full_gradients, sparse_gradients])
  assert sparse["last"].shape == (positions.shape[0], NUM_PREDICTIONS, config.hidden_size)
  rows = np.take_along_axis(full["last"], positions[:, :, None], axis=1)
  np.testing.assert_allclose(sparse["last"], rows, rtol=1e-5, atol=1e-5)
  for name in ("loss", "logits", "pooled"):
    np.testing.assert_allclose(sparse[name], full[name], rtol=1e-5, atol=1e-5, err_msg=name)
  assert sorted(sparse_gradients) == sorted(full_gradients)
  for name, gradient in full_gradients.items():
    np.testing.assert_allclose(sparse_gradients[name], gradient, rtol=1e-4, atol=1e-6, err_msg=name)


def test_config_json_round_trip_and_extra_fields(tmp_path):
  path = tmp_path / "bert_config.json"
  path.write_text(json.dumps(dict(TINY, directionality="bidi")), encoding="utf-8")
  config = modeling.BertConfig.from_json_file(str(path))
  assert config.hidden_size == 64 and config.num_attention_heads == 4
  assert config.directionality == "bidi"
  assert json.loads(config.to_json_string()) == dict(TINY, directionality="bidi")
  assert modeling.BertConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()


def test_missing_config_file_names_it(tmp_path):
  missing = tmp_path / "nope" / "bert_config.json"
  with pytest.raises(UsageError, match="BERT config file .*nope/bert_config.json does not exist"):
    modeling.BertConfig.from_json_file(str(missing))


def test_unreadable_or_malformed_config_file_names_it(tmp_path):
  broken = tmp_path / "broken.json"
  broken.write_text('{"hidden_size": 64,', encoding="utf-8")
  with pytest.raises(UsageError, match="broken.json is not valid JSON"):
    modeling.BertConfig.from_json_file(str(broken))
  binary = tmp_path / "binary.json"
  binary.write_bytes(b"\xff\xfe\x00garbage")
  with pytest.raises(UsageError, match="binary.json"):
    modeling.BertConfig.from_json_file(str(binary))
  directory = tmp_path / "a_directory.json"
  directory.mkdir()
  with pytest.raises(UsageError, match="a_directory.json"):
    modeling.BertConfig.from_json_file(str(directory))


def test_hidden_size_not_divisible_by_heads_is_one_clear_line(tmp_path):
  path = tmp_path / "bad_heads.json"
  path.write_text(json.dumps(dict(TINY, hidden_size=100, num_attention_heads=12)), encoding="utf-8")
  with pytest.raises(UsageError) as error:
    modeling.BertConfig.from_json_file(str(path))
  message = str(error.value)
  assert "\n" not in message
  assert "bad_heads.json" in message and "hidden_size 100 is not divisible by num_attention_heads 12" in message
  # The same check guards a config built in code.
  with tf.Graph().as_default():
    with pytest.raises(UsageError, match="hidden_size 100 is not divisible by num_attention_heads 12"):
      modeling.BertModel(_tiny_config(hidden_size=100, num_attention_heads=12), False,
                         tf.zeros([1, 8], tf.int32))


def test_sequence_longer_than_position_table_is_one_clear_line():
  config = _tiny_config(max_position_embeddings=32)
  with tf.Graph().as_default():
    with pytest.raises(UsageError, match="sequence length 40 exceeds max_position_embeddings 32"):
      modeling.BertModel(config, False, tf.zeros([1, 40], tf.int32))
  with pytest.raises(UsageError, match="--max_seq_length 600 exceeds max_position_embeddings 32"):
    modeling.check_sequence_length(config, 600, "--max_seq_length")
  modeling.check_sequence_length(config, 32)


def test_missing_config_field_is_named():
  fields = dict(TINY)
  del fields["vocab_size"]
  with pytest.raises(UsageError, match="vocab_size must be a positive integer"):
    modeling.BertConfig.from_dict(fields).validate()


def test_gather_indexes_and_gelu():
  sequence = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
  with tf.Graph().as_default(), tf1.Session() as sess:
    gathered = sess.run(modeling.gather_indexes(tf.constant(sequence), tf.constant([[3, 0], [1, 1]])))
    x = np.linspace(-4, 4, 9).astype(np.float32)
    gelu = sess.run(modeling.gelu(tf.constant(x)))
  np.testing.assert_array_equal(gathered, sequence[[0, 0, 1, 1], [3, 0, 1, 1]])
  want = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
  np.testing.assert_allclose(gelu, want, rtol=1e-5, atol=1e-6)


def test_masked_lm_loss_and_its_gradient_are_googles_formula():
  """The written-out gradient equals automatic differentiation of Google's one-hot formula."""
  rng = np.random.RandomState(3)
  logits_value = (rng.standard_normal((12, 300)) * 4).astype(np.float32)
  labels = rng.randint(0, 300, size=(3, 4)).astype(np.int64)
  weights = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=np.float32)
  with tf.Graph().as_default(), tf1.Session() as sess:
    logits = tf.constant(logits_value)
    loss, per_example = modeling.masked_lm_loss(logits, tf.constant(labels), tf.constant(weights))
    one_hot = tf.one_hot(labels.reshape(-1), depth=300, dtype=tf.float32)
    google_per_example = -tf.reduce_sum(tf.nn.log_softmax(logits, axis=-1) * one_hot, axis=-1)
    flat_weights = tf.constant(weights.reshape(-1))
    google_loss = tf.reduce_sum(flat_weights * google_per_example) / (tf.reduce_sum(flat_weights) + 1e-5)
    got = sess.run([loss, per_example, tf1.gradients(loss, logits)[0]])
    want = sess.run([google_loss, google_per_example, tf1.gradients(google_loss, logits)[0]])
  for got_value, want_value in zip(got, want):
    np.testing.assert_array_equal(got_value, want_value)
  assert np.count_nonzero(got[2][weights.reshape(-1) == 0]) == 0  # padding predictions get no gradient


def test_assignment_map_from_checkpoint(tmp_path):
  with tf.Graph().as_default(), tf1.Session() as sess:
    tf1.get_variable("bert/a", initializer=1.0)
    tf1.get_variable("bert/only_in_checkpoint", initializer=2.0)
    sess.run(tf1.global_variables_initializer())
    checkpoint = tf1.train.Saver().save(sess, str(tmp_path / "ckpt"))
  with tf.Graph().as_default():
    graph_vars = [tf1.get_variable("bert/a", initializer=0.0), tf1.get_variable("bert/new", initializer=0.0)]
    assignment_map, initialized = modeling.get_assignment_map_from_checkpoint(graph_vars, checkpoint)
  assert dict(assignment_map) == {"bert/a": "bert/a"}
  assert set(initialized) == {"bert/a", "bert/a:0"}
