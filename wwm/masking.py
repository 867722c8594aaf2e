"""Masked-LM prediction choice: per token (Google), `##` groups (Google's whole-word mask), or Chinese words.

All three modes run Google's procedure on groups of positions: visit the groups in random order, take whole groups
until `num_to_predict = min(max_predictions_per_seq, max(1, round(len(tokens) * masked_lm_prob)))` is reached;
a group that would overflow the budget is skipped, never cut. Each chosen position is replaced by [MASK] 80%
of the time, kept 10%, replaced by a random token 10%. In whole-word modes that choice is made once per word
by default (all of a word's positions get the same treatment); `per_token_decision` makes it per position.

Labels are always the ids at the positions before replacement, i.e. the real tokens; random replacements are
drawn from ordinary vocabulary tokens only (no [CLS]/[SEP]/[PAD]/[UNK]/[MASK]/[unusedN], no `##` pieces).
"""
import hashlib

import tokenization

MASK_TOKENS = "token"        # Google's default: every position is its own group.
MASK_WORDPIECE_WORDS = "wordpiece_word"   # Google's --do_whole_word_mask: a token plus its ## pieces.
MASK_CHINESE_WORDS = "chinese_word"       # --chinese_wwm: the segmenter's words (see wwm.alignment).
MASKING_MODES = (MASK_TOKENS, MASK_WORDPIECE_WORDS, MASK_CHINESE_WORDS)


def replacement_candidates(vocab):
  """Ids a random replacement may take: tokens that are neither special nor `##` continuations.

  Args:
    vocab: mapping token -> id.

  Returns:
    list of int, in id order (so draws are reproducible).
  """
  special = tokenization.special_tokens_of_vocab(vocab)
  return sorted(index for token, index in vocab.items()
                if token not in special and not token.startswith("##") and token)


def vocab_fingerprint(vocab):
  """A digest identifying a vocabulary by its (id, token) pairs, whatever its file's path or line endings.

  Recorded with pretraining data so that a reader can tell whether a vocabulary is the one the records were
  made with (their ids, the [MASK] id and the replacement candidates all follow from it).

  Args:
    vocab: mapping token -> id.

  Returns:
    str, "sha256:" and 64 hex digits.
  """
  pairs = sorted(vocab.items(), key=lambda item: item[1])
  text = "".join(["%d\t%s\n" % (index, token) for token, index in pairs])
  return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def word_groups(word_ids):
  """Groups maskable positions into words: consecutive positions sharing a word id (-1 = never masked).

  Args:
    word_ids: list of int per position; -1 for [CLS], [SEP] and padding.

  Returns:
    list of ranges of positions, in position order.
  """
  if not word_ids:
    return []
  # A word starts wherever the id changes; the comprehension keeps the per-position work in one cheap test.
  bounds = [0]
  bounds += [position for position in range(1, len(word_ids)) if word_ids[position] != word_ids[position - 1]]
  bounds.append(len(word_ids))
  return [range(start, end) for start, end in zip(bounds, bounds[1:]) if word_ids[start] >= 0]


def choose_masked_positions(input_ids, groups, masked_lm_prob, max_predictions_per_seq, mask_id,
                            candidates, rng, per_token_decision=False):
  """Chooses whole groups to predict and replaces their tokens in place.

  Args:
    input_ids: list of int; modified in place ([MASK] / random / kept).
    groups: list of ranges (or lists) of positions (from word_groups); reordered in place.
    masked_lm_prob: fraction of the sequence length to predict.
    max_predictions_per_seq: hard cap on predictions.
    mask_id: id of [MASK].
    candidates: ids for random replacement (replacement_candidates).
    rng: random.Random, the only source of randomness.
    per_token_decision: make the 80/10/10 choice per position instead of once per group.

  Returns:
    (positions, labels, num_words): sorted masked positions, the original ids there, and how many groups.
  """
  num_to_predict = min(max_predictions_per_seq, max(1, int(round(len(input_ids) * masked_lm_prob))))
  # Visit groups in a random order, drawn lazily (Fisher-Yates one step at a time): the budget is usually
  # met after a few groups, so shuffling the whole list would waste most of the draws.
  chosen = []
  num_chosen = 0
  num_groups = len(groups)
  random_draw = rng.random
  for index in range(num_groups):
    if num_chosen >= num_to_predict:
      break
    pick = index + int(random_draw() * (num_groups - index))
    groups[index], groups[pick] = groups[pick], groups[index]
    group = groups[index]
    if num_chosen + len(group) > num_to_predict:
      continue
    chosen.append(group)
    num_chosen += len(group)
  # The groups are disjoint, so the labels can be read before any replacement.
  positions = sorted([position for group in chosen for position in group])
  labels = [input_ids[position] for position in positions]
  num_candidates = len(candidates)
  for group in chosen:
    if per_token_decision:
      for position in group:
        input_ids[position] = _draw_replacement(input_ids[position], mask_id, candidates, num_candidates, rng)
    else:
      draw = rng.random()
      if draw < 0.8:
        for position in group:
          input_ids[position] = mask_id
      elif draw >= 0.9:
        for position in group:
          input_ids[position] = candidates[rng.randint(0, num_candidates - 1)]
  return positions, labels, len(chosen)


def _draw_replacement(original_id, mask_id, candidates, num_candidates, rng):
  """Google's per-token 80/10/10 draw."""
  if rng.random() < 0.8:
    return mask_id
  if rng.random() < 0.5:
    return original_id
  return candidates[rng.randint(0, num_candidates - 1)]
