"""Tests for wwm/fast_records.py and its C extension: the records of the Python code, byte for byte.

The reference is the Python code itself (wwm/instances.py, wwm/masking.py, pipeline.encode_instance,
tfrecord.frame_record) run with random.Random; the extension must give the same bytes for random documents and
settings in every mode. tests/test_wwm_reference_output.py pins both to the same digests on real text.
"""
import array
import collections
import functools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ZH_VOCAB, shared_path
from test_wwm_instances import make_options
from wwm import alignment
from wwm import fast_records
from wwm import fast_tokenizer
from wwm import instances as instances_lib
from wwm import masking
from wwm import pipeline
from wwm import segmenters
from wwm import tfrecord


def test_the_extension_is_built():
  # `pip install -e .` (make setup) compiles it; the build is optional, so a failed build would otherwise only
  # show as slower runs.
  assert fast_records.available()


@given(st.text(max_size=40))
def test_seeding_gives_pythons_twister_state(seed):
  state = fast_records._fast_records.twister_state(fast_records.seed_material(seed))
  assert state == random.Random(seed).getstate()[1]


@functools.lru_cache(maxsize=None)
def _tokenizer():
  return fast_tokenizer.FastTokenizer(str(ZH_VOCAB), do_lower_case=True)


@functools.lru_cache(maxsize=None)
def _context(**overrides):
  return pipeline.WorkerContext(make_options(**overrides), _tokenizer(), None)


def _flatten(documents, document_indices=None):
  """The FlatChunk of documents already aligned by the Python code (lists of (ids, word_ids) sentences)."""
  ids, word_ids = array.array("i"), array.array("i")
  sentence_starts, document_starts = array.array("i", [0]), array.array("i", [0])
  for sentences in documents:
    for sentence_ids, sentence_words in sentences:
      ids.extend(sentence_ids)
      word_ids.extend(sentence_words)
      sentence_starts.append(len(ids))
    document_starts.append(len(sentence_starts) - 1)
  return fast_records.FlatChunk(ids, word_ids, sentence_starts, document_starts, document_indices)


def _python_records(documents, seeds, context):
  """The reference: the Python instance builder, encoder and framing."""
  records = []
  for index, seed in enumerate(seeds):
    rng = random.Random(seed)
    if context.options.nsp:
      built = instances_lib.create_instances_from_document(documents, index % len(documents), context.config, rng)
    else:
      built = instances_lib.create_packed_instances(documents, context.config, rng)
    records.extend(tfrecord.frame_record(pipeline.encode_instance(instance, context)) for instance in built)
  return records


@st.composite
def _documents(draw, limit):
  """Documents of sentences of random ids; words of 1-4 tokens numbered over the document (as alignment does)."""
  documents = []
  for _ in range(draw(st.integers(1, 6))):
    sentences = []
    next_word = 0
    for _ in range(draw(st.integers(1, 8))):
      word_lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=12))
      ids, word_ids = [], []
      for length in word_lengths:
        ids.extend(draw(st.lists(st.integers(100, 21127), min_size=length, max_size=length)))
        word_ids.extend([next_word] * length)
        next_word += 1
      sentences.extend(instances_lib.split_long_sentence(ids, word_ids, limit))
    documents.append(sentences)
  return documents


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), max_seq_length=st.integers(5, 40), max_predictions=st.integers(1, 12),
       masked_lm_prob=st.sampled_from([0.15, 0.3, 0.5, 1.0]), short_seq_prob=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
       nsp=st.booleans(), dynamic_masking=st.booleans(), per_token_decision=st.booleans(),
       dupe_factor=st.integers(1, 3), random_seed=st.integers(-5, 10 ** 12))
def test_the_extension_writes_the_python_codes_records(data, max_seq_length, max_predictions, masked_lm_prob,
                                                       short_seq_prob, nsp, dynamic_masking, per_token_decision,
                                                       dupe_factor, random_seed):
  context = _context(max_seq_length=max_seq_length, max_predictions_per_seq=max_predictions,
                     masked_lm_prob=masked_lm_prob, short_seq_prob=short_seq_prob, nsp=nsp,
                     dynamic_masking=dynamic_masking, per_token_decision=per_token_decision,
                     dupe_factor=dupe_factor, random_seed=random_seed)
  documents = data.draw(_documents(instances_lib.max_sentence_tokens(max_seq_length, nsp)))
  seeds = pipeline.instance_seeds(context.options, range(7, 7 + len(documents)), 7)
  expected = _python_records(documents, seeds, context)
  records, counts = fast_records.build_records(_flatten(documents), seeds,
                                               context.fast_records_settings, nsp)
  assert records == expected
  assert counts["next_sentence_random"] <= len(records)


@pytest.mark.parametrize("overrides", [
    dict(masking_mode=masking.MASK_CHINESE_WORDS),
    dict(masking_mode=masking.MASK_CHINESE_WORDS, dynamic_masking=True),
    dict(masking_mode=masking.MASK_WORDPIECE_WORDS, nsp=False),
    dict(masking_mode=masking.MASK_TOKENS, per_token_decision=True, short_seq_prob=0.5, max_seq_length=32),
], ids=["chinese_wwm", "dynamic", "packed", "per_token"])
def test_a_real_chunk_gives_the_same_records_and_counts(overrides):
  lines = open(shared_path("pretrain_zh", "CLUECorpusSmall_5000_lines_bert.txt"), encoding="utf-8").read()
  documents = [document.split("\n") for document in lines.split("\n\n")[:60]]
  chunk = pipeline.Chunk(0, 3, documents, 0)
  results = []
  for fast in (True, False):
    options = make_options(fast_records=fast, dupe_factor=2, **overrides)
    context = pipeline.WorkerContext(options, _tokenizer(), segmenters.create_segmenter("jieba"))
    assert (context.fast_records_settings is not None) == fast
    stats = collections.Counter()
    results.append((pipeline.build_records(chunk, context, stats), stats))
  (fast_out, fast_stats), (python_out, python_stats) = results
  assert len(fast_out) > 50 and fast_out == python_out
  assert fast_stats == python_stats


def test_inconsistent_arrays_are_refused():
  context = _context()
  ids = array.array("i", [101, 102, 103])
  with pytest.raises(ValueError, match="inconsistent"):
    fast_records._fast_records.build(ids, array.array("i", [0, 1]), array.array("i", [0, 3]),
                                     array.array("i", [0, 1]), [b"x"], True, context.fast_records_settings)
  with pytest.raises(TypeError, match="int32"):
    fast_records._fast_records.build(array.array("q", [1, 2, 3]), ids, array.array("i", [0, 3]), array.array("i", [0, 1]),
                                     [b"x"], True, context.fast_records_settings)
  with pytest.raises(ValueError, match="inconsistent"):  # a first offset before the arrays
    fast_records._fast_records.build(ids, ids, array.array("i", [-1, 3]), array.array("i", [0, 1]), [b"x"], True,
                                     context.fast_records_settings)
  too_long = array.array("i", range(1000, 1200))
  with pytest.raises(ValueError, match="longer than"):
    fast_records._fast_records.build(too_long, too_long, array.array("i", [0, 200]), array.array("i", [0, 1]),
                                     [b"x"], True, context.fast_records_settings)


class _OddSegmenter(object):
  """Deterministic words from the characters; wrong lengths or an exception on some runs (the fallbacks)."""

  def word_lengths(self, text):
    code = sum(map(ord, text))
    if code % 11 == 0:
      raise RuntimeError("segmenter failure")
    if code % 7 == 0:
      return [len(text) + 1]
    lengths, left = [], len(text)
    while left:
      lengths.append(min(left, 1 + (code + left) % 3))
      left -= lengths[-1]
    return lengths


def _token_pools():
  classes = _context().classes
  cjk = [i for i, flag in enumerate(classes.is_cjk) if flag][:300]
  pieces = [i for i, flag in enumerate(classes.is_continuation) if flag][:100]
  other = [i for i in range(1000, 21128) if not classes.is_cjk[i] and not classes.is_continuation[i]][:100]
  return cjk, pieces, other


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), mode=st.sampled_from(masking.MASKING_MODES), max_seq_length=st.integers(5, 24))
def test_the_extensions_alignment_gives_the_python_word_ids(data, mode, max_seq_length):
  cjk, pieces, other = _token_pools()
  token = st.one_of(st.sampled_from(cjk), st.sampled_from(cjk), st.sampled_from(pieces), st.sampled_from(other))
  line = st.lists(token, min_size=1, max_size=40)
  documents = data.draw(st.lists(st.lists(line, min_size=1, max_size=5), min_size=1, max_size=4))
  tokenized = [(index, lines) for index, lines in enumerate(documents, start=3)]
  context = _context(masking_mode=mode, max_seq_length=max_seq_length)
  segmenter = _OddSegmenter()
  limit = instances_lib.max_sentence_tokens(max_seq_length, True)
  expected_stats, stats = collections.Counter(), collections.Counter()
  expected = []
  for _, lines in tokenized:
    sentences, next_word = [], 0
    for ids in lines:
      if mode == masking.MASK_TOKENS:
        word_ids, next_word = list(range(next_word, next_word + len(ids))), next_word + len(ids)
      else:
        word_ids, next_word = alignment.assign_word_ids(
            ids, context.classes, segmenter if mode == masking.MASK_CHINESE_WORDS else None, next_word,
            expected_stats)
      if len(ids) > limit:
        expected_stats["long_lines_split"] += 1
      sentences.extend(instances_lib.split_long_sentence(ids, word_ids, limit))
    expected_stats["words"] += next_word
    expected.append(sentences)
  flat = fast_records.aligned_chunk(tokenized, mode, segmenter, fast_records.token_tables(context.classes), limit,
                                    stats)
  assert flat == _flatten(expected, [3 + i for i in range(len(documents))])
  assert stats == expected_stats
