"""Contextual token features and sentence vectors from a BERT checkpoint (library of extract_features.py).

Input: one example per line, either "text" or "text_a ||| text_b" (Google's format). Every input line gives
one output line, so line numbers match (`linex_index`, spelled as in Google's output).

Output, per-token (Google's JSON-lines layout):
  {"linex_index": 0, "features": [{"token": "[CLS]", "layers": [{"index": -1, "values": [0.1, ...]}, ...]},
                                  ...]}
Output, sentence vectors (`pooling` "cls" or "mean"): the pooled vector of each requested layer, concatenated
in --layers order; written as a float32 .npy matrix [num_lines, dim] when the output name ends in .npy, else
as JSON lines {"linex_index": 0, "values": [...]}. "mean" averages the real tokens ([CLS] and [SEP] included,
padding excluded), as sentence-transformers' mean pooling does; "cls" takes the [CLS] position of the layer.

The input is processed in chunks, so memory stays bounded for large files.
"""
import collections
import json
import re

import numpy as np
import tensorflow as tf

import tokenization
from bert import checkpoints
from bert import file_io
from bert import modeling
from bert.errors import UsageError

POOLING_MODES = ("none", "cls", "mean")
# Examples per Estimator.predict call: bounds host memory and the size of the in-graph input constants.
DEFAULT_CHUNK_SIZE = 20000

InputExample = collections.namedtuple("InputExample", ["unique_id", "text_a", "text_b"])
InputFeatures = collections.namedtuple("InputFeatures",
                                       ["unique_id", "tokens", "input_ids", "input_mask", "input_type_ids"])

_PAIR_SEPARATOR = re.compile(r"^(.*) \|\|\| (.*)$")


def parse_layers(layers, num_hidden_layers):
  """Parses "-1,-2,-3,-4" into a list of ints, checking each indexes an encoder layer.

  Args:
    layers: comma-separated layer indexes (negative counts from the top; 0 is the first encoder layer).
    num_hidden_layers: encoder depth.

  Returns:
    list of int.

  Raises:
    UsageError: empty, non-integer or out-of-range index.
  """
  try:
    indexes = [int(x) for x in layers.split(",") if x.strip()]
  except ValueError:
    raise UsageError("--layers=%s must be comma-separated integers" % layers) from None
  if not indexes:
    raise UsageError("--layers is empty")
  for index in indexes:
    if not -num_hidden_layers <= index < num_hidden_layers:
      raise UsageError("--layers: %d is out of range for a model with %d layers (use %d..%d)" %
                       (index, num_hidden_layers, -num_hidden_layers, num_hidden_layers - 1))
  return indexes


def read_examples(input_file):
  """Yields InputExample for every line of `input_file` (ids count lines from 0; blank lines included).

  Args:
    input_file: UTF-8 text file, "text" or "text_a ||| text_b" per line.

  Yields:
    InputExample.
  """
  try:
    with tf.io.gfile.GFile(input_file, "r") as reader:
      for unique_id, line in enumerate(reader):
        line = line.strip()
        match = _PAIR_SEPARATOR.match(line)
        if match is None:
          yield InputExample(unique_id, line, None)
        else:
          yield InputExample(unique_id, match.group(1), match.group(2))
  except tf.errors.NotFoundError:
    raise UsageError("--input_file: %s does not exist" % input_file) from None


def _truncate_seq_pair(tokens_a, tokens_b, max_length):
  """Pops tokens from the longer sequence until the pair fits (Google's heuristic, in place)."""
  while len(tokens_a) + len(tokens_b) > max_length:
    longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
    longer.pop()


def convert_example(example, seq_length, tokenizer):
  """Tokenizes one example into padded model inputs: [CLS] A [SEP] (B [SEP]).

  Args:
    example: InputExample.
    seq_length: padded length.
    tokenizer: tokenization.FullTokenizer.

  Returns:
    InputFeatures (tokens unpadded; id lists padded to seq_length).
  """
  tokens_a = tokenizer.tokenize(example.text_a)
  tokens_b = tokenizer.tokenize(example.text_b) if example.text_b else None
  if tokens_b is not None:
    _truncate_seq_pair(tokens_a, tokens_b, seq_length - 3)
  else:
    tokens_a = tokens_a[:seq_length - 2]
  tokens = [tokenization.CLS_TOKEN] + tokens_a + [tokenization.SEP_TOKEN]
  type_ids = [0] * len(tokens)
  if tokens_b is not None:
    tokens += tokens_b + [tokenization.SEP_TOKEN]
    type_ids += [1] * (len(tokens_b) + 1)
  input_ids = tokenizer.convert_tokens_to_ids(tokens)
  padding = seq_length - len(input_ids)
  return InputFeatures(example.unique_id, tokens, input_ids + [0] * padding, [1] * len(input_ids) + [0] * padding,
                       type_ids + [0] * padding)


def input_fn_builder(features, seq_length):
  """Returns an input_fn serving `features` (held in memory, one chunk at a time) in input order."""
  arrays = {
      "unique_ids": np.array([f.unique_id for f in features], np.int32),
      "input_ids": np.array([f.input_ids for f in features], np.int32).reshape([-1, seq_length]),
      "input_mask": np.array([f.input_mask for f in features], np.int32).reshape([-1, seq_length]),
      "input_type_ids": np.array([f.input_type_ids for f in features], np.int32).reshape([-1, seq_length]),
  }

  def input_fn(params):
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    return dataset.batch(params["batch_size"], drop_remainder=False)

  return input_fn


def pool_sequence(sequence_output, input_mask, mode):
  """Pools token vectors into one vector per example.

  Args:
    sequence_output: float Tensor [batch, seq, hidden].
    input_mask: int Tensor [batch, seq], 1 for real tokens.
    mode: "cls" (first position) or "mean" (average over real tokens).

  Returns:
    float Tensor [batch, hidden].
  """
  if mode == "cls":
    return sequence_output[:, 0, :]
  if mode == "mean":
    mask = tf.cast(input_mask, sequence_output.dtype)[:, :, None]
    return tf.reduce_sum(sequence_output * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
  raise UsageError("--pooling=%s is not one of %s" % (mode, ",".join(POOLING_MODES)))


def model_fn_builder(bert_config, init_checkpoint, layer_indexes, use_tpu, use_one_hot_embeddings, pooling="none"):
  """Returns a TPUEstimator model_fn predicting the requested layers (or their pooled vectors).

  Args:
    bert_config: modeling.BertConfig.
    init_checkpoint: checkpoint prefix.
    layer_indexes: list of encoder layer indexes.
    use_tpu: restore through a Scaffold on TPU.
    use_one_hot_embeddings: one-hot embedding lookup (TPU).
    pooling: "none" for per-token layers, or "cls"/"mean" for a sentence vector.

  Returns:
    model_fn(features, labels, mode, params).
  """
  def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
    if mode != tf.estimator.ModeKeys.PREDICT:
      raise ValueError("feature extraction only predicts, got mode %s" % mode)
    model = modeling.BertModel(config=bert_config, is_training=False, input_ids=features["input_ids"],
                               input_mask=features["input_mask"], token_type_ids=features["input_type_ids"],
                               use_one_hot_embeddings=use_one_hot_embeddings)
    scaffold_fn = checkpoints.init_from_checkpoint(init_checkpoint, use_tpu)
    all_layers = model.get_all_encoder_layers()
    predictions = {"unique_id": features["unique_ids"]}
    if pooling == "none":
      for i, layer_index in enumerate(layer_indexes):
        predictions["layer_output_%d" % i] = all_layers[layer_index]
    else:
      pooled = [pool_sequence(all_layers[index], features["input_mask"], pooling) for index in layer_indexes]
      predictions["sentence_vector"] = tf.concat(pooled, axis=-1)
    return tf.compat.v1.estimator.tpu.TPUEstimatorSpec(mode=mode, predictions=predictions, scaffold_fn=scaffold_fn)

  return model_fn


def token_features_json(feature, result, layer_indexes):
  """One line of Google's per-token JSON output (values rounded to 6 decimals, as Google's)."""
  tokens = []
  for position, token in enumerate(feature.tokens):
    layers = []
    for i, layer_index in enumerate(layer_indexes):
      values = result["layer_output_%d" % i][position]
      layers.append(collections.OrderedDict([("index", layer_index),
                                             ("values", [round(float(x), 6) for x in values])]))
    tokens.append(collections.OrderedDict([("token", token), ("layers", layers)]))
  return json.dumps(collections.OrderedDict([("linex_index", feature.unique_id), ("features", tokens)]),
                    ensure_ascii=False)


def _chunks(iterable, size):
  chunk = []
  for item in iterable:
    chunk.append(item)
    if len(chunk) == size:
      yield chunk
      chunk = []
  if chunk:
    yield chunk


def predict(estimator, examples, tokenizer, seq_length, chunk_size=DEFAULT_CHUNK_SIZE):
  """Yields (InputFeatures, prediction dict) for every example, in input order, one predict call per chunk."""
  for chunk in _chunks(examples, chunk_size):
    features = [convert_example(example, seq_length, tokenizer) for example in chunk]
    results = estimator.predict(input_fn=input_fn_builder(features, seq_length), yield_single_examples=True)
    for feature, result in zip(features, results):
      if int(result["unique_id"]) != feature.unique_id:
        raise AssertionError("prediction order changed: %d != %d" % (result["unique_id"], feature.unique_id))
      yield feature, result


def extract(estimator, examples, tokenizer, seq_length, layer_indexes, output_file, pooling="none",
            chunk_size=DEFAULT_CHUNK_SIZE):
  """Runs the model over `examples` and writes the output file atomically.

  Args:
    estimator: TPUEstimator built with model_fn_builder(..., pooling=pooling).
    examples: iterable of InputExample, in output order.
    tokenizer: tokenization.FullTokenizer.
    seq_length: max_seq_length.
    layer_indexes: list of layer indexes the model_fn predicts.
    output_file: destination (.npy for a numpy matrix of sentence vectors; anything else: JSON lines).
    pooling: "none", "cls" or "mean" (must match the model_fn).
    chunk_size: examples per predict call.

  Returns:
    The number of examples written.
  """
  outputs = predict(estimator, examples, tokenizer, seq_length, chunk_size)
  with file_io.atomic_output(output_file) as tmp_path:
    count = 0
    if pooling != "none" and output_file.endswith(".npy"):
      vectors = [np.asarray(result["sentence_vector"], np.float32) for _, result in outputs]
      count = len(vectors)
      with tf.io.gfile.GFile(tmp_path, "wb") as f:
        np.save(f, np.stack(vectors) if vectors else np.zeros([0, 0], np.float32))
    else:
      with tf.io.gfile.GFile(tmp_path, "w") as writer:
        for feature, result in outputs:
          if pooling == "none":
            line = token_features_json(feature, result, layer_indexes)
          else:
            line = json.dumps(collections.OrderedDict([
                ("linex_index", feature.unique_id),
                ("values", [round(float(x), 6) for x in result["sentence_vector"]])]))
          writer.write(line + "\n")
          count += 1
        # GFile creates the file on the first write only; an empty input still gets an (empty) output file.
        writer.write("")
  return count


def check_output_dir(output_file):
  """Creates the output file's local directory (GCS needs none)."""
  file_io.make_parent_dirs(output_file, "--output_file")
