"""Whole-word masks drawn in the tf.data pipeline, new for every epoch (RoBERTa-style dynamic masking).

Records written by `create_pretraining_data.py --dynamic_masking` hold unmasked `input_ids` and an int64
`word_ids` feature: the instance's word index per position (0, 1, ... in text order; -1 for [CLS], [SEP] and
padding; a Chinese word's characters and an English word's `##` pieces share one index). This module turns
such examples into exactly the features Google's model_fn reads, so nothing downstream changes:

  input_ids            with the chosen positions replaced ([MASK] 80%, unchanged 10%, random token 10%)
  masked_lm_positions  sorted positions, padded with 0 to max_predictions_per_seq
  masked_lm_ids        the original ids there, padded with 0
  masked_lm_weights    1.0 per real prediction, 0.0 for padding

The rules are those of `wwm/masking.py`: the budget is
`min(max_predictions_per_seq, max(1, round(num_tokens * masked_lm_prob)))`; words are visited in a random
order and a word that would overflow the budget is skipped, never cut; the 80/10/10 choice is made once per
word; the [MASK] id and the random replacements (`wwm.masking.replacement_candidates`: no special tokens, no
[unusedN], no `##` pieces) come from the vocabulary the records were made with (`resolve_masking_vocab`).
Randomness is stateless: it depends on the seed and the element's position in the stream, and the
stream runs through the data repeatedly, so each epoch sees new masks while a seed reproduces a run.
"""
import collections
import json

import tensorflow as tf
from absl import logging

import tokenization
from bert.errors import UsageError
from wwm import masking
from wwm import pipeline

DEFAULT_SEED = 12345  # Google's create_pretraining_data --random_seed default

# What masking needs from a vocabulary: the [MASK] id and the ids a random replacement may take.
MaskingVocab = collections.namedtuple("MaskingVocab", ["mask_id", "replacement_ids"])


def masking_vocab(vocab):
  """The MaskingVocab of `vocab`, by the rule of wwm.masking (the one create_pretraining_data uses).

  Args:
    vocab: mapping token -> id.

  Returns:
    MaskingVocab.

  Raises:
    UsageError: the vocabulary has no [MASK] token or no ordinary token.
  """
  if tokenization.MASK_TOKEN not in vocab:
    raise UsageError("the vocabulary has no [MASK] token, which masked-LM training needs")
  candidates = masking.replacement_candidates(vocab)
  if not candidates:
    raise UsageError("the vocabulary has no ordinary token to draw random replacements from")
  return MaskingVocab(mask_id=vocab[tokenization.MASK_TOKEN], replacement_ids=candidates)


def recorded_vocabs(record_files):
  """The vocabularies the stats JSONs beside `record_files` say the records were made with.

  Only stats JSONs at create_pretraining_data's default place (`wwm.pipeline.stats_file_candidates`) are
  found; files without one (or made before the vocabulary was recorded) are simply not covered.

  Args:
    record_files: list of TFRecord paths.

  Returns:
    dict stats JSON path -> its "vocab" entry ({"file", "size", "fingerprint"}), in the order found.
  """
  found = collections.OrderedDict()
  for record_file in record_files:
    for stats_path in pipeline.stats_file_candidates(record_file):
      if stats_path in found or not tf.io.gfile.exists(stats_path):
        continue
      try:
        with tf.io.gfile.GFile(stats_path) as handle:
          entry = json.load(handle).get("vocab")
      except (ValueError, AttributeError, tf.errors.OpError):
        continue  # not a stats JSON of ours: it records nothing
      if isinstance(entry, dict) and entry.get("fingerprint"):
        found[stats_path] = entry
  return found


def resolve_masking_vocab(record_files, vocab_file, vocab_size, flag_name="--input_file"):
  """Finds the vocabulary dynamic-masking records were made with and returns its MaskingVocab.

  `vocab_file` (--vocab_file) is used when given, and must be the vocabulary recorded beside the records
  (if one is). Without it, the vocabulary file recorded in the stats JSON is used if it is still there
  unchanged.

  Args:
    record_files: the TFRecord files (with word_ids).
    vocab_file: --vocab_file, or None.
    vocab_size: the model config's vocab_size (every id masking can write must be below it).
    flag_name: flag naming the record files, for messages.

  Returns:
    MaskingVocab.

  Raises:
    UsageError: no vocabulary to be found, one that disagrees with the records', or one larger than
      vocab_size.
  """
  recorded = recorded_vocabs(record_files)
  fingerprints = {entry["fingerprint"] for entry in recorded.values()}
  if len(fingerprints) > 1:
    raise UsageError("%s: the files were made with different vocabularies (%s); train on data made with one "
                     "vocabulary" % (flag_name, ", ".join("%s in %s" % (entry.get("file"), path)
                                                          for path, entry in recorded.items())))
  if vocab_file:
    vocab = tokenization.load_vocab(vocab_file)
    fingerprint = masking.vocab_fingerprint(vocab)
    for stats_path, entry in recorded.items():
      if fingerprint != entry["fingerprint"]:
        raise UsageError("--vocab_file %s (%d tokens) is not the vocabulary %s was made with (%s, %s tokens, "
                         "per %s)" % (vocab_file, len(vocab), flag_name, entry.get("file"), entry.get("size"),
                                      stats_path))
  elif recorded:
    stats_path, entry = next(iter(recorded.items()))
    vocab_file = entry.get("file")
    if not vocab_file or not tf.io.gfile.exists(vocab_file):
      raise UsageError("%s was made with the vocabulary %s (per %s), which is not there; pass --vocab_file with "
                       "that vocabulary" % (flag_name, vocab_file, stats_path))
    vocab = tokenization.load_vocab(vocab_file)
    if masking.vocab_fingerprint(vocab) != entry["fingerprint"]:
      raise UsageError("%s was made with the vocabulary %s (per %s), which has changed since; pass --vocab_file "
                       "with the vocabulary the data was made with" % (flag_name, vocab_file, stats_path))
  else:
    raise UsageError("%s %s holds dynamic-masking records (word_ids) and no %s beside them records their "
                     "vocabulary: pass --vocab_file, the vocabulary they were made with ([MASK] and random "
                     "replacements come from it)" % (flag_name, record_files[0], pipeline.STATS_SUFFIX))
  if max(vocab.values()) >= vocab_size:
    raise UsageError("the vocabulary %s has %d tokens but vocab_size in --bert_config_file is %d" %
                     (vocab_file, max(vocab.values()) + 1, vocab_size))
  result = masking_vocab(vocab)
  logging.info("Dynamic masking: [MASK] = %d, %d replacement tokens, from %s", result.mask_id,
                            len(result.replacement_ids), vocab_file)
  return result


def make_dynamic_masking_fn(max_seq_length, max_predictions_per_seq, vocab, seed=None, masked_lm_prob=0.15):
  """Returns the `dynamic_masking_fn(dataset, is_training)` hook of `bert.pretraining.data.input_fn_builder`.

  Args:
    max_seq_length: length of input_ids / word_ids.
    max_predictions_per_seq: size of the masked_lm_* features.
    vocab: MaskingVocab of the records' vocabulary (masking_vocab / resolve_masking_vocab).
    seed: integer seed (None: DEFAULT_SEED, so runs are reproducible).
    masked_lm_prob: fraction of tokens to predict.

  Returns:
    fn(dataset of parsed examples with word_ids, is_training) -> dataset of Google's pretraining features.
  """
  seed = DEFAULT_SEED if seed is None else int(seed)

  def dynamic_masking_fn(dataset, is_training):
    # Training and evaluation streams get different seeds so an eval file that is also trained on is not
    # evaluated with the exact masks of its first training epoch.
    stream_seed = seed if is_training else seed + 1

    def mask_one(index, example):
      return mask_example(example, index, stream_seed, max_seq_length, max_predictions_per_seq, vocab,
                          masked_lm_prob)

    return dataset.enumerate().map(mask_one, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

  return dynamic_masking_fn


def _uniform(shape, seed, index, salt):
  """Stateless uniform [0, 1) numbers determined by (seed, element index, salt)."""
  key = tf.stack([tf.cast(seed, tf.int64) * 7919 + salt, tf.cast(index, tf.int64)])
  return tf.random.stateless_uniform(shape, seed=key)


def choose_words(word_sizes, priorities, budget):
  """Greedy whole-word selection: visit words by increasing priority, take each one that still fits.

  Args:
    word_sizes: int32 [num_words] tokens per word (0 for unused word slots).
    priorities: float [num_words] random visiting order.
    budget: int32 scalar, maximum number of tokens to select.

  Returns:
    bool [num_words], the chosen words.
  """
  order = tf.argsort(priorities, stable=True)
  sizes_in_order = tf.gather(word_sizes, order)

  def take_if_fits(state, size):
    used, _ = state
    fits = tf.logical_and(size > 0, used + size <= budget)
    return used + tf.where(fits, size, 0), fits

  _, taken_in_order = tf.scan(take_if_fits, sizes_in_order, initializer=(tf.constant(0), tf.constant(False)))
  return tf.scatter_nd(tf.expand_dims(order, 1), taken_in_order, tf.shape(word_sizes))


def mask_example(example, index, seed, max_seq_length, max_predictions_per_seq, vocab, masked_lm_prob=0.15):
  """Draws the whole-word masks of one example (graph ops, usable in Dataset.map).

  Args:
    example: dict with int input_ids, input_mask, word_ids [max_seq_length] (and any other features).
    index: int64 scalar, the element's position in the stream (varies the masks between epochs).
    seed: integer seed.
    max_seq_length, max_predictions_per_seq, vocab, masked_lm_prob: see make_dynamic_masking_fn.

  Returns:
    The example without word_ids, with masked input_ids and masked_lm_positions/ids/weights.
  """
  example = dict(example)
  word_ids = tf.cast(example.pop("word_ids"), tf.int32)
  input_ids = example["input_ids"]
  id_dtype = input_ids.dtype
  input_ids = tf.cast(input_ids, tf.int32)
  num_tokens = tf.reduce_sum(tf.cast(tf.not_equal(example["input_mask"], 0), tf.int32))
  budget = tf.minimum(max_predictions_per_seq,
                      tf.maximum(1, tf.cast(tf.round(tf.cast(num_tokens, tf.float32) * masked_lm_prob), tf.int32)))

  # Word slots 0..max_seq_length-1 (a word index is below the number of positions); -1 positions ignored.
  in_word = word_ids >= 0
  slot_of_position = tf.where(in_word, word_ids, 0)
  word_sizes = tf.math.unsorted_segment_sum(tf.cast(in_word, tf.int32), slot_of_position, max_seq_length)
  chosen_words = choose_words(word_sizes, _uniform([max_seq_length], seed, index, 1), budget)
  chosen = tf.logical_and(in_word, tf.gather(chosen_words, slot_of_position))

  # One 80/10/10 decision per word; random replacement ids per position, drawn from the candidates only.
  decision = tf.gather(_uniform([max_seq_length], seed, index, 2), slot_of_position)
  candidates = tf.constant(vocab.replacement_ids, tf.int32)
  num_candidates = len(vocab.replacement_ids)
  draws = tf.cast(tf.floor(_uniform([max_seq_length], seed, index, 3) * num_candidates), tf.int32)
  random_ids = tf.gather(candidates, tf.minimum(draws, num_candidates - 1))  # u * n may round up to n
  replacement = tf.where(decision < 0.8, tf.fill([max_seq_length], vocab.mask_id),
                         tf.where(decision < 0.9, input_ids, random_ids))
  example["input_ids"] = tf.cast(tf.where(chosen, replacement, input_ids), id_dtype)

  positions = tf.cast(tf.where(chosen)[:, 0], tf.int32)  # ascending
  num_predictions = tf.shape(positions)[0]
  padding = [[0, max_predictions_per_seq - num_predictions]]
  example["masked_lm_positions"] = tf.cast(
      tf.reshape(tf.pad(positions, padding), [max_predictions_per_seq]), id_dtype)
  example["masked_lm_ids"] = tf.cast(
      tf.reshape(tf.pad(tf.gather(input_ids, positions), padding), [max_predictions_per_seq]), id_dtype)
  example["masked_lm_weights"] = tf.reshape(
      tf.pad(tf.ones([num_predictions], tf.float32), padding), [max_predictions_per_seq])
  return example
