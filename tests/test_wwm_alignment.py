"""Tests for wwm/alignment.py: positional word ids from segmenter spans, ## pieces, digit and Latin runs."""
import pytest

import tokenization
from conftest import ZH_VOCAB
from wwm import alignment
from wwm import segmenters


@pytest.fixture(scope="module")
def tokenizer():
  return tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=True)


@pytest.fixture(scope="module")
def classes(tokenizer):
  return alignment.TokenClasses(tokenizer.vocab)


@pytest.fixture(scope="module")
def jieba_segmenter():
  return segmenters.create_segmenter("jieba")


def _words(text, tokenizer, classes, segmenter):
  """Tokens grouped by word id, as lists of token strings."""
  tokens = tokenizer.tokenize(text)
  word_ids, next_id = alignment.assign_word_ids(tokenizer.convert_tokens_to_ids(tokens), classes, segmenter, 0)
  assert len(word_ids) == len(tokens) and next_id == len(set(word_ids))
  assert word_ids == sorted(word_ids)  # words are contiguous and numbered in order
  words = []
  for token, word_id in zip(tokens, word_ids):
    if word_id == len(words):
      words.append([])
    words[word_id].append(token)
  return words


def test_people_republic_is_one_seven_token_word(tokenizer, classes, jieba_segmenter):
  words = _words("中华人民共和国成立了", tokenizer, classes, jieba_segmenter)
  assert words == [list("中华人民共和国"), ["成", "立"], ["了"]]


def test_words_follow_jieba_positions_not_a_word_set(tokenizer, classes, jieba_segmenter):
  words = _words("研究生命的起源", tokenizer, classes, jieba_segmenter)
  assert words == [["研", "究"], ["生", "命"], ["的"], ["起", "源"]]
  assert ["研", "究", "生"] not in words


def test_second_heping_is_not_grouped_where_jieba_splits_he_pingshi(tokenizer, classes, jieba_segmenter):
  text = "他们在和平饭店和平时一样"
  tokens = tokenizer.tokenize(text)
  word_ids, _ = alignment.assign_word_ids(tokenizer.convert_tokens_to_ids(tokens), classes, jieba_segmenter, 0)
  assert tokens[3:5] == ["和", "平"] and tokens[7:9] == ["和", "平"]
  assert word_ids[3] == word_ids[4]          # first 和平 is a word
  assert word_ids[7] != word_ids[8]          # second 和 stands alone ...
  assert word_ids[8] == word_ids[9]          # ... and 平 belongs to 平时
  assert _words(text, tokenizer, classes, jieba_segmenter) == [
      ["他", "们"], ["在"], ["和", "平"], ["饭", "店"], ["和"], ["平", "时"], ["一", "样"]]


def test_wordpieces_digit_runs_and_latin_runs_are_single_words(tokenizer, classes, jieba_segmenter):
  words = _words("用tensorflow训练，2019年有12345678人", tokenizer, classes, jieba_segmenter)
  assert ["te", "##ns", "##or", "##flow"] in words
  assert ["123456", "##78"] in words
  assert ["2019"] in words
  assert ["，"] in words
  assert ["iphone", "##13"] in _words("iPhone13", tokenizer, classes, jieba_segmenter)


def test_without_segmenter_each_cjk_token_is_a_word_but_pieces_still_join(tokenizer, classes):
  words = _words("研究tensorflow", tokenizer, classes, None)
  assert words == [["研"], ["究"], ["te", "##ns", "##or", "##flow"]]


def test_numbering_continues_from_first_word_id(tokenizer, classes, jieba_segmenter):
  ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("研究生命"))
  word_ids, next_id = alignment.assign_word_ids(ids, classes, jieba_segmenter, 10)
  assert word_ids == [10, 10, 11, 11] and next_id == 12


class _BrokenSegmenter(segmenters.Segmenter):
  def __init__(self, result):
    self.result = result

  def word_lengths(self, text):
    if self.result is None:
      raise RuntimeError("segmenter crashed")
    return self.result


@pytest.mark.parametrize("result", [None, [1], [5, 5, -1]])
def test_segmenter_failure_falls_back_to_characters_and_is_counted(tokenizer, classes, result):
  ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize("研究生命"))
  stats = {}
  word_ids, _ = alignment.assign_word_ids(ids, classes, _BrokenSegmenter(result), 0, stats)
  assert word_ids == [0, 1, 2, 3]
  assert stats == {"segmenter_fallbacks": 1}


def test_token_classes(tokenizer, classes):
  vocab = tokenizer.vocab
  assert classes.is_cjk[vocab["中"]] and not classes.is_cjk[vocab["##中"]] and not classes.is_cjk[vocab["a"]]
  assert classes.is_continuation[vocab["##ns"]] and not classes.is_continuation[vocab["ns"]]
