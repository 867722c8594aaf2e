"""Tests for tokenization.py.

* Google's rules one at a time (cleaning, whitespace, punctuation, CJK, accents, long words, WordPiece), the
  added special-token rule, and the bad-input errors.
* A hypothesis test: random text and random bytes never raise, and tokens -> ids -> tokens is the identity.
* The proof of Google compatibility: at least 20,000 lines drawn from every text file of ../shared/data are
  tokenized here and by Hugging Face's slow, pure-Python `transformers.BertTokenizer` (a port of Google's code),
  which must give identical token lists.
"""
import collections
import gzip
import json
import pathlib
import re
import time
import unicodedata
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenization
from bert.errors import UsageError
from conftest import EN_VOCAB, SHARED_DATA, ZH_VOCAB, shared_path

# Sampling for the comparison with Hugging Face: this many lines at most from each source (a file, or a member
# of a zip archive), evenly spaced through it; every CASED_EVERY-th sampled line is also compared with
# do_lower_case=False.
LINES_PER_SOURCE = 420
CASED_EVERY = 4
MIN_LINES_COMPARED = 20000
# Google's WordPiece gives [UNK] for words over 200 characters, the HF port for words over 100.
GOOGLE_MAX_WORD_CHARS = 200
HF_MAX_WORD_CHARS = 100


@pytest.fixture(scope="module")
def zh_cased_tokenizer():
  return tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=False)


def _write_vocab(tmp_path, tokens, name="vocab.txt"):
  path = tmp_path / name
  path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
  return str(path)


# ---------------------------------------------------------------------------------------------------------------
# Google's rules, one at a time.
# ---------------------------------------------------------------------------------------------------------------


def test_basic_tokenizer_lower_cases_strips_accents_and_splits_punctuation():
  basic = tokenization.BasicTokenizer(do_lower_case=True)
  assert basic.tokenize(" \tHeLLo!how  \n Are yoU?  ") == ["hello", "!", "how", "are", "you", "?"]
  assert basic.tokenize("H\u00e9llo") == ["hello"]  # precomposed é
  assert basic.tokenize("He\u0301llo") == ["hello"]  # e + combining acute
  assert basic.tokenize("na\u00efve Cr\u00e8me BR\u00dbL\u00c9E") == ["naive", "creme", "brulee"]


def test_basic_tokenizer_without_lower_case_keeps_case_and_accents():
  basic = tokenization.BasicTokenizer(do_lower_case=False)
  assert basic.tokenize(" \tHeLLo!how  \n Are yoU?  ") == ["HeLLo", "!", "how", "Are", "yoU", "?"]
  assert basic.tokenize("H\u00e9llo") == ["H\u00e9llo"]


def test_control_characters_are_deleted_and_whitespace_normalised():
  basic = tokenization.BasicTokenizer(do_lower_case=True)
  # NUL, U+FFFD, a C0 control, zero-width space and BOM (Cf) vanish; tab/newline/CR and Zs separate words.
  assert basic.tokenize("a\x00b\ufffdc\x07d\u200be\ufefff") == ["abcdef"]
  assert basic.tokenize("a\tb\nc\rd\u3000e\u00a0f\u2003g") == ["a", "b", "c", "d", "e", "f", "g"]
  assert tokenization._is_whitespace(" ") and tokenization._is_whitespace("\u3000")
  assert tokenization._is_control("\x05") and tokenization._is_control("\u200b")
  assert not tokenization._is_control("\t") and not tokenization._is_control("\n")


def test_private_use_and_unassigned_characters_are_kept_and_become_unk(zh_tokenizer):
  # Google keeps Co/Cn characters (only Cc/Cf are deleted); the word containing one is then [UNK].
  assert not tokenization._is_control("\ue000") and not tokenization._is_control("\U000e0fff")
  assert zh_tokenizer.tokenize("\ue000 ok") == ["[UNK]", "ok"]
  assert zh_tokenizer.tokenize("中\ue000国") == ["中", "[UNK]", "国"]


def test_punctuation_rule_includes_ascii_symbols_and_unicode_p_categories():
  for char in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
    assert tokenization._is_punctuation(char), char
  for char in "，。！？、；：“”‘’（）《》【】—…·":
    assert tokenization._is_punctuation(char), char
  for char in "aZ09 中\u00e9\u00a5":  # ¥ is a currency symbol (Sc), not punctuation
    assert not tokenization._is_punctuation(char), char
  basic = tokenization.BasicTokenizer(do_lower_case=False)
  assert basic.tokenize("a$b^c`d\u00a5e") == ["a", "$", "b", "^", "c", "`", "d\u00a5e"]
  assert basic.tokenize("...x--") == [".", ".", ".", "x", "-", "-"]


def test_cjk_characters_are_split_one_per_token_but_other_asian_scripts_are_not():
  basic = tokenization.BasicTokenizer(do_lower_case=True)
  assert basic.tokenize("ah博推zz") == ["ah", "博", "推", "zz"]
  assert basic.tokenize("我爱NLP，2018年") == ["我", "爱", "nlp", "，", "2018", "年"]
  # Extension A, extension B and a compatibility ideograph are CJK; Hangul and Kana are not.
  assert basic.tokenize("x\u3400y\U00020000z\uf900") == ["x", "\u3400", "y", "\U00020000", "z", "\u8c48"]
  cased = tokenization.BasicTokenizer(do_lower_case=False)
  assert cased.tokenize("안녕하세요 ひらがなカタカナ") == ["안녕하세요", "ひらがなカタカナ"]
  # Google's accent stripping also decomposes Hangul syllables into jamo and drops the kana voicing mark.
  assert basic.tokenize("안녕하세요 ひらがな") == [unicodedata.normalize("NFD", "안녕하세요"), "ひらかな"]
  assert tokenization.is_cjk_codepoint(0x4E2D) and not tokenization.is_cjk_codepoint(0xAC00)


def test_accent_stripping_happens_only_when_lower_casing():
  lower = tokenization.BasicTokenizer(do_lower_case=True)
  cased = tokenization.BasicTokenizer(do_lower_case=False)
  assert lower.tokenize("Ångström café Žižek") == ["angstrom", "cafe", "zizek"]
  assert cased.tokenize("Ångström café") == ["Ångström", "café"]
  # NFD can produce punctuation: U+1FEF (GREEK VARIA) decomposes to "`", which is then split off.
  assert lower.tokenize("a\u1fefb") == ["a", "`", "b"]
  # Lower-casing sees the whole word before punctuation is split off: the sigma is not word-final here.
  assert lower.tokenize("\u0391\u03a3.\u0392 \u0391\u03a3") == ["\u03b1\u03c3", ".", "\u03b2", "\u03b1\u03c2"]
  assert cased.tokenize("a\u1fefb") == ["a\u1fefb"]


def _google_basic_tokenize(text, do_lower_case):
  """Google's basic tokenization written the literal way (per character, then per word), from the predicates.

  tokenization.py transforms whole lines with regular expressions for speed; this is the reference it must match.
  """
  cleaned = []
  for char in text:
    if ord(char) == 0 or ord(char) == 0xFFFD or tokenization._is_control(char):
      continue
    cleaned.append(" " if tokenization._is_whitespace(char) else char)
  spaced = "".join(" %s " % c if tokenization.is_cjk_codepoint(ord(c)) else c for c in cleaned)
  words = []
  for word in spaced.split():
    if do_lower_case:
      word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
    pieces = [[]]
    for char in word:
      if tokenization._is_punctuation(char):
        pieces.extend([[char], []])
      else:
        pieces[-1].append(char)
    words.extend("".join(piece) for piece in pieces if piece)
  return " ".join(words).split()


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_every_code_point_is_handled_like_googles_per_character_rules(do_lower_case):
  basic = tokenization.BasicTokenizer(do_lower_case=do_lower_case, never_split=())
  # All assigned characters except private use; one in 64 of the private-use and unassigned ones (the rules
  # treat those ranges uniformly, and sweeping all of them would take most of this file's time budget).
  codepoints = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and
                (unicodedata.category(chr(cp)) not in ("Cn", "Co") or cp % 64 == 0)]
  for start in range(0, len(codepoints), 2048):
    # Each character between two letters, so that deletion, splitting and merging all show in the result; the
    # capital sigma before it lower-cases to final "ς" or medial "σ" depending on what follows (Python follows
    # Unicode's context rule), which shows whether the character was still inside the word when lower-casing.
    text = "".join("x\u03a3%sX " % chr(cp) for cp in codepoints[start:start + 2048])
    assert basic.tokenize(text) == _google_basic_tokenize(text, do_lower_case), hex(codepoints[start])


_MIXED_TEXT = st.text(alphabet=st.sampled_from(
    "aZ \t\n\r\x00\x07\u200b\ufeff\ufffd\u3000\u00a0\u2028\u0301\u0308\u0345\u1fef\u037e\u00c5\u212b"
    "\u03a3\u03c3\u0130\u00df\ufb01\ud800.,!?'-_[]$`中文\uf900\u3400\ue000\U000e0fff\u0378가ひが"), max_size=30)


@settings(max_examples=400, deadline=None)
@given(text=_MIXED_TEXT | st.text(max_size=40), do_lower_case=st.booleans())
def test_whole_line_processing_equals_googles_per_word_loop(text, do_lower_case):
  basic = tokenization.BasicTokenizer(do_lower_case=do_lower_case, never_split=())
  assert basic.tokenize(text) == _google_basic_tokenize(text, do_lower_case)


def test_text_is_not_nfc_normalised_like_google():
  # HF's port applies NFC first; Google does not, so a decomposed accent survives when not lower-casing.
  cased = tokenization.BasicTokenizer(do_lower_case=False)
  assert cased.tokenize("cafe\u0301") == ["cafe\u0301"]


def test_wordpiece_is_greedy_longest_match_first():
  vocab = {t: i for i, t in enumerate(["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un",
                                       "runn", "##ing", "##n", "##ni"])}
  wordpiece = tokenization.WordpieceTokenizer(vocab=vocab)
  assert wordpiece.tokenize("") == []
  assert wordpiece.tokenize("unwanted running") == ["un", "##want", "##ed", "runn", "##ing"]
  assert wordpiece.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"]
  # Longest first: "runn" + "##ing", never "runn" + "##n" + ... ; a word with an uncoverable tail is [UNK].
  assert wordpiece.tokenize("runnni") == ["runn", "##ni"]
  assert wordpiece.tokenize("wantz") == ["[UNK]"]


def test_words_longer_than_200_characters_become_unk(en_tokenizer):
  assert en_tokenizer.tokenize("a" * 201) == ["[UNK]"]
  pieces = en_tokenizer.tokenize("a" * 200)
  assert "[UNK]" not in pieces and "".join(p.replace("##", "") for p in pieces) == "a" * 200
  wordpiece = tokenization.WordpieceTokenizer(vocab={"[UNK]": 0, "a": 1, "##a": 2}, max_input_chars_per_word=5)
  assert wordpiece.tokenize("aaaaa aaaaaa") == ["a", "##a", "##a", "##a", "##a", "[UNK]"]


def test_full_tokenizer_on_known_chinese_and_english_examples(zh_tokenizer, en_tokenizer):
  assert zh_tokenizer.tokenize("我爱北京天安门。") == ["我", "爱", "北", "京", "天", "安", "门", "。"]
  assert zh_tokenizer.tokenize("iPhone 12售价5999元") == ["iphone", "12", "售", "价", "599", "##9", "元"]
  assert en_tokenizer.tokenize("UNwant\u00e9d,running") == ["unwanted", ",", "running"]
  assert en_tokenizer.tokenize("The unaffable tokenizer") == ["the", "una", "##ffa", "##ble", "token", "##izer"]


def test_vocab_ids_and_conversions(zh_tokenizer):
  assert zh_tokenizer.vocab["[PAD]"] == 0 and zh_tokenizer.vocab["[UNK]"] == 100
  assert zh_tokenizer.vocab["[CLS]"] == 101 and zh_tokenizer.vocab["[SEP]"] == 102
  assert zh_tokenizer.vocab["[MASK]"] == 103 and len(zh_tokenizer.vocab) == 21128
  assert zh_tokenizer.inv_vocab[103] == "[MASK]"
  tokens = zh_tokenizer.tokenize("[CLS] 中文 [SEP]")
  ids = zh_tokenizer.convert_tokens_to_ids(tokens)
  assert ids == [101, zh_tokenizer.vocab["中"], zh_tokenizer.vocab["文"], 102]
  assert zh_tokenizer.convert_ids_to_tokens(ids) == tokens
  assert tokenization.convert_tokens_to_ids(zh_tokenizer.vocab, ["[MASK]"]) == [103]
  assert tokenization.convert_ids_to_tokens(zh_tokenizer.inv_vocab, [100]) == ["[UNK]"]
  with pytest.raises(KeyError):
    zh_tokenizer.convert_tokens_to_ids(["not-a-token"])


def test_convert_to_unicode_and_printable_text():
  assert tokenization.convert_to_unicode("中文") == "中文"
  assert tokenization.convert_to_unicode("中文".encode("utf-8")) == "中文"
  assert tokenization.convert_to_unicode(b"a\xffb") == "a\ufffdb"
  assert tokenization.printable_text(b"x\xe4\xb8") == "x\ufffd"
  with pytest.raises(ValueError):
    tokenization.convert_to_unicode(42)


def test_whitespace_tokenize():
  assert tokenization.whitespace_tokenize("  a b\t c\n") == ["a", "b", "c"]
  assert tokenization.whitespace_tokenize("   ") == []


# ---------------------------------------------------------------------------------------------------------------
# Added rule: special tokens are never split.
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("do_lower_case", [True, False])
def test_special_tokens_are_never_split(do_lower_case):
  tokenizer = tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=do_lower_case)
  assert tokenizer.tokenize("[CLS] 今天[MASK]气很好 [SEP]") == ["[CLS]", "今", "天", "[MASK]", "气", "很", "好",
                                                              "[SEP]"]
  assert tokenizer.tokenize("x[MASK]y[PAD][UNK]") == ["x", "[MASK]", "y", "[PAD]", "[UNK]"]
  assert tokenizer.tokenize("[[MASK]]") == ["[", "[MASK]", "]"]
  # Case matters: only the exact spelling is special.
  expected_mask = ["[", "ma", "##sk", "]"] if do_lower_case else ["[", "[UNK]", "]"]
  assert tokenizer.tokenize("[Mask]") == expected_mask


def test_unused_tokens_of_the_vocab_are_never_split(zh_tokenizer, en_tokenizer):
  assert zh_tokenizer.tokenize("a [unused1] b[unused99]c") == ["a", "[unused1]", "b", "[unused99]", "c"]
  assert en_tokenizer.tokenize("[unused993]") == ["[unused993]"]
  # Only the vocab's own [unusedN] tokens are special: the zh vocab stops at [unused99].
  assert "[unused100]" not in zh_tokenizer.vocab
  assert zh_tokenizer.tokenize("[unused100]") == ["[", "u", "##nus", "##ed", "##100", "]"]
  assert tokenization.special_tokens_of_vocab(zh_tokenizer.vocab) >= {"[unused1]", "[unused99]", "[MASK]"}


def test_google_splits_special_tokens_when_never_split_is_empty():
  basic = tokenization.BasicTokenizer(do_lower_case=True, never_split=())
  assert basic.tokenize("[MASK]") == ["[", "mask", "]"]


def test_custom_never_split_tokens_of_any_shape():
  basic = tokenization.BasicTokenizer(do_lower_case=True, never_split=["<S>", "[MASK]"])
  assert basic.tokenize("A<S>B [MASK] <s>") == ["a", "<S>", "b", "[MASK]", "<", "s", ">"]


# ---------------------------------------------------------------------------------------------------------------
# Bad input.
# ---------------------------------------------------------------------------------------------------------------


def test_missing_vocab_is_a_one_line_usage_error(tmp_path):
  missing = tmp_path / "no_such_vocab.txt"
  with pytest.raises(UsageError, match="no_such_vocab.txt") as info:
    tokenization.FullTokenizer(str(missing))
  assert "\n" not in str(info.value) and "not found" in str(info.value)


def test_unreadable_vocab_is_a_usage_error(tmp_path):
  with pytest.raises(UsageError, match="cannot read vocab file .*%s" % tmp_path.name):
    tokenization.load_vocab(str(tmp_path))  # a directory
  binary = tmp_path / "vocab.bin"
  binary.write_bytes(b"[UNK]\n\xff\xfe\x00garbage\n")
  with pytest.raises(UsageError, match="vocab.bin is not UTF-8"):
    tokenization.FullTokenizer(str(binary))


def test_vocab_without_unk_is_a_usage_error(tmp_path):
  path = _write_vocab(tmp_path, ["[PAD]", "[CLS]", "[SEP]", "a"], name="nounk.txt")
  with pytest.raises(UsageError, match=r"nounk.txt has no \[UNK\] token") as info:
    tokenization.FullTokenizer(path)
  assert "\n" not in str(info.value)


def test_load_vocab_keeps_line_numbers_as_ids_and_strips_whitespace(tmp_path):
  path = tmp_path / "v.txt"
  path.write_bytes(b"[PAD]\r\n[UNK]\n  hello \n\xe4\xb8\xad\n")
  vocab = tokenization.load_vocab(str(path))
  assert list(vocab.items()) == [("[PAD]", 0), ("[UNK]", 1), ("hello", 2), ("中", 3)]


def test_invalid_utf8_is_decoded_with_replacement(zh_tokenizer):
  # U+FFFD is then deleted by cleaning, exactly like Google's cleaning of replacement characters.
  assert zh_tokenizer.tokenize(b"\xff\xfe\xe4\xb8\xad\xe6\x96\x87 ok\xc3") == ["中", "文", "ok"]
  assert zh_tokenizer.tokenize(b"") == []


def test_validate_case_matches_checkpoint():
  tokenization.validate_case_matches_checkpoint(True, "")
  tokenization.validate_case_matches_checkpoint(True, "/m/chinese_L-12_H-768_A-12/bert_model.ckpt")
  tokenization.validate_case_matches_checkpoint(False, "/m/my_own_model/bert_model.ckpt")
  with pytest.raises(UsageError, match="do_lower_case=False contradicts") as info:
    tokenization.validate_case_matches_checkpoint(False, "gs://b/chinese_L-12_H-768_A-12/bert_model.ckpt")
  assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
  with pytest.raises(ValueError, match="do_lower_case=True contradicts"):
    tokenization.validate_case_matches_checkpoint(True, "/m/cased_L-12_H-768_A-12/bert_model.ckpt")


# ---------------------------------------------------------------------------------------------------------------
# Random input never crashes and ids round-trip.
# ---------------------------------------------------------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80) | st.text(
    alphabet=st.sampled_from("中文字 ab,.[]MASKCLSunused1 \t\n\u0301\ue000\u00e9\u3000"), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=_TEXT | st.binary(max_size=80))
def test_random_text_and_bytes_never_raise_and_ids_round_trip(zh_tokenizer, en_tokenizer, payload):
  for tokenizer in (zh_tokenizer, en_tokenizer):
    tokens = tokenizer.tokenize(payload)
    assert all(token and not any(c.isspace() for c in token) for token in tokens)
    ids = tokenizer.convert_tokens_to_ids(tokens)
    assert tokenizer.convert_ids_to_tokens(ids) == tokens


# ---------------------------------------------------------------------------------------------------------------
# Proof of compatibility: every text file of ../shared/data against Hugging Face's slow BertTokenizer.
# ---------------------------------------------------------------------------------------------------------------


def _nonblank_lines(data):
  """Decodes bytes as UTF-8 (with replacement) and returns the lines that contain more than whitespace."""
  # Only "\n" ends a line: str.splitlines() would also split at U+2028, U+0085 or \x1c, which belong to the text.
  return [line for line in data.decode("utf-8", "replace").split("\n") if line.strip()]


def _json_strings(value):
  """Yields every string value inside a parsed JSON value, and the keys of objects that map text to numbers
  (label maps such as {"entailment": 0})."""
  if isinstance(value, str):
    yield value
  elif isinstance(value, dict):
    if value and not any(isinstance(item, (str, dict, list)) for item in value.values()):
      yield from value.keys()
    for item in value.values():
      yield from _json_strings(item)
  elif isinstance(value, list):
    for item in value:
      yield from _json_strings(item)


def _json_text(data):
  """Text fields of a JSON document or of a JSON-lines file, each split into lines."""
  text = data.decode("utf-8", "replace")
  try:
    documents = [json.loads(text)]
  except ValueError:
    documents = [json.loads(line) for line in text.split("\n") if line.strip()]
  lines = []
  for document in documents:
    for string in _json_strings(document):
      lines.extend(line for line in string.split("\n") if line.strip())
  return lines


def _char_per_line_sentences(data):
  """Rebuilds sentences from a `char TAG` per line NER file (blank line between sentences)."""
  sentences, chars = [], []
  for line in data.decode("utf-8", "replace").split("\n"):
    if line.strip():
      chars.append(line.rsplit(" ", 1)[0])
    elif chars:
      sentences.append("".join(chars))
      chars = []
  if chars:
    sentences.append("".join(chars))
  return sentences


def _looks_char_per_line(lines):
  return len(lines) > 20 and all(len(line.rsplit(" ", 1)[0]) == 1 for line in lines[:20])


def _source_texts(path):
  """Yields (source name, lines of text) for one file of ../shared/data (zip archives: one per member)."""
  name = path.relative_to(SHARED_DATA).as_posix()
  data = path.read_bytes()
  if path.suffix == ".zip":
    with zipfile.ZipFile(path) as archive:
      for member in archive.infolist():
        if member.is_dir():
          continue
        member_data = archive.read(member)
        lines = _nonblank_lines(member_data)
        if _looks_char_per_line(lines):
          lines = _char_per_line_sentences(member_data)
        yield "%s:%s" % (name, member.filename), lines
  elif path.suffix == ".gz":
    yield name, _nonblank_lines(gzip.decompress(data))
  elif path.suffix == ".json":
    yield name, _json_text(data)
  else:
    yield name, _nonblank_lines(data)


# A run of over 100 characters that are neither whitespace, ASCII punctuation nor common CJK: a candidate for a
# word of more than 100 characters after basic tokenization.
_LONG_RUN_RE = re.compile(r"[^\s!-/:-@\[-`{-~\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]{101,}")


def _evenly_spaced(lines, count):
  if len(lines) <= count:
    return list(lines)
  step = len(lines) / count
  return [lines[int(i * step)] for i in range(count)]


def sample_shared_lines(per_source=LINES_PER_SOURCE):
  """Returns {source: (language, sampled lines)} for every file of ../shared/data; language is "en" for the
  English GLUE sets and the English vocabulary, "zh" otherwise."""
  sources = collections.OrderedDict()
  for path in sorted(p for p in SHARED_DATA.rglob("*") if p.is_file()):
    relative = path.relative_to(SHARED_DATA).as_posix()
    language = "en" if relative.startswith(("glue_en/", "bert_vocab_en")) else "zh"
    for source, lines in _source_texts(path):
      sample = _evenly_spaced(lines, per_source)
      # Lines with a very long word are rare but test the [UNK] limit, so all of them are added.
      sampled = set(sample)
      sample.extend(line for line in lines if _LONG_RUN_RE.search(line) and line not in sampled)
      sources[source] = (language, sample)
  return sources


def _has_private_or_unassigned(line):
  return any(unicodedata.category(c) in ("Co", "Cn") for c in line)


def _hf_reference(vocab_file, do_lower_case, register_unused_tokens):
  """HF's slow BertTokenizer, with its WordPiece word limit set to Google's 200 characters.

  With `register_unused_tokens`, the vocabulary's [unusedN] tokens are registered as special tokens (HF's way of
  saying "never split", which this project adds). That makes HF ten times slower, so it is used only for lines
  that contain "[unused"; on other lines it changes nothing.
  """
  transformers = pytest.importorskip("transformers")
  unused = []
  if register_unused_tokens:
    unused = sorted(tokenization.special_tokens_of_vocab(tokenization.load_vocab(vocab_file)) -
                    set(tokenization.SPECIAL_TOKENS))
  hf = transformers.BertTokenizer(vocab_file, do_lower_case=do_lower_case, tokenize_chinese_chars=True,
                                  additional_special_tokens=unused)
  assert hf.wordpiece_tokenizer.max_input_chars_per_word == HF_MAX_WORD_CHARS
  hf.wordpiece_tokenizer.max_input_chars_per_word = GOOGLE_MAX_WORD_CHARS
  return hf


def test_identical_to_hugging_face_slow_tokenizer_on_every_shared_data_file():
  shared_path("README.md")
  started = time.time()
  sources = sample_shared_lines()
  ours = {}
  reference = {}
  for language, vocab in (("zh", ZH_VOCAB), ("en", EN_VOCAB)):
    for lower in (True, False):
      ours[language, lower] = tokenization.FullTokenizer(str(vocab), do_lower_case=lower)
      for unused in (False, True):
        reference[language, lower, unused] = _hf_reference(str(vocab), lower, register_unused_tokens=unused)

  totals = collections.Counter()
  mismatches = []
  print("\n%-70s %5s %7s %7s %9s %9s" % ("source", "lang", "lines", "cased", "excl_CoCn", "word>100"))
  for source, (language, lines) in sources.items():
    counts = collections.Counter()
    for index, line in enumerate(lines):
      if _has_private_or_unassigned(line):
        # HF deletes Co/Cn characters, Google keeps them (and the word becomes [UNK]): not comparable.
        counts["excluded_co_cn"] += 1
        continue
      for lower in ((True, False) if index % CASED_EVERY == 0 else (True,)):
        got = ours[language, lower].tokenize(line)
        want = reference[language, lower, "[unused" in line].tokenize(line)
        counts["compared" if lower else "compared_cased"] += 1
        if lower and any(len(word) > HF_MAX_WORD_CHARS for word in ours[language, lower].basic_tokenizer.tokenize(
            line)):
          # Would differ from stock HF (limit 100); compared against HF with Google's limit of 200.
          counts["long_word"] += 1
        if lower and "[unused" in line:
          counts["unused_token"] += 1
        if got != want:
          mismatches.append((source, lower, line, got, want))
    print("%-70s %5s %7d %7d %9d %9d" % (source, language, counts["compared"], counts["compared_cased"],
                                          counts["excluded_co_cn"], counts["long_word"]))
    assert counts["compared"] > 0, "no line compared from %s" % source
    totals.update(counts)
  print("total: %d lines compared lower-cased + %d cased, %d excluded (Co/Cn), %d with a word of 101-200 "
        "chars, %d with an [unusedN] token, %d sources, %.1f s" % (
            totals["compared"], totals["compared_cased"], totals["excluded_co_cn"], totals["long_word"],
            totals["unused_token"], len(sources), time.time() - started))

  assert not mismatches, "%d lines differ; first: %r" % (len(mismatches), mismatches[:3])
  assert totals["compared"] >= MIN_LINES_COMPARED
  assert totals["compared_cased"] >= MIN_LINES_COMPARED // CASED_EVERY // 2
  assert totals["excluded_co_cn"] <= 0.005 * totals["compared"]
  assert totals["long_word"] >= 1  # the 101-200 character words of the data were compared, not skipped
  assert totals["unused_token"] >= 1  # lines with [unusedN] (from the vocab files) were compared too
  # Every file of ../shared/data took part (a zip archive counts once per member).
  files = {p.relative_to(SHARED_DATA).as_posix() for p in SHARED_DATA.rglob("*") if p.is_file()}
  assert files == {source.split(":", 1)[0] for source in sources}


# ---------------------------------------------------------------------------------------------------------------
# The project's own sample corpus (sample_data/) is well-formed and fully covered by the Chinese vocabulary.
# ---------------------------------------------------------------------------------------------------------------


def _load_corpus_checker():
  import importlib.util  # pylint: disable=g-import-not-at-top
  path = pathlib.Path(__file__).resolve().parents[1] / "sample_data" / "check_corpus.py"
  spec = importlib.util.spec_from_file_location("check_corpus", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_sample_corpus_is_well_formed_and_has_no_unknown_characters(zh_tokenizer):
  checker = _load_corpus_checker()
  corpus = pathlib.Path(__file__).resolve().parents[1] / "sample_data" / "zh_corpus.txt"
  problems, counts = checker.corpus_problems_and_counts(str(corpus))
  assert problems == []
  assert 150 <= counts["documents"] <= 200 and 80000 <= counts["bytes"] <= 120000
  lines = [line for line in corpus.read_text(encoding="utf-8").split("\n") if line]
  assert len(lines) == counts["sentence_lines"] and len(set(lines)) == len(lines)  # no repeated sentence
  assert "[UNK]" not in [token for line in lines for token in zh_tokenizer.tokenize(line)]


def test_corpus_checker_reports_the_broken_line(tmp_path):
  checker = _load_corpus_checker()
  good = "第一句。\n第二句。\n第三句。\n第四句。\n第五句。\n"
  path = tmp_path / "c.txt"
  path.write_text(good + "\n" + good, encoding="utf-8")
  assert checker.corpus_problems_and_counts(str(path))[0] == []
  path.write_text(good + "\n\n" + good.replace("第二句。", "第二句。 "), encoding="utf-8")
  problems = checker.corpus_problems_and_counts(str(path))[0]
  assert problems == ["%s:7: blank line without a document before it (empty document)" % path,
                      "%s:9: leading or trailing whitespace" % path]
  path.write_bytes(b"\xff\n")
  assert "not UTF-8" in checker.corpus_problems_and_counts(str(path))[0][0]
