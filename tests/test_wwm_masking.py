"""Tests for wwm/masking.py: whole groups within the budget, 80/10/10 per word, labels are the real ids."""
import collections
import random

import pytest

import tokenization
from conftest import ZH_VOCAB
from wwm import masking

MASK = 103


@pytest.fixture(scope="module")
def vocab():
  return tokenization.load_vocab(str(ZH_VOCAB))


def test_word_groups_are_runs_of_equal_word_ids_skipping_specials():
  groups = masking.word_groups([-1, 0, 0, 1, -1, 1, 2, 2, -1])
  assert [list(group) for group in groups] == [[1, 2], [3], [5], [6, 7]]
  assert [list(group) for group in masking.word_groups([3, 3, -1, -1, 4])] == [[0, 1], [4]]
  assert masking.word_groups([]) == []
  assert [list(group) for group in masking.word_groups([-1])] == []


def test_replacement_candidates_are_ordinary_tokens(vocab):
  candidates = masking.replacement_candidates(vocab)
  inv = {i: t for t, i in vocab.items()}
  tokens = [inv[i] for i in candidates]
  assert candidates == sorted(candidates)
  assert not any(t.startswith("##") or t.startswith("[unused") for t in tokens)
  assert not set(tokens) & {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
  assert "中" in tokens and "the" in tokens


def test_a_word_that_would_overflow_the_budget_is_skipped_never_cut():
  # 20 tokens * 0.15 = 3 predictions; the 7-token word can never fit, the 3-token word always does when first.
  input_ids = [101] + list(range(1000, 1018)) + [102]
  groups = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10], [11], [12], [13], [14]]
  for seed in range(200):
    ids = list(input_ids)
    positions, labels, num_words = masking.choose_masked_positions(
        ids, [list(g) for g in groups], 0.15, 20, MASK, [5000, 5001], random.Random(seed))
    assert len(positions) == 3 and not set(positions) & {1, 2, 3, 4, 5, 6, 7}
    assert labels == [input_ids[p] for p in positions]
    chosen = {tuple(g) for g in groups if set(g) <= set(positions)}
    assert sum(len(g) for g in chosen) == 3 and len(chosen) == num_words


def test_budget_is_capped_by_max_predictions():
  ids = [101] + list(range(1000, 1198)) + [102]
  positions, _, _ = masking.choose_masked_positions(ids, [[p] for p in range(1, 199)], 0.5, 20, MASK,
                                                    [5000], random.Random(0))
  assert len(positions) == 20 and positions == sorted(positions)


def _mask_many(per_token_decision, trials=3000):
  """Masks a sequence of 2-token words many times; returns Counter of per-word outcomes."""
  outcomes = collections.Counter()
  rng = random.Random(7)
  original = [101] + list(range(2000, 2040)) + [102]
  groups = [[p, p + 1] for p in range(1, 41, 2)]
  for _ in range(trials):
    ids = list(original)
    positions, labels, _ = masking.choose_masked_positions(ids, [list(g) for g in groups], 0.15, 20, MASK,
                                                           list(range(5000, 6000)), rng, per_token_decision)
    assert labels == [original[p] for p in positions]
    for group in groups:
      if group[0] in positions:
        kinds = tuple("mask" if ids[p] == MASK else "keep" if ids[p] == original[p] else "random" for p in group)
        outcomes[kinds] += 1
  return outcomes


def test_80_10_10_decision_is_made_once_per_word():
  outcomes = _mask_many(per_token_decision=False)
  total = sum(outcomes.values())
  assert set(outcomes) == {("mask", "mask"), ("keep", "keep"), ("random", "random")}
  assert abs(outcomes[("mask", "mask")] / total - 0.8) < 0.02
  assert abs(outcomes[("keep", "keep")] / total - 0.1) < 0.02
  assert abs(outcomes[("random", "random")] / total - 0.1) < 0.02


def test_per_token_decision_flag_mixes_treatments_within_a_word():
  outcomes = _mask_many(per_token_decision=True)
  mixed = sum(n for kinds, n in outcomes.items() if len(set(kinds)) > 1)
  total = sum(outcomes.values())
  assert 0.25 < mixed / total < 0.4  # 1 - (0.8^2 + 0.1^2 + 0.1^2) = 0.34
