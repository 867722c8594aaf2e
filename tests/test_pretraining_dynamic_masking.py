"""Dynamic whole-word masking in tf.data: Google's features out, whole words, budget, per-epoch and seeded."""
import collections

import numpy as np
import tensorflow as tf

from bert.pretraining import dynamic_masking
from bert.pretraining import data as pretraining_input

SEQ = 24
MAX_PRED = 6
# Google's layout: [MASK] = 103, random replacements from the ordinary ids 104..499.
VOCAB = dynamic_masking.MaskingVocab(mask_id=103, replacement_ids=list(range(104, 500)))

# [CLS] 研究 生命 的 起源 [SEP] 我们 喜欢 playing 足球 [SEP] + padding: words of 1..3 tokens.
WORD_IDS = [-1, 0, 0, 1, 1, 2, 3, 3, -1, 4, 4, 5, 5, 6, 6, 6, 7, 7, -1] + [-1] * (SEQ - 19)
LENGTH = 19


def _example(offset=0):
  ids = [101] + [200 + offset + i for i in range(1, LENGTH - 1)] + [102] + [0] * (SEQ - LENGTH)
  ids[8] = 102
  return {"input_ids": np.array(ids, np.int32), "input_mask": np.array([1] * LENGTH + [0] * (SEQ - LENGTH), np.int32),
          "segment_ids": np.zeros(SEQ, np.int32), "next_sentence_labels": np.array([0], np.int32),
          "word_ids": np.array(WORD_IDS, np.int32)}


def _run(examples, seed, epochs=1, is_training=True, masked_lm_prob=0.3, vocab=VOCAB):
  stacked = {key: np.stack([e[key] for e in examples]) for key in examples[0]}
  dataset = tf.data.Dataset.from_tensor_slices(stacked).repeat(epochs)
  fn = dynamic_masking.make_dynamic_masking_fn(SEQ, MAX_PRED, vocab, seed=seed, masked_lm_prob=masked_lm_prob)
  return list(fn(dataset, is_training).as_numpy_iterator())


def _masked_words(out):
  weights = out["masked_lm_weights"]
  positions = out["masked_lm_positions"][weights > 0]
  return positions, sorted({WORD_IDS[p] for p in positions})


def test_outputs_are_googles_features_with_original_labels():
  out = _run([_example()], seed=1)[0]
  assert set(out) == {"input_ids", "input_mask", "segment_ids", "next_sentence_labels", "masked_lm_positions",
                      "masked_lm_ids", "masked_lm_weights"}
  assert out["masked_lm_positions"].shape == (MAX_PRED,) and out["masked_lm_weights"].dtype == np.float32
  original = _example()["input_ids"]
  positions, _ = _masked_words(out)
  count = len(positions)
  np.testing.assert_array_equal(out["masked_lm_ids"][:count], original[positions])
  assert list(positions) == sorted(positions)
  assert (out["masked_lm_positions"][count:] == 0).all() and (out["masked_lm_ids"][count:] == 0).all()
  unmasked = np.ones(SEQ, bool)
  unmasked[positions] = False
  np.testing.assert_array_equal(out["input_ids"][unmasked], original[unmasked])


def test_whole_words_only_and_budget_respected():
  budget = min(MAX_PRED, max(1, round(LENGTH * 0.3)))  # 6
  sizes = collections.Counter(w for w in WORD_IDS if w >= 0)
  counts = []
  for out in _run([_example()], seed=7, epochs=60):
    positions, words = _masked_words(out)
    # Every word touched is masked entirely, specials and padding never.
    assert sorted(positions) == sorted(p for p, w in enumerate(WORD_IDS) if w in words)
    assert len(positions) <= budget
    counts.append(len(positions))
    # Greedy skip-not-cut: any word left out must not have fitted in the remaining budget.
    remaining = budget - len(positions)
    assert all(sizes[w] > remaining for w in sizes if w not in words)
  assert max(counts) == budget


def test_different_masks_each_epoch_and_deterministic_for_a_seed():
  first = _run([_example()], seed=3, epochs=5)
  again = _run([_example()], seed=3, epochs=5)
  other_seed = _run([_example()], seed=4, epochs=5)
  masks = [tuple(_masked_words(out)[1]) for out in first]
  assert len(set(masks)) >= 3  # a new draw per epoch
  for a, b in zip(first, again):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])
  assert [tuple(_masked_words(out)[1]) for out in other_seed] != masks


def test_80_10_10_decided_once_per_word():
  kinds = collections.Counter()
  original = _example()["input_ids"]
  for out in _run([_example()], seed=11, epochs=300):
    positions, words = _masked_words(out)
    for word in words:
      word_positions = [p for p, w in enumerate(WORD_IDS) if w == word]
      new = out["input_ids"][word_positions]
      if (new == 103).all():
        kinds["mask"] += 1
      elif (new == original[word_positions]).all():
        kinds["keep"] += 1
      else:
        assert not (new == 103).any()  # never a mix of [MASK] and other choices inside one word
        kinds["random"] += 1
  total = sum(kinds.values())
  assert abs(kinds["mask"] / total - 0.8) < 0.05
  assert 0.05 < kinds["keep"] / total < 0.15 and 0.05 < kinds["random"] / total < 0.15


def test_input_fn_with_word_ids_records_yields_model_features(tmp_path):
  import pretraining_fixtures
  path = pretraining_fixtures.write_records(tmp_path / "dyn.tfrecord", count=8, seq_length=32, max_predictions=5,
                                            word_ids=True)
  record_format = pretraining_input.RecordFormat(has_word_ids=True, has_next_sentence_labels=True,
                                                 has_masked_lm=False)
  fn = dynamic_masking.make_dynamic_masking_fn(32, 5, dynamic_masking.MaskingVocab(103, list(range(104, 120))),
                                               seed=5)
  input_fn = pretraining_input.input_fn_builder([path], 32, 5, is_training=False, record_format=record_format,
                                                repeat_eval=False, dynamic_masking_fn=fn)
  batch = next(iter(input_fn({"batch_size": 4}).as_numpy_iterator()))
  assert batch["masked_lm_positions"].shape == (4, 5) and batch["masked_lm_weights"].shape == (4, 5)
  assert "word_ids" not in batch
  assert (batch["masked_lm_weights"].sum(axis=1) >= 1).all()
  assert (batch["input_ids"] == 103).any()


def test_mask_and_random_ids_come_from_the_vocabulary_by_the_rule_of_wwm_masking():
  # build_vocab.py's layout: specials first ([MASK] = 4), [unusedN] slots, then ordinary tokens and ## pieces.
  tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]", "好", "##好", "人", "##人"]
  vocab = {token: index for index, token in enumerate(tokens)}
  masking_vocab = dynamic_masking.masking_vocab(vocab)
  assert masking_vocab == dynamic_masking.MaskingVocab(mask_id=4, replacement_ids=[7, 9])
  original = _example()["input_ids"]
  kinds = collections.Counter()
  for out in _run([_example()], seed=13, epochs=200, vocab=masking_vocab):
    positions, _ = _masked_words(out)
    for position in positions:
      new = out["input_ids"][position]
      kinds["mask" if new == 4 else "keep" if new == original[position] else "random"] += 1
      assert new in (4, original[position], 7, 9), new  # never 103, a special, an [unusedN] or a ## piece
  assert kinds["mask"] > 0.7 * sum(kinds.values()) and kinds["random"] > 0
