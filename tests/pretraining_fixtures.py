"""Tiny pretraining data and configs for the pretraining tests (written with tf.io.TFRecordWriter)."""
import json

import numpy as np
import tensorflow as tf

TINY_CONFIG = {
    "vocab_size": 120, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
    "intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
    "initializer_range": 0.02,
}


def write_config(path, **overrides):
  """Writes a tiny bert_config.json; returns its path as str."""
  config = dict(TINY_CONFIG, **overrides)
  with open(path, "w") as handle:
    json.dump(config, handle)
  return str(path)


def write_vocab(path, vocab_size=120):
  """Writes a vocab.txt laid out like Google's ([PAD], [unused1..99], [UNK], [CLS], [SEP], [MASK] = 103, then
  ordinary tokens), the vocabulary of the records write_records makes; returns its path as str."""
  tokens = ["[PAD]"] + ["[unused%d]" % i for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
  tokens += ["t%d" % i for i in range(len(tokens), vocab_size)]
  with open(path, "w", encoding="utf-8") as handle:
    handle.write("\n".join(tokens) + "\n")
  return str(path)


def _int_feature(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _float_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def make_example(rng, seq_length, max_predictions, vocab_size, with_nsp=True, word_ids=False, label_id=None):
  """One random pretraining example with Google's features; label_id: every masked token is this id (an
  easily learnable pattern)."""
  length = rng.randint(seq_length // 2, seq_length + 1)
  ids = [101] + list(rng.randint(104, vocab_size, size=length - 2)) + [102]
  num_predictions = rng.randint(1, max_predictions + 1)
  positions = sorted(rng.choice(np.arange(1, length - 1), size=num_predictions, replace=False))
  if label_id is not None:
    for p in positions:
      ids[p] = label_id
  labels = [ids[p] for p in positions]
  masked = list(ids)
  for p in positions:
    masked[p] = 103
  pad = seq_length - length
  features = {
      "input_ids": _int_feature(masked + [0] * pad),
      "input_mask": _int_feature([1] * length + [0] * pad),
      "segment_ids": _int_feature([0] * (length // 2) + [1] * (length - length // 2) + [0] * pad),
      "masked_lm_positions": _int_feature(list(positions) + [0] * (max_predictions - num_predictions)),
      "masked_lm_ids": _int_feature(labels + [0] * (max_predictions - num_predictions)),
      "masked_lm_weights": _float_feature([1.0] * num_predictions + [0.0] * (max_predictions - num_predictions)),
  }
  if with_nsp:
    features["next_sentence_labels"] = _int_feature([int(rng.randint(0, 2))])
  if word_ids:
    features["word_ids"] = _int_feature(list(range(length)) + [-1] * pad)
  return tf.train.Example(features=tf.train.Features(feature=features))


def write_records(path, count=64, seq_length=32, max_predictions=5, vocab_size=120, seed=0, **kwargs):
  """Writes `count` random examples to a TFRecord file; returns its path as str."""
  rng = np.random.RandomState(seed)
  with tf.io.TFRecordWriter(str(path)) as writer:
    for _ in range(count):
      writer.write(make_example(rng, seq_length, max_predictions, vocab_size, **kwargs).SerializeToString())
  return str(path)
