"""Examples -> model features -> TFRecords -> input_fn, for sequence classification (Google's pipeline).

Task readers live in `bert.classifier.tasks`; this module turns their InputExamples into fixed-length features
([CLS] a [SEP] b [SEP], segment ids 0/1, mask), writes them as TFRecords and builds the TPUEstimator input_fn.
Regression tasks (STS-B) store a float `label_ids`; classification stores the label's index.
"""
import collections
import os

import tensorflow as tf
from absl import logging

import tokenization
from bert import file_io
from bert import tfrecord_input
from bert.classifier.tasks.base import PaddingInputExample


class InputFeatures(object):
  """The model inputs of one example: token ids, attention mask, segment ids and label id (Google's class)."""

  def __init__(self, input_ids, input_mask, segment_ids, label_id, is_real_example=True):
    self.input_ids = input_ids
    self.input_mask = input_mask
    self.segment_ids = segment_ids
    self.label_id = label_id
    self.is_real_example = is_real_example


def truncate_seq_pair(tokens_a, tokens_b, max_length):
  """Drops tokens from the end of the currently longer list, in place, until both fit in max_length together
  (Google's rule: cutting the longer text loses less, since each of its tokens matters less)."""
  while len(tokens_a) + len(tokens_b) > max_length:
    if len(tokens_a) > len(tokens_b):
      tokens_a.pop()
    else:
      tokens_b.pop()


def convert_single_example(ex_index, example, label_list, max_seq_length, tokenizer, is_regression=False):
  """Converts one InputExample (or PaddingInputExample) into InputFeatures.

  Args:
    ex_index: position of the example (the first few are logged, as Google's script does).
    example: InputExample or PaddingInputExample.
    label_list: the task's labels (index = label id); ignored for regression.
    max_seq_length: total length after [CLS]/[SEP] and padding.
    tokenizer: a tokenization.FullTokenizer.
    is_regression: the label is a float score.

  Returns:
    InputFeatures. Unlabelled examples (label None) get label id 0 (0.0), which prediction ignores.
  """
  if isinstance(example, PaddingInputExample):
    return InputFeatures(input_ids=[0] * max_seq_length, input_mask=[0] * max_seq_length,
                         segment_ids=[0] * max_seq_length, label_id=0.0 if is_regression else 0,
                         is_real_example=False)
  tokens_a = tokenizer.tokenize(example.text_a)
  tokens_b = tokenizer.tokenize(example.text_b) if example.text_b else None
  if tokens_b:
    truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)  # [CLS], [SEP], [SEP]
  elif len(tokens_a) > max_seq_length - 2:
    tokens_a = tokens_a[:max_seq_length - 2]

  # [CLS] A [SEP] (B [SEP]), A's positions (with [CLS] and the first [SEP]) in segment 0 and B's in segment 1:
  # the layout pretraining used for next-sentence prediction, so the encoder already tells the two texts
  # apart. The head reads the [CLS] vector, which pretraining trained to summarise the pair; it becomes a
  # useful sentence(-pair) representation only through fine-tuning.
  tokens = [tokenization.CLS_TOKEN] + tokens_a + [tokenization.SEP_TOKEN]
  segment_ids = [0] * len(tokens)
  if tokens_b:
    tokens += tokens_b + [tokenization.SEP_TOKEN]
    segment_ids += [1] * (len(tokens_b) + 1)
  input_ids = tokenizer.convert_tokens_to_ids(tokens)
  # Real tokens have mask 1; the zero padding up to max_seq_length (fixed shapes for TPU batches) has mask 0,
  # so attention never looks at it.
  input_mask = [1] * len(input_ids)
  padding = max_seq_length - len(input_ids)
  input_ids += [0] * padding
  input_mask += [0] * padding
  segment_ids += [0] * padding

  if is_regression:
    label_id = 0.0 if example.label is None else float(example.label)
  else:
    label_id = 0 if example.label is None else label_list.index(example.label)
  if ex_index < 3:
    logging.info("*** Example %s ***\ntokens: %s\ninput_ids: %s\nsegment_ids: %s\nlabel: %s (id = %s)",
                 example.guid, " ".join(tokens), " ".join(map(str, input_ids)), " ".join(map(str, segment_ids)),
                 example.label, label_id)
  return InputFeatures(input_ids, input_mask, segment_ids, label_id, is_real_example=True)


def convert_examples_to_features(examples, label_list, max_seq_length, tokenizer, is_regression=False):
  """Converts a list of examples into a list of InputFeatures (for in-memory use, e.g. tests, serving)."""
  return [convert_single_example(i, example, label_list, max_seq_length, tokenizer, is_regression)
          for i, example in enumerate(examples)]


def pad_examples(examples, batch_size):
  """Appends PaddingInputExamples until len(examples) is a multiple of batch_size (TPU: fixed-size batches).

  Returns:
    (padded list, number of real examples).
  """
  real = len(examples)
  padded = list(examples)
  while len(padded) % batch_size:
    padded.append(PaddingInputExample())
  return padded, real


def file_based_convert_examples_to_features(examples, label_list, max_seq_length, tokenizer, output_file,
                                            is_regression=False):
  """Converts examples to features and writes them to a TFRecord file (written atomically).

  Args:
    examples: list of InputExample/PaddingInputExample.
    label_list, max_seq_length, tokenizer, is_regression: as convert_single_example.
    output_file: the TFRecord path.
  """
  with file_io.atomic_output(output_file) as temporary:
    with tf.io.TFRecordWriter(temporary) as writer:
      for index, example in enumerate(examples):
        feature = convert_single_example(index, example, label_list, max_seq_length, tokenizer, is_regression)
        writer.write(_to_tf_example(feature, is_regression).SerializeToString())


def _to_tf_example(feature, is_regression):
  def int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

  features = collections.OrderedDict()
  features["input_ids"] = int_feature(feature.input_ids)
  features["input_mask"] = int_feature(feature.input_mask)
  features["segment_ids"] = int_feature(feature.segment_ids)
  if is_regression:
    features["label_ids"] = tf.train.Feature(float_list=tf.train.FloatList(value=[feature.label_id]))
  else:
    features["label_ids"] = int_feature([feature.label_id])
  features["is_real_example"] = int_feature([int(feature.is_real_example)])
  return tf.train.Example(features=tf.train.Features(feature=features))


def file_based_input_fn_builder(input_file, seq_length, is_training, drop_remainder, is_regression=False,
                                seed=None):
  """Returns the TPUEstimator input_fn over the TFRecords that file_based_convert_examples_to_features wrote.

  Args:
    input_file: TFRecord path.
    seq_length: max_seq_length the file was written with.
    is_training: repeat forever and shuffle (buffer 100, as Google's).
    drop_remainder: keep only full batches (required on TPU).
    is_regression: label_ids is a float.
    seed: shuffle seed (None: nondeterministic).

  Returns:
    input_fn(params) for TPUEstimator (params["batch_size"] is the per-call batch size).
  """
  name_to_features = {
      "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
      "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
      "label_ids": tf.io.FixedLenFeature([], tf.float32 if is_regression else tf.int64),
      "is_real_example": tf.io.FixedLenFeature([], tf.int64),
  }

  return tfrecord_input.single_file_input_fn_builder(input_file, name_to_features, is_training, drop_remainder,
                                                     seed=seed)


def features_file(output_dir, name):
  """Path of a TFRecord cache in output_dir, e.g. train.tf_record (Google's names)."""
  return os.path.join(output_dir, "%s.tf_record" % name)
