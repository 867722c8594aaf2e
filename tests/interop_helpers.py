"""Shared by the interop tests: a tiny random BERT checkpoint with every head, and the project's own outputs.

The checkpoint is built with bert.modeling in a tf.compat.v1 graph. Every variable (biases, layer-norm
parameters included) gets a random value, so a missing transpose or a swapped tensor changes the outputs.
Fake optimizer slots and a global step are saved too, as a training checkpoint would hold them.
"""
import json
import os

import numpy as np
import tensorflow as tf

import tokenization
from bert import modeling

tf1 = tf.compat.v1

SENTENCES = ["我们在北京大学研究生命科学。", "Hello world! BERT 模型"]
NUM_LABELS = 3
LABEL_NAMES = ["negative", "neutral", "positive"]
SEQ_LENGTH = 16
TINY_CONFIG = {
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
}


def write_vocab(path):
  """Writes a vocabulary covering SENTENCES (plus a few spare tokens) and returns its size."""
  tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "bert", "!", "。", "##s", "the"]
  for ch in "".join(SENTENCES):
    if "\u4e00" <= ch <= "\u9fff" and ch not in tokens:
      tokens.append(ch)
  with open(path, "w", encoding="utf-8") as f:
    f.write("".join(t + "\n" for t in tokens))
  return len(tokens)


def encode(tokenizer, sentences, seq_length=SEQ_LENGTH):
  """[CLS] tokens [SEP] + padding, as numpy int32 arrays (ids, mask, segment ids with a second segment)."""
  ids = np.zeros([len(sentences), seq_length], np.int32)
  mask = np.zeros_like(ids)
  for row, sentence in enumerate(sentences):
    tokens = ["[CLS]"] + tokenizer.tokenize(sentence)[:seq_length - 2] + ["[SEP]"]
    ids[row, :len(tokens)] = tokenizer.convert_tokens_to_ids(tokens)
    mask[row, :len(tokens)] = 1
  return ids, mask


def randomize_variables(sess, variables, rng):
  """Assigns random values to all variables (gammas around 1 so layer norm stays well conditioned)."""
  for variable in variables:
    shape = variable.shape.as_list()
    if variable.op.name.endswith("/gamma"):
      value = 1.0 + 0.2 * rng.standard_normal(shape)
    else:
      value = 0.2 * rng.standard_normal(shape)
    variable.load(value.astype(np.float32), sess)


def build_tiny_checkpoint(directory, seed=1234):
  """Builds, randomizes and saves a tiny BERT with all heads; computes the project's outputs on SENTENCES.

  Args:
    directory: where to write bert_config.json, vocab.txt and model.ckpt.*.

  Returns:
    dict with paths ("checkpoint", "bert_config_file", "vocab_file"), inputs ("input_ids", "input_mask",
    "segment_ids") and outputs ("sequence_output", "pooled_output", "all_layers", "embedding_output",
    "mlm_log_probs" [batch*seq, vocab], "nsp_log_probs", "classifier_logits", "start_logits", "end_logits",
    "single_segment_layers" and "single_segment_sequence_output" (outputs with all segment ids 0)).
  """
  os.makedirs(directory, exist_ok=True)
  vocab_file = os.path.join(directory, "vocab.txt")
  config = dict(TINY_CONFIG, vocab_size=write_vocab(vocab_file))
  config_file = os.path.join(directory, "bert_config.json")
  with open(config_file, "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
  bert_config = modeling.BertConfig.from_dict(config)
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
  input_ids, input_mask = encode(tokenizer, SENTENCES)
  # Second segment on the last real tokens of the first row, so token-type embeddings matter.
  segment_ids = np.zeros_like(input_ids)
  segment_ids[0, 8:int(input_mask[0].sum())] = 1
  batch, seq = input_ids.shape
  rng = np.random.default_rng(seed)

  graph = tf.Graph()
  with graph.as_default():
    segments = tf1.placeholder(tf.int32, [batch, seq])
    model = modeling.BertModel(config=bert_config, is_training=False, input_ids=tf.constant(input_ids),
                               input_mask=tf.constant(input_mask), token_type_ids=segments)
    sequence_output = model.get_sequence_output()
    pooled = model.get_pooled_output()
    all_positions = tf.constant(np.tile(np.arange(seq, dtype=np.int32), [batch, 1]))
    zeros = tf.zeros([batch, seq], tf.int32)
    _, _, mlm_log_probs = modeling.get_masked_lm_output(bert_config, sequence_output, model.get_embedding_table(),
                                                        all_positions, zeros, tf.ones([batch, seq]))
    _, _, nsp_log_probs = modeling.get_next_sentence_output(bert_config, pooled, tf.zeros([batch], tf.int32))
    hidden = bert_config.hidden_size
    # run_classifier.py's head (Google's names): root-scope output_weights [num_labels, hidden] on the pooled
    # output, multiplied with transpose_b.
    cls_w = tf1.get_variable("output_weights", [NUM_LABELS, hidden])
    cls_b = tf1.get_variable("output_bias", [NUM_LABELS])
    classifier_logits = tf.nn.bias_add(tf.matmul(pooled, cls_w, transpose_b=True), cls_b)
    # run_squad.py's head: cls/squad/output_weights [2, hidden] on every position; row 0 start, row 1 end.
    squad_w = tf1.get_variable("cls/squad/output_weights", [2, hidden])
    squad_b = tf1.get_variable("cls/squad/output_bias", [2])
    flat = tf.reshape(sequence_output, [batch * seq, hidden])
    squad_logits = tf.reshape(tf.nn.bias_add(tf.matmul(flat, squad_w, transpose_b=True), squad_b), [batch, seq, 2])
    model_variables = tf1.global_variables()
    # What a training checkpoint also holds: optimizer slots and the step counter.
    slots = [tf1.get_variable(v.op.name + suffix, v.shape, initializer=tf1.zeros_initializer(), trainable=False)
             for v in model_variables[:3] for suffix in ("/adam_m", "/adam_v")]
    global_step = tf1.train.get_or_create_global_step()
    saver = tf1.train.Saver()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      randomize_variables(sess, model_variables, rng)
      outputs = sess.run({
          "sequence_output": sequence_output,
          "pooled_output": pooled,
          "all_layers": model.get_all_encoder_layers(),
          "embedding_output": model.get_embedding_output(),
          "mlm_log_probs": mlm_log_probs,
          "nsp_log_probs": nsp_log_probs,
          "classifier_logits": classifier_logits,
          "squad_logits": squad_logits,
      }, feed_dict={segments: segment_ids})
      # Single-segment inputs, as sentence encoders (and extract_features.py without |||) feed them.
      outputs["single_segment_layers"] = sess.run(model.get_all_encoder_layers(),
                                                  feed_dict={segments: np.zeros_like(segment_ids)})
      checkpoint = saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=7)
      del slots, global_step
  outputs["single_segment_sequence_output"] = outputs["single_segment_layers"][-1]
  outputs["start_logits"] = outputs["squad_logits"][:, :, 0]
  outputs["end_logits"] = outputs["squad_logits"][:, :, 1]
  outputs.update(checkpoint=checkpoint, bert_config_file=config_file, vocab_file=vocab_file, config=config,
                 input_ids=input_ids, input_mask=input_mask, segment_ids=segment_ids)
  return outputs


def checkpoint_tensors(checkpoint):
  """All variables of a TF checkpoint as a dict name -> numpy array."""
  reader = tf.train.load_checkpoint(checkpoint)
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
