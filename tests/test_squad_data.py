"""Tests of bert.squad.data: SQuAD-format reading, answer repair, character-exact token spans, doc-stride windows."""
import json
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bert.squad import data as squad_data
from bert.errors import UsageError
from conftest import shared_path


def dataset(context, qas):
  return {"version": "v1.1", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}


def qa(qid, answers, question="问题？", impossible=None):
  entry = {"id": qid, "question": question, "answers": [{"text": t, "answer_start": s} for t, s in answers]}
  if impossible is not None:
    entry["is_impossible"] = impossible
  return entry


# ----------------------------------------------------------------------------------------------- answer repair


def test_locate_answer_keeps_a_correct_offset():
  assert squad_data.locate_answer("北京和北京", "北京", 3) == ((3, 5), False)


def test_locate_answer_repairs_to_the_nearest_occurrence():
  context = "上海。北京很大。上海很远。北京也远。"
  assert squad_data.locate_answer(context, "北京", 12) == ((13, 15), True)  # 13 is nearer than 3
  assert squad_data.locate_answer(context, "北京", 4) == ((3, 5), True)
  # CMRC 2018 marks many such answers with answer_start = -1: the first occurrence is used.
  assert squad_data.locate_answer(context, "上海", -1) == ((0, 2), True)
  assert squad_data.locate_answer(context, "上海", None) == ((0, 2), True)


def test_locate_answer_strips_copied_whitespace_and_gives_up_when_absent():
  assert squad_data.locate_answer("答案是北京。", " 北京 ", 2) == ((3, 5), True)
  assert squad_data.locate_answer("答案是北京。", "南京", 3) == (None, False)
  assert squad_data.locate_answer("答案是北京。", "", 3) == (None, False)


def test_reader_counts_repaired_and_unrecoverable_answers_and_skips_for_training():
  data = dataset("北京是首都。上海是城市。", [
      qa("ok", [("北京", 0)]),
      qa("moved", [("上海", 1)]),
      qa("second", [("广州", -1), ("上海", 6)]),
      qa("lost", [("广州", -1)]),
  ])
  examples, stats = squad_data.examples_from_json(data, is_training=True)
  assert [e.qas_id for e in examples] == ["ok", "moved", "second"]
  assert stats.questions == 4 and stats.answers == 5
  assert stats.answers_repaired == 1 and stats.answers_unrecoverable == 2 and stats.questions_skipped == 1
  assert [(e.start_char, e.end_char, e.orig_answer_text) for e in examples] == [
      (0, 2, "北京"), (6, 8, "上海"), (6, 8, "上海")]
  # Prediction keeps every question (scoring uses all reference texts).
  examples, stats = squad_data.examples_from_json(data, is_training=False)
  assert len(examples) == 4 and stats.questions_skipped == 0
  assert examples[2].answers == ["广州", "上海"] and not examples[3].has_answer_span


def test_cmrc2018_dev_answer_quirks_are_counted():
  examples, stats = squad_data.read_squad_examples(str(shared_path("cmrc2018", "cmrc2018_dev.json")), False)
  # data/README.md: 200 of the 9,657 reference answers have a wrong answer_start.
  assert stats.answers == 9657
  assert stats.answers_repaired + stats.answers_unrecoverable == 200
  assert all(e.has_answer_span for e in examples)
  assert all(e.context[e.start_char:e.end_char] == e.orig_answer_text for e in examples)


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("data,message", [
    ({"version": "1"}, "x.json is not SQuAD format: the top level has no 'data' key"),
    ({"data": [{"title": "t"}]}, r"data\[0\] has no 'paragraphs' key"),
    ({"data": [{"paragraphs": [{"qas": []}]}]}, r"data\[0\]\.paragraphs\[0\] has no 'context' key"),
    ({"data": [{"paragraphs": [{"context": "c"}]}]}, r"data\[0\]\.paragraphs\[0\] has no 'qas' key"),
    ({"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q"}]}]}]}, r"qas\[0\] has no 'id' key"),
    (dataset("c", [{"id": "q7", "answers": []}]), "question q7 has no 'question' key"),
    (dataset("c", [{"id": "q8", "question": "q"}]), "question q8 has no 'answers' key"),
    (dataset("c", [{"id": "q9", "question": "q", "answers": [{"answer_start": 0}]}]),
     r"question q9 answers\[0\] has no 'text' key"),
])
def test_not_squad_format_names_the_missing_key(data, message):
  with pytest.raises(UsageError, match=message):
    squad_data.examples_from_json(data, is_training=True, source="x.json")


def test_v1_training_question_without_answers_names_its_id():
  data = dataset("北京", [qa("Q-17", [])])
  with pytest.raises(UsageError, match="training question Q-17 has no answers.*--version_2_with_negative"):
    squad_data.examples_from_json(data, is_training=True, source="train.json")
  # Allowed for prediction (test sets have no answers) and for SQuAD 2.0 impossible questions.
  assert len(squad_data.examples_from_json(data, is_training=False)[0]) == 1
  v2 = dataset("北京", [qa("Q-18", [], impossible=True)])
  examples, stats = squad_data.examples_from_json(v2, is_training=True, version_2_with_negative=True)
  assert examples[0].is_impossible and stats.impossible == 1
  # Read without the flag, the question is answerable; the summary says why that is probably wrong.
  examples, stats = squad_data.examples_from_json(v2, is_training=False)
  assert not examples[0].is_impossible and stats.impossible_ignored == 1
  assert "--version_2_with_negative" in stats.summary()


def test_duplicate_question_id_names_it_the_file_and_both_places(tmp_path):
  data = dataset("北京是首都", [qa("Q-1", [("北京", 0)]), qa("Q-2", [("首都", 3)])])
  data["data"].append({"paragraphs": [{"context": "上海", "qas": [qa("Q-1", [("上海", 0)])]}]})
  path = tmp_path / "dev.json"
  path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
  for is_training in (False, True):
    with pytest.raises(UsageError, match=r"dev\.json: duplicate question id 'Q-1' \(data\[1\]\.paragraphs\[0\]\.qas"
                                         r"\[0\], first at data\[0\]\.paragraphs\[0\]\.qas\[0\]\)"):
      squad_data.read_squad_examples(str(path), is_training)
  # Ids are compared as the strings predictions.json uses: 7 and "7" collide.
  with pytest.raises(UsageError, match="duplicate question id '7'"):
    squad_data.examples_from_json(dataset("北京", [qa(7, []), qa("7", [])]), is_training=False)


def test_file_errors(tmp_path):
  with pytest.raises(UsageError, match="SQuAD file not found"):
    squad_data.read_squad_examples(str(tmp_path / "missing.json"), True)
  bad = tmp_path / "bad.json"
  bad.write_text("{\n  'data': oops", encoding="utf-8")
  with pytest.raises(UsageError, match=r"bad.json is not valid JSON \(line 2"):
    squad_data.read_squad_examples(str(bad), True)
  bad.write_bytes(b'{"data": [{"paragraphs": [{"context": "\xe5\x8c", "qas": []}]}]}')
  with pytest.raises(UsageError, match=r"bad.json is not valid UTF-8 \(byte 0xe5 at offset 39\)"):
    squad_data.read_squad_examples(str(bad), True)
  bad.write_bytes(b"\xef\xbb\xbf" + json.dumps(dataset("x", [])).encode() + b" \xff")
  with pytest.raises(UsageError, match=r"bad.json is not valid UTF-8 \(byte 0xff at offset %d\)"
                     % (bad.stat().st_size - 1)):
    squad_data.read_squad_examples(str(bad), True)
  bad.write_bytes(b"\xef\xbb\xbf" + json.dumps(dataset("x", [])).encode())  # a BOM is fine
  assert squad_data.read_squad_examples(str(bad), True)[0] == []
  with pytest.raises(UsageError, match=r": cannot be read \(Is a directory\)"):
    squad_data.read_squad_examples(str(tmp_path), True)


def test_max_seq_length_must_leave_room_for_the_context():
  with pytest.raises(UsageError, match=r"--max_seq_length \(67\) must be greater than --max_query_length \+ 3 "
                                       r"\(67\)"):
    squad_data.check_sequence_lengths(67, 64)
  squad_data.check_sequence_lengths(68, 64)


# ----------------------------------------------------------------------------------------------- char <-> token


def test_split_context_units():
  context = "我爱Python 3.8版本!\u200b好"
  units = [context[s:e] for s, e in squad_data.split_context_units(context)]
  assert units == ["我", "爱", "Python", "3", ".", "8", "版", "本", "!", "好"]
  # A deleted (format) character does not end a word, as in the tokenizer; at a word's end it is left out.
  context = "Wiki\u00adpedia\u200b 维基"
  assert [context[s:e] for s, e in squad_data.split_context_units(context)] == ["Wiki\u00adpedia", "维", "基"]


# Characters that exercise every tokenizer rule: CJK (simplified, traditional, extension A), Latin with accents
# and case, digits, ASCII and full-width punctuation, symbols, whitespace kinds, control/format characters,
# emoji, characters that change length when lower-cased or decomposed.
_ALPHABET = ("北京國語㐀的ABCabcÉéüßİﬁΩω0123456789 ,.;:!?'\"()[]{}-_/\\@#$%^&*+=~`|<>，。！？「」（）《》…、"
             "\t\n\u3000\u00a0\u200b\u00ad\x00\ufffd\x07😀\u1fef\u0301")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_context_tokens_equal_the_tokenizer_and_spans_cover_them(zh_tokenizer, context):
  # Literal special tokens are deliberately split in contexts (see the module docstring of squad_data).
  assume(not re.search(r"\[[A-Za-z0-9_]+\]", context))
  doc = squad_data.ContextTokenizer(zh_tokenizer).tokenize_context(context)
  assert doc.tokens == zh_tokenizer.tokenize(context)
  for token, start, end in zip(doc.tokens, doc.starts, doc.ends):
    assert 0 <= start < end <= len(context)
    if token != "[UNK]":
      piece = token[2:] if token.startswith("##") and len(token) > 2 else token
      assert piece in squad_data._normalize_for_alignment(context[start:end])  # pylint: disable=protected-access
  assert doc.starts == sorted(doc.starts) and doc.ends == sorted(doc.ends)


def test_token_spans_are_exact_for_chinese_and_mixed_text(zh_tokenizer):
  context = "《战国无双3》由光荣和ω-force开发，2010年发售。"
  doc = squad_data.ContextTokenizer(zh_tokenizer).tokenize_context(context)
  # Joining the covered text of the tokens of each unit gives the unit back.
  pieces = [context[s:e] for s, e in zip(doc.starts, doc.ends)]
  assert "".join(pieces) == context
  assert doc.tokens == zh_tokenizer.tokenize(context)
  assert pieces[doc.tokens.index("光")] == "光"
  first, last = doc.answer_token_span(context.index("ω-force"), context.index("ω-force") + len("ω-force"))
  assert context[doc.starts[first]:doc.ends[last]] == "ω-force"


def test_token_spans_map_word_pieces_inside_words_with_accents(en_tokenizer):
  context = "Zürich's unaffable mayor, in 1990s."
  doc = squad_data.ContextTokenizer(en_tokenizer).tokenize_context(context)
  assert doc.tokens == en_tokenizer.tokenize(context)
  covered = [context[s:e] for s, e in zip(doc.starts, doc.ends)]
  assert covered[:2] == ["Zürich", "'"]
  assert "".join(covered[doc.tokens.index("una"):doc.tokens.index("una") + 3]) == "unaffable"
  assert len(doc.tokens) > len(context.split())  # word pieces really were split
  assert doc.tokens[doc.tokens.index("una"):doc.tokens.index("una") + 3] == ["una", "##ffa", "##ble"]
  span = doc.answer_token_span(context.index("ffable"), context.index("ffable") + 6)
  assert context[doc.starts[span[0]]:doc.ends[span[1]]] == "ffable"  # a span starting inside a word


def test_unknown_characters_cover_their_unit(zh_tokenizer):
  context = "笑脸😀表情"
  doc = squad_data.ContextTokenizer(zh_tokenizer).tokenize_context(context)
  assert doc.tokens == ["笑", "脸", "[UNK]", "表", "情"]
  assert context[doc.starts[2]:doc.ends[2]] == "😀"


# ----------------------------------------------------------------------------------------------- windows


def test_doc_spans_follow_google_stride():
  assert squad_data.doc_spans(10, 4, 3) == [(0, 4), (3, 4), (6, 4)]
  assert squad_data.doc_spans(3, 4, 3) == [(0, 3)]
  assert squad_data.doc_spans(0, 4, 3) == []
  assert squad_data.doc_spans(9, 4, 10) == [(0, 4), (4, 4), (8, 1)]


def _google_max_context(spans, span_index, position):
  best_score, best_index = None, None
  for index, (start, length) in enumerate(spans):
    if not start <= position < start + length:
      continue
    score = min(position - start, start + length - 1 - position) + 0.01 * length
    if best_score is None or score > best_score:
      best_score, best_index = score, index
  return best_index == span_index


@pytest.mark.parametrize("num_tokens,max_tokens,stride", [(10, 4, 3), (37, 8, 2), (50, 20, 7), (5, 10, 3)])
def test_best_window_matches_google_definition(num_tokens, max_tokens, stride):
  spans = squad_data.doc_spans(num_tokens, max_tokens, stride)
  best = squad_data.best_window_per_token(spans, num_tokens)
  for index, (start, length) in enumerate(spans):
    for position in range(start, start + length):
      assert (best[position] == index) == _google_max_context(spans, index, position)


def test_features_layout_windows_and_answer_positions(zh_tokenizer):
  context = "".join("第%d句话讲的是城市%s。" % (i, c) for i, c in enumerate("甲乙丙丁戊己庚辛"))
  answer = "城市庚"
  data = dataset(context, [qa("q", [(answer, context.index(answer))], question="哪个城市？")])
  examples, _ = squad_data.examples_from_json(data, is_training=True)
  features = squad_data.convert_examples_to_features(examples, zh_tokenizer, max_seq_length=32, doc_stride=8,
                                                     max_query_length=4, is_training=True)
  assert len(features) > 3
  query = zh_tokenizer.tokenize("哪个城市？")[:4]
  in_window = [f for f in features if f.answer_in_window]
  assert in_window
  for feature in features:
    assert len(feature.input_ids) == len(feature.input_mask) == len(feature.segment_ids) == 32
    assert feature.tokens[:len(query) + 2] == ["[CLS]"] + query + ["[SEP]"]
    assert feature.tokens[-1] == "[SEP]" and feature.doc_offset == len(query) + 2
    real = len(feature.tokens)
    assert feature.input_mask == [1] * real + [0] * (32 - real)
    assert feature.segment_ids[:real] == [0] * feature.doc_offset + [1] * (real - feature.doc_offset)
    assert feature.input_ids[:real] == zh_tokenizer.convert_tokens_to_ids(feature.tokens)
    if feature.answer_in_window:
      start = feature.start_position - feature.doc_offset
      end = feature.end_position - feature.doc_offset
      assert context[feature.char_starts[start]:feature.char_ends[end]] == answer
      assert feature.tokens[feature.start_position:feature.end_position + 1] == list(answer)
    else:
      assert (feature.start_position, feature.end_position) == (0, 0)
  # Each context token is the "max context" token of exactly one window.
  counted = sum(sum(f.token_is_max_context) for f in features)
  assert counted == len(zh_tokenizer.tokenize(context))


def test_impossible_questions_point_at_cls(zh_tokenizer):
  data = dataset("北京是首都。", [qa("none", [], impossible=True)])
  examples, _ = squad_data.examples_from_json(data, is_training=True, version_2_with_negative=True)
  feature, = squad_data.convert_examples_to_features(examples, zh_tokenizer, 32, 8, 8, is_training=True)
  assert feature.is_impossible and (feature.start_position, feature.end_position) == (0, 0)


def test_conversion_rejects_bad_lengths(zh_tokenizer):
  with pytest.raises(UsageError, match="max_query_length"):
    squad_data.convert_examples_to_features([], zh_tokenizer, 20, 8, 17, is_training=False)
  with pytest.raises(UsageError, match="--doc_stride"):
    squad_data.convert_examples_to_features([], zh_tokenizer, 64, 0, 16, is_training=False)


def test_output_fn_streams_features(zh_tokenizer):
  data = dataset("北京是首都。" * 20, [qa("a", [("首都", 2)]), qa("b", [("北京", 0)])])
  examples, _ = squad_data.examples_from_json(data, is_training=True)
  streamed = []
  count = squad_data.convert_examples_to_features(examples, zh_tokenizer, 48, 16, 8, True, streamed.append)
  assert count == len(streamed) > 2
  assert [f.unique_id for f in streamed] == list(range(squad_data.UNIQUE_ID_START,
                                                       squad_data.UNIQUE_ID_START + count))
  assert json.dumps(sorted({f.example_index for f in streamed})) == "[0, 1]"
