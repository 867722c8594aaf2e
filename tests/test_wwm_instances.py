"""Tests for wwm/instances.py, through the whole instance builder: invariants on hand-made, random (hypothesis)
and real documents."""
import collections

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenization
from conftest import ZH_VOCAB, shared_path
from wwm import fast_tokenizer
from wwm import instances as instances_lib
from wwm import masking
from wwm import pipeline
from wwm import segmenters


def make_options(**overrides):
  values = dict(input_files=[], output_files=[], stats_file="", vocab_file=str(ZH_VOCAB), do_lower_case=True,
                masking_mode=masking.MASK_CHINESE_WORDS, segmenter="jieba", user_dict=None, max_seq_length=128,
                max_predictions_per_seq=20, random_seed=12345, dupe_factor=1, masked_lm_prob=0.15,
                short_seq_prob=0.1, nsp=True, dynamic_masking=False, per_token_decision=False, num_workers=1,
                nsp_buffer_documents=256, fast_tokenizer=False, progress=False)
  values.update(overrides)
  return pipeline.Options(**values)


@pytest.fixture(scope="module")
def shared_parts():
  tokenizer = fast_tokenizer.FastTokenizer(str(ZH_VOCAB), do_lower_case=True)
  return tokenizer, segmenters.create_segmenter("jieba")


def make_context(shared_parts, **overrides):
  tokenizer, segmenter = shared_parts
  return pipeline.WorkerContext(make_options(**overrides), tokenizer, segmenter)


def _key(ids):
  return "," + ",".join(map(str, ids)) + ","


def check_instance(instance, context, document_keys):
  """Asserts every invariant of one instance; returns per-word outcomes of the masked words."""
  config = context.config
  vocab = context.tokenizer.vocab
  inv = context.tokenizer.inv_vocab
  ids = instance.input_ids
  n = len(ids)
  assert 3 <= n <= config.max_seq_length
  assert len(instance.segment_ids) == n == len(instance.word_ids)
  assert ids[0] == config.cls_id and ids[-1] == config.sep_id
  positions = instance.masked_lm_positions
  labels = instance.masked_lm_ids
  assert positions == sorted(set(positions)) and len(positions) == len(labels)
  if config.dynamic_masking:
    assert positions == []
  else:
    budget = min(config.max_predictions_per_seq, max(1, int(round(n * config.masked_lm_prob))))
    assert len(positions) <= budget <= config.max_predictions_per_seq
    if not positions:  # only when every word is longer than the whole budget (skipped, never cut)
      assert all(len(group) > budget for group in masking.word_groups(instance.word_ids))
  restored = list(ids)
  for position, label in zip(positions, labels):
    assert 0 < position < n - 1 and instance.word_ids[position] >= 0
    token = inv[label]
    assert not (token.startswith("##") and len(token) == 3 and tokenization.is_cjk_codepoint(ord(token[2])))
    assert label not in (config.cls_id, config.sep_id, config.mask_id)
    restored[position] = label
  candidates = set(config.candidates)
  for position, (now, before) in enumerate(zip(ids, restored)):
    assert 0 <= now < len(vocab)
    if now != before:
      assert position in positions and (now == config.mask_id or now in candidates)
  # Segment A (and B) of the restored sequence is a contiguous piece of a document.
  separators = [p for p, token_id in enumerate(restored) if token_id == config.sep_id and instance.word_ids[p] < 0]
  if instance.segment_ids[-1] == 1:
    a_end = separators[0]
    assert instance.segment_ids == [0] * (a_end + 1) + [1] * (n - a_end - 1)
    pieces = [restored[1:a_end], restored[a_end + 1:n - 1]]
  else:
    assert set(instance.segment_ids) == {0}
    # Packed instances may span documents: each [SEP]-separated part is a piece of one document.
    pieces = [[]]
    for position in range(1, n - 1):
      if position in separators:
        pieces.append([])
      else:
        pieces[-1].append(restored[position])
  for piece in pieces:
    assert piece and any(_key(piece) in key for key in document_keys)
  # Whole words: every word is masked completely or not at all.
  outcomes = []
  masked = set(positions)
  for group in masking.word_groups(instance.word_ids):
    hit = [p in masked for p in group]
    assert all(hit) or not any(hit)
    if all(hit):
      kinds = {"mask" if ids[p] == config.mask_id else "keep" if ids[p] == restored[p] else "random" for p in group}
      outcomes.append(kinds)
  return outcomes


def build(context, documents, first_document_index=0):
  chunk = pipeline.Chunk(0, first_document_index, documents, 0)
  stats = collections.Counter()
  built = pipeline.build_instances(chunk, context, stats)
  prepared = pipeline.prepare_documents(chunk, context, collections.Counter())
  keys = [_key([token_id for sentence_ids, _ in sentences for token_id in sentence_ids])
          for _, sentences in prepared]
  return built, keys, stats


def test_split_long_sentence_cuts_between_words():
  ids = list(range(10))
  word_ids = [0, 0, 0, 1, 1, 1, 1, 2, 3, 3]
  pieces = instances_lib.split_long_sentence(ids, word_ids, 4)
  assert [p[0] for p in pieces] == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
  # A word longer than the limit is the only thing ever cut.
  pieces = instances_lib.split_long_sentence(list(range(6)), [0] * 6, 4)
  assert [p[0] for p in pieces] == [[0, 1, 2, 3], [4, 5]]
  assert instances_lib.split_long_sentence([1, 2], [0, 1], 4) == [([1, 2], [0, 1])]


def test_long_line_is_split_not_dropped(shared_parts):
  context = make_context(shared_parts, max_seq_length=16, short_seq_prob=0.0)
  line = "中华人民共和国成立了" * 6
  built, keys, stats = build(context, [[line], ["研究生命的起源"]])
  assert stats["long_lines_split"] == 1 and stats["tokens"] == 60 + 7
  for instance in built:
    check_instance(instance, context, keys)


def test_people_republic_is_masked_as_one_seven_token_word(shared_parts):
  seen_masked = 0
  for seed in range(40):
    context = make_context(shared_parts, max_seq_length=16, masked_lm_prob=0.6, random_seed=seed)
    built, keys, _ = build(context, [["中华人民共和国成立了"], ["研究生命的起源"]])
    for instance in built:
      check_instance(instance, context, keys)
      masked = set(instance.masked_lm_positions)
      for start in range(1, len(instance.input_ids) - 6):
        restored = list(instance.input_ids)
        for p, label in zip(instance.masked_lm_positions, instance.masked_lm_ids):
          restored[p] = label
        window = context.tokenizer.full_tokenizer.convert_ids_to_tokens(restored[start:start + 7])
        if window == list("中华人民共和国"):
          span = set(range(start, start + 7))
          assert span <= masked or not span & masked
          seen_masked += span <= masked
  assert seen_masked > 0


def test_nsp_labels_and_google_random_next_logic(shared_parts):
  context = make_context(shared_parts, max_seq_length=64, dupe_factor=3)
  documents = [["第%d篇文章的第%d句话。" % (d, s) for s in range(8)] for d in range(6)]
  built, keys, stats = build(context, documents)
  labels = collections.Counter(instance.next_sentence_label for instance in built)
  assert labels[0] > 0 and labels[1] > 0
  for instance in built:
    check_instance(instance, context, keys)
  assert stats["sentences"] == 48 and stats["instances"] == 0  # counted by process_chunk, not here


def test_no_nsp_packs_across_documents_with_a_sep(shared_parts):
  context = make_context(shared_parts, max_seq_length=40, nsp=False)
  documents = [["短文一。"], ["短文二有两句。", "第二句。"], ["中华人民共和国成立了"]]
  built, keys, _ = build(context, documents)
  assert len(built) == 1
  instance = built[0]
  tokens = context.tokenizer.full_tokenizer.convert_ids_to_tokens(instance.input_ids)
  assert tokens.count("[SEP]") == 3 and instance.next_sentence_label == 0 and set(instance.segment_ids) == {0}
  check_instance(instance, context, keys)


def test_pretraining_dynamic_masking_leaves_sequences_unmasked_and_numbers_words(shared_parts):
  context = make_context(shared_parts, max_seq_length=32, dynamic_masking=True)
  built, keys, _ = build(context, [["研究生命的起源", "他们在和平饭店和平时一样"]])
  for instance in built:
    check_instance(instance, context, keys)
    assert context.config.mask_id not in instance.input_ids
    numbered = instances_lib.renumber_words(instance.word_ids)
    assert numbered[0] == -1 and numbered[-1] == -1
    real = [w for w in numbered if w >= 0]
    assert real == sorted(real) and real[0] == 0 and len(set(real)) == real[-1] + 1


def test_same_seed_same_instances_different_seed_different(shared_parts):
  documents = [["第%d篇文章的第%d句话，研究生命的起源。" % (d, s) for s in range(5)] for d in range(4)]
  first = build(make_context(shared_parts, max_seq_length=48), documents)[0]
  again = build(make_context(shared_parts, max_seq_length=48), documents)[0]
  other = build(make_context(shared_parts, max_seq_length=48, random_seed=1), documents)[0]
  assert first == again and first != other


_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(list("中华人民共和国成立了研究生命的起源他们在和平饭店时一样 ，。！tensorflow2019")),
                       st.characters(blacklist_categories=("Cs",))),
    max_size=50)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(documents=st.lists(st.lists(_TEXT, min_size=1, max_size=6), min_size=1, max_size=5),
       max_seq_length=st.integers(5, 40), nsp=st.booleans(), dynamic=st.booleans(),
       mode=st.sampled_from(masking.MASKING_MODES), per_token=st.booleans(), seed=st.integers(0, 1000))
def test_random_unicode_documents_keep_all_invariants(shared_parts, documents, max_seq_length, nsp, dynamic, mode,
                                                      per_token, seed):
  context = make_context(shared_parts, max_seq_length=max_seq_length, nsp=nsp, dynamic_masking=dynamic,
                         masking_mode=mode, per_token_decision=per_token, random_seed=seed, dupe_factor=2,
                         max_predictions_per_seq=5)
  built, keys, stats = build(context, documents)
  for instance in built:
    check_instance(instance, context, keys)
  for instance in built:
    pipeline.encode_instance(instance, context)
  if stats["tokens"]:
    assert built


def test_property_on_real_documents(shared_parts):
  path = shared_path("pretrain_zh", "CLUECorpusSmall_bert_sampled.txt")
  chunk = next(pipeline.read_chunks([str(path)], 120, collections.Counter()))
  context = make_context(shared_parts, dupe_factor=2)
  built, keys, stats = build(context, chunk.documents)
  assert len(built) > 500 and stats["segmenter_fallbacks"] == 0
  outcomes = collections.Counter()
  total_tokens = predicted = budget = 0
  for instance in built:
    for kinds in check_instance(instance, context, keys):
      outcomes["mask" if kinds == {"mask"} else "mixed" if "mask" in kinds else "other"] += 1
    n = len(instance.input_ids)
    total_tokens += n
    predicted += len(instance.masked_lm_positions)
    budget += min(20, max(1, int(round(n * 0.15))))
    assert len(instance.masked_lm_positions) <= 20
  assert 0.13 < predicted / total_tokens <= 0.155
  assert predicted / budget > 0.93
  words = sum(outcomes.values())
  assert outcomes["mixed"] == 0
  assert abs(outcomes["mask"] / words - 0.8) < 0.03 and abs(outcomes["other"] / words - 0.2) < 0.03


def test_literal_special_tokens_in_text_are_removed_and_counted(shared_parts):
  context = make_context(shared_parts, max_seq_length=32)
  built, keys, stats = build(context, [["研究[SEP]生命[MASK]的起源[CLS]", "[PAD]"], ["中华人民共和国成立了"]])
  assert stats["special_tokens_removed"] == 4 and stats["tokens"] == 7 + 10
  for instance in built:
    check_instance(instance, context, keys)
    assert instance.input_ids.count(context.config.sep_id) == 2
