"""Tests for wwm/segmenters.py: jieba's words on the issue's sentences, user dictionaries, errors."""
import re

from hypothesis import given, settings, strategies as st
from jieba import finalseg
import pytest

from bert.errors import UsageError
from conftest import shared_path
from wwm import segmenters


@pytest.fixture(scope="module")
def jieba_segmenter():
  return segmenters.create_segmenter("jieba")


def _words(segmenter, text):
  words, start = [], 0
  for length in segmenter.word_lengths(text):
    words.append(text[start:start + length])
    start += length
  assert start == len(text)
  return words


def test_jieba_words_of_the_issue_sentences(jieba_segmenter):
  assert _words(jieba_segmenter, "中华人民共和国成立了") == ["中华人民共和国", "成立", "了"]
  assert _words(jieba_segmenter, "研究生命的起源") == ["研究", "生命", "的", "起源"]
  assert _words(jieba_segmenter, "他们在和平饭店和平时一样") == [
      "他们", "在", "和平", "饭店", "和", "平时", "一样"]


def test_char_segmenter_gives_one_word_per_character():
  assert segmenters.create_segmenter("char").word_lengths("研究生命") == [1, 1, 1, 1]


def test_user_dict_changes_the_words(tmp_path):
  user_dict = tmp_path / "user.txt"
  user_dict.write_text("和平饭店 100000 nz\n", encoding="utf-8")
  segmenter = segmenters.create_segmenter("jieba", str(user_dict))
  assert _words(segmenter, "他们在和平饭店和平时一样")[2] == "和平饭店"
  # The user dictionary stays private to that segmenter.
  assert "和平饭店" not in _words(segmenters.create_segmenter("jieba"), "他们在和平饭店和平时一样")


def test_bad_segmenter_name_and_missing_user_dict_are_usage_errors(tmp_path):
  with pytest.raises(UsageError, match="--segmenter=ltp is unknown"):
    segmenters.create_segmenter("ltp")
  with pytest.raises(UsageError, match="missing.txt: file not found"):
    segmenters.create_segmenter("jieba", str(tmp_path / "missing.txt"))
  with pytest.raises(UsageError, match="--user_dict is only used by --segmenter=jieba"):
    segmenters.create_segmenter("char", str(tmp_path / "x.txt"))


def test_hmm_joins_unknown_names_only_when_enabled():
  text = "他来到了网易杭研大厦"  # jieba's own README example: 杭研 is not in its dictionary
  assert _words(segmenters.create_segmenter("jieba", hmm=True), text) == ["他", "来到", "了", "网易", "杭研", "大厦"]
  assert _words(segmenters.create_segmenter("jieba", hmm=False), text) == [
      "他", "来到", "了", "网易", "杭", "研", "大厦"]


needs_rjieba = pytest.mark.skipif(not segmenters.rjieba_available(), reason="rjieba is a default dependency; "
                                  "this environment lacks it")

# Runs where rjieba alone disagrees with jieba 0.42.1 (found by bench_pretraining_data.py --verify_segmenter),
# plus a run with an ideograph outside jieba's Chinese range.
RJIEBA_DISAGREES = ["古人常在宅旁栽种桑树和梓树", "的美美美总算回家", "有几篇特别赞赞赞赞赞", "阿江江江江不白",
                    "差差差差差差评", "中国\u3400字"]


def test_the_c_segmenter_is_built():
  # `pip install -e .` (make setup) compiles it; the build is optional, so a failed build would otherwise only
  # show as slower runs.
  assert segmenters.native_segmenter_available()
  assert segmenters.create_segmenter("jieba").implementation == "jieba-c+hmm"
  assert segmenters.create_segmenter("jieba", hmm=False).implementation == "jieba-c"


# The fast segmenter in its two forms: jieba's algorithm in C (the default), and, where the extension is not
# built, rjieba's route with the Python HMM decoder.
FAST_KINDS = [pytest.param(True, id="c"), pytest.param(False, id="rjieba", marks=pytest.mark.skipif(
    not segmenters.rjieba_available(), reason="rjieba is a default dependency; this environment lacks it"))]


@pytest.mark.parametrize("native", FAST_KINDS)
@pytest.mark.parametrize("hmm", [True, False])
def test_fast_path_gives_jiebas_words(hmm, native):
  fast = segmenters.FastJiebaSegmenter(hmm=hmm, native=native)
  reference = segmenters.create_segmenter("jieba", hmm=hmm, fast=False)
  assert type(reference) is segmenters.JiebaSegmenter
  texts = RJIEBA_DISAGREES + ["中华人民共和国成立了", "研究生命的起源", "他们在和平饭店和平时一样",
                              "他来到了网易杭研大厦", "我爱北京天安门天安门上太阳升"]
  for text in texts:
    assert fast.word_lengths(text) == reference.word_lengths(text), text


@needs_rjieba
def test_fast_path_rules():
  assert segmenters.takes_fast_path("他们在和平饭店和平时一样")
  assert not segmenters.takes_fast_path("的美美美总算")   # a repeated character
  assert not segmenters.takes_fast_path("一天一天")       # a repeated pair
  assert not segmenters.takes_fast_path("中国\u3400字")  # CJK Extension A: not Chinese to jieba's patterns
  assert segmenters.FastJiebaSegmenter(native=False).implementation == "rjieba+jieba-hmm"
  assert segmenters.FastJiebaSegmenter(hmm=False, native=False).implementation == "rjieba"
  assert segmenters.create_segmenter("jieba", fast=False).implementation == "jieba"


@needs_rjieba
def test_a_user_dictionary_always_segments_with_jieba(tmp_path):
  user_dict = tmp_path / "user.txt"
  user_dict.write_text("和平饭店 100000 nz\n", encoding="utf-8")
  segmenter = segmenters.create_segmenter("jieba", str(user_dict))
  assert type(segmenter) is segmenters.JiebaSegmenter and segmenter.implementation == "jieba"


# Characters of the HMM's tables and some it has never seen (their emission is jieba's floor probability).
_HMM_ALPHABET = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多" \
                "然于心学么之都好看起发当没成只如事把还用第样道想作种开美总算回赞评阿江白差宅旁栽桑梓网易杭研厦" \
                "\u9fd5\u9fd0\u4e02\u4e04\u4e05\u4e06"


def _jieba_hmm_lengths(stretch):
  return tuple(len(word) for word in finalseg.cut(stretch))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_HMM_ALPHABET, min_size=1, max_size=30))
def test_hmm_decoder_gives_jieba_finalseg_words(stretch):
  assert segmenters.jieba_hmm_word_lengths_function(finalseg)(stretch) == _jieba_hmm_lengths(stretch)


def test_hmm_decoder_on_every_han_run_of_a_real_corpus():
  decode = segmenters.jieba_hmm_word_lengths_function(finalseg)
  text = shared_path("pretrain_zh", "CLUECorpusSmall_5000_lines_bert.txt").read_text(encoding="utf-8")
  runs = sorted(set(re.findall("[\u4e00-\u9fd5]+", text)))
  assert len(runs) > 10000
  assert [run for run in runs if decode(run) != _jieba_hmm_lengths(run)] == []


@pytest.mark.parametrize("native", FAST_KINDS)
def test_force_split_words_send_stretches_through_jieba(native):
  fast = segmenters.FastJiebaSegmenter(native=native)
  reference = segmenters.create_segmenter("jieba", fast=False)
  text = "他来到了网易杭研大厦"
  finalseg.add_force_split("杭研")
  try:
    assert fast.word_lengths(text) == reference.word_lengths(text)
    assert "杭研" not in _words(fast, text)
  finally:
    finalseg.Force_Split_Words.discard("杭研")


@pytest.mark.parametrize("native", FAST_KINDS)
@pytest.mark.parametrize("hmm", [True, False])
def test_runs_with_repeats_take_jiebas_own_route(hmm, native):
  fast = segmenters.FastJiebaSegmenter(hmm=hmm, native=native)
  reference = segmenters.create_segmenter("jieba", hmm=hmm, fast=False)
  texts = ["谢谢你们的帮助", "天天向上好好学习", "的美美美总算回家", "一天一天过去了", "哈哈哈哈哈哈", "阿江江江江不白",
           "常常在宅旁看看书", "韩梅梅和李雷雷"]
  for text in texts:
    assert not segmenters.takes_fast_path(text)
    assert fast.word_lengths(text) == reference.word_lengths(text), text


@pytest.fixture(scope="module")
def c_and_jieba():
  return {hmm: (segmenters.FastJiebaSegmenter(hmm=hmm), segmenters.create_segmenter("jieba", hmm=hmm, fast=False))
          for hmm in (True, False)}


# Repeated characters and pairs make exact ties between routes; \u9fd5 is the last character of jieba's range.
@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_HMM_ALPHABET[:40] + "一一天天美美哈哈江江\u9fd5", min_size=1, max_size=40), st.booleans())
def test_the_c_segmenter_gives_jiebas_words_on_random_text(c_and_jieba, text, hmm):
  fast, reference = c_and_jieba[hmm]
  assert fast.word_lengths(text) == reference.word_lengths(text)


@pytest.mark.parametrize("hmm", [True, False])
def test_the_c_segmenter_on_every_han_run_of_a_real_corpus(c_and_jieba, hmm):
  fast, reference = c_and_jieba[hmm]
  text = shared_path("pretrain_zh", "CLUECorpusSmall_5000_lines_bert.txt").read_text(encoding="utf-8")
  runs = sorted(set(re.findall("[\u4e00-\u9fd5]+", text)))
  assert len(runs) > 10000
  assert [run for run in runs if fast.word_lengths(run) != reference.word_lengths(run)] == []


def test_the_c_segmenter_leaves_other_characters_to_jieba(c_and_jieba):
  fast, reference = c_and_jieba[True]
  native = fast._native  # pylint: disable=protected-access
  assert native.word_lengths("中国\u3400字") is None and native.word_lengths("") == []
  from wwm import _fast_segmenter  # pylint: disable=g-import-not-at-top
  with pytest.raises(RuntimeError, match="not initialized"):
    _fast_segmenter.Segmenter.__new__(_fast_segmenter.Segmenter).word_lengths("中国")
  assert fast.word_lengths("中国\u3400字") == reference.word_lengths("中国\u3400字")


@pytest.fixture(scope="module")
def jiebas_own_dictionary():
  import jieba  # pylint: disable=g-import-not-at-top
  tokenizer = jieba.Tokenizer()
  tokenizer.initialize()
  return tokenizer.FREQ, tokenizer.total


def _initialized_tokenizer():
  import jieba  # pylint: disable=g-import-not-at-top
  tokenizer = jieba.Tokenizer()
  segmenters.initialize_jieba(tokenizer)
  assert tokenizer.initialized
  return tokenizer


def test_the_dictionary_copy_loads_jiebas_dictionary(tmp_path, monkeypatch, jiebas_own_dictionary):
  monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
  first = _initialized_tokenizer()  # jieba loads it (and writes its own cache here), then the copy is made
  path = segmenters.dictionary_cache_path(first)
  assert path.startswith(str(tmp_path)) and open(path, "rb").read(4) == b"wwm-"
  assert (first.FREQ, first.total) == jiebas_own_dictionary
  import jieba  # pylint: disable=g-import-not-at-top

  def refuse(*unused_args):
    raise AssertionError("jieba's own loading was used although the copy exists")

  monkeypatch.setattr(jieba.Tokenizer, "initialize", refuse)
  second = _initialized_tokenizer()
  assert (second.FREQ, second.total) == jiebas_own_dictionary
  assert list(second.FREQ)[:1000] == list(jiebas_own_dictionary[0])[:1000]


@pytest.mark.parametrize("damage", ["truncated", "other_magic", "empty"])
def test_a_damaged_dictionary_copy_is_ignored_and_replaced(tmp_path, monkeypatch, jiebas_own_dictionary, damage):
  monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
  path = segmenters.dictionary_cache_path(_initialized_tokenizer())
  data = open(path, "rb").read()
  damaged = {"truncated": data[:-3], "other_magic": b"x" + data[1:], "empty": b""}[damage]
  open(path, "wb").write(damaged)
  tokenizer = _initialized_tokenizer()
  assert (tokenizer.FREQ, tokenizer.total) == jiebas_own_dictionary
  assert open(path, "rb").read() == data
