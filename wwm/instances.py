"""Training instances from tokenized documents: Google's NSP logic, RoBERTa-style packing, dynamic masking.

A document is a list of sentences; a sentence is a pair (ids, word_ids) of equal-length lists, where word_ids
number the words of the whole document (wwm.alignment), so words of different sentences never share an id.

`create_instances_from_document` follows Google's create_instances_from_document: a target length (shorter
with probability short_seq_prob), segment A from the first sentences of a chunk, segment B either the
following sentences (label 0) or, half of the time, sentences of a random other document (label 1) whose
unused sentences are put back; random truncation of the longer segment. Google draws the random document
from the whole corpus; here it comes from `documents`, the bounded buffer the caller holds.

`create_packed_instances` (no NSP) packs whole sentences contiguously up to max_seq_length, crossing
document boundaries with a [SEP]; segment ids and next_sentence_label are 0.
"""
import collections

from wwm import masking

Instance = collections.namedtuple("Instance", [
    "input_ids",            # list of int: [CLS] A [SEP] (B [SEP]), masked unless dynamic masking
    "segment_ids",          # list of int
    "masked_lm_positions",  # sorted list of int
    "masked_lm_ids",        # list of int: the original ids at those positions
    "next_sentence_label",  # 1 = B is a random next sentence
    "word_ids",             # list of int per position: the document's word number, -1 for [CLS]/[SEP]
    "num_masked_words",     # int
])

InstanceConfig = collections.namedtuple("InstanceConfig", [
    "max_seq_length", "short_seq_prob", "masked_lm_prob", "max_predictions_per_seq",
    "cls_id", "sep_id", "mask_id", "candidates",
    "per_token_decision",   # 80/10/10 per position instead of per word
    "dynamic_masking",      # write unmasked sequences with word_ids
])


def max_sentence_tokens(max_seq_length, nsp):
  """Longest sentence that fits one instance: [CLS] A [SEP] B [SEP] needs 3 specials, packing needs 2."""
  return max_seq_length - 3 if nsp else max_seq_length - 2


def split_long_sentence(ids, word_ids, limit):
  """Splits a sentence longer than `limit` tokens into pieces, cutting between words where possible.

  Args:
    ids, word_ids: the sentence.
    limit: maximum tokens per piece (>= 1).

  Returns:
    list of (ids, word_ids) pieces; the sentence itself when it fits.
  """
  cuts = [0] + sentence_cuts(word_ids, limit)
  return [(ids[start:end], word_ids[start:end]) for start, end in zip(cuts, cuts[1:])]


def sentence_cuts(word_ids, limit):
  """Where split_long_sentence cuts a sentence: the end offset of each piece (the last is len(word_ids))."""
  cuts = []
  start = 0
  length = len(word_ids)
  while length - start > limit:
    cut = start + limit
    word_start = cut
    while word_start > start and word_ids[word_start - 1] == word_ids[cut]:
      word_start -= 1
    if word_start > start:
      cut = word_start  # A word longer than a whole piece is the only thing ever cut.
    cuts.append(cut)
    start = cut
  cuts.append(length)
  return cuts


def create_instances_from_document(documents, document_index, config, rng):
  """Google's NSP instance creation for documents[document_index].

  Args:
    documents: list of documents (the buffer; random next sentences come from its other documents).
    document_index: index of the document to turn into instances.
    config: InstanceConfig.
    rng: random.Random.

  Returns:
    list of Instance.
  """
  document = documents[document_index]
  # Room for [CLS], [SEP] and [SEP].
  max_num_tokens = config.max_seq_length - 3
  # Filling every sequence to max_seq_length would make pretraining see only full-length inputs, while
  # fine-tuning inputs are often short: a model that never saw short sequences does worse on them. So a small
  # share of instances (short_seq_prob) aims at a random shorter length. The padding this costs is cheap next
  # to that mismatch.
  target_seq_length = max_num_tokens
  if rng.random() < config.short_seq_prob:
    target_seq_length = rng.randint(2, max_num_tokens)
  # Segments are built from whole sentences rather than cut at a fixed token count: next-sentence prediction
  # asks whether B continues A, and a cut mid-sentence would give the model a syntactic shortcut (a clause
  # split across A and B) instead of making it judge coherence.
  instances = []
  current_chunk = []
  current_length = 0
  i = 0
  while i < len(document):
    segment = document[i]
    current_chunk.append(segment)
    current_length += len(segment[0])
    if i == len(document) - 1 or current_length >= target_seq_length:
      # A takes a random number of the chunk's sentences (at least one), B the rest, so the A/B boundary
      # falls at every sentence position rather than always in the middle.
      a_end = 1
      if len(current_chunk) >= 2:
        a_end = rng.randint(1, len(current_chunk) - 1)
      a_ids, a_words = _concat(current_chunk[:a_end])
      is_random_next = len(current_chunk) == 1 or rng.random() < 0.5
      if is_random_next:
        target_b_length = target_seq_length - len(a_ids)
        random_document_index = 0
        for _ in range(10):
          random_document_index = rng.randint(0, len(documents) - 1)
          if random_document_index != document_index:
            break
        random_document = documents[random_document_index]
        random_start = rng.randint(0, len(random_document) - 1)
        b_ids, b_words = [], []
        for j in range(random_start, len(random_document)):
          b_ids.extend(random_document[j][0])
          b_words.extend(random_document[j][1])
          if len(b_ids) >= target_b_length:
            break
        # The sentences after A were not used: put them back so they start the next instance.
        i -= len(current_chunk) - a_end
      else:
        b_ids, b_words = _concat(current_chunk[a_end:])
      _truncate_seq_pair(a_ids, a_words, b_ids, b_words, max_num_tokens, rng)
      instances.append(_make_instance(a_ids, a_words, b_ids, b_words, int(is_random_next), config, rng))
      current_chunk = []
      current_length = 0
    i += 1
  return instances


def create_packed_instances(documents, config, rng):
  """Packs the sentences of `documents` contiguously (no NSP), a [SEP] between documents.

  Args:
    documents: list of documents, in order.
    config: InstanceConfig.
    rng: random.Random (masking only).

  Returns:
    list of Instance with next_sentence_label 0 and all segment ids 0.
  """
  max_num_tokens = config.max_seq_length - 2
  instances = []
  ids, words = [], []
  for document in documents:
    for sentence_ids, sentence_words in document:
      if ids and len(ids) + len(sentence_ids) > max_num_tokens:
        instances.append(_make_packed_instance(ids, words, config, rng))
        ids, words = [], []
      ids.extend(sentence_ids)
      words.extend(sentence_words)
    if ids:
      if len(ids) + 1 < max_num_tokens:
        ids.append(config.sep_id)
        words.append(-1)
      else:
        instances.append(_make_packed_instance(ids, words, config, rng))
        ids, words = [], []
  if ids:
    instances.append(_make_packed_instance(ids, words, config, rng))
  return instances


def _make_packed_instance(ids, words, config, rng):
  if ids[-1] == config.sep_id and words[-1] == -1:
    ids, words = ids[:-1], words[:-1]  # The closing [SEP] is added by _make_instance.
  return _make_instance(list(ids), list(words), None, None, 0, config, rng)


def _concat(sentences):
  ids, words = [], []
  for sentence_ids, sentence_words in sentences:
    ids.extend(sentence_ids)
    words.extend(sentence_words)
  return ids, words


def _truncate_seq_pair(a_ids, a_words, b_ids, b_words, max_num_tokens, rng):
  """Google's truncation: drop from the front or back (at random) of the longer segment until it fits.

  Always the longer segment, so a short A or B keeps all of its tokens; front or back at random, so neither
  the start nor the end of a segment is systematically lost (which would bias what the model learns about
  how texts begin or end).
  """
  # The draws decide only how many tokens go from each end; each list is cut once, at the end.
  a_length, b_length = len(a_ids), len(b_ids)
  a_front = b_front = 0
  random_draw = rng.random
  while a_length + b_length > max_num_tokens:
    if a_length > b_length:
      a_length -= 1
      if random_draw() < 0.5:
        a_front += 1
    else:
      b_length -= 1
      if random_draw() < 0.5:
        b_front += 1
  for ids, words, front, length in ((a_ids, a_words, a_front, a_length), (b_ids, b_words, b_front, b_length)):
    if length < len(ids):
      ids[:] = ids[front:front + length]
      words[:] = words[front:front + length]


def _make_instance(a_ids, a_words, b_ids, b_words, next_sentence_label, config, rng):
  """Adds [CLS]/[SEP], then masks (or, for dynamic masking, numbers the words)."""
  input_ids = [config.cls_id] + a_ids + [config.sep_id]
  word_ids = [-1] + a_words + [-1]
  segment_ids = [0] * len(input_ids)
  if b_ids is not None:
    input_ids += b_ids + [config.sep_id]
    word_ids += b_words + [-1]
    segment_ids += [1] * (len(b_ids) + 1)
  if config.dynamic_masking:
    return Instance(input_ids, segment_ids, [], [], next_sentence_label, word_ids, 0)
  groups = masking.word_groups(word_ids)
  positions, labels, num_words = masking.choose_masked_positions(
      input_ids, groups, config.masked_lm_prob, config.max_predictions_per_seq, config.mask_id,
      config.candidates, rng, per_token_decision=config.per_token_decision)
  return Instance(input_ids, segment_ids, positions, labels, next_sentence_label, word_ids, num_words)


def renumber_words(word_ids):
  """Instance-level word index per position: 0, 1, ... in order of the words, -1 kept for [CLS]/[SEP].

  Args:
    word_ids: Instance.word_ids (document-level word numbers; -1 for special positions).

  Returns:
    list of int of the same length.
  """
  numbered = [-1] * len(word_ids)
  for word_index, group in enumerate(masking.word_groups(word_ids)):
    for position in group:
      numbered[position] = word_index
  return numbered
