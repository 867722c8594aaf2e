"""Tests for wwm/fast_tokenizer.py: the Rust path gives exactly tokenization.py's tokens.

The proof over ../shared/data runs on every line of pretrain_zh plus evenly spaced samples of every other text
source (files, JSON strings, zip members) to stay within the test budget; `benchmarks/bench_pretraining_data.py
--verify_tokenizer` checks every line of ../shared/data.
"""
import gzip
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tokenization
from conftest import EN_VOCAB, ZH_VOCAB, shared_path
from wwm import fast_tokenizer

SAMPLE_LINES_PER_SOURCE = 300


@pytest.fixture(scope="module")
def zh_fast():
  return fast_tokenizer.FastTokenizer(str(ZH_VOCAB), do_lower_case=True, use_rust=True)


def _json_strings(value):
  if isinstance(value, str):
    yield value
  elif isinstance(value, dict):
    for item in value.values():
      yield from _json_strings(item)
  elif isinstance(value, list):
    for item in value:
      yield from _json_strings(item)


def _json_or_text(line):
  try:
    return json.loads(line)
  except ValueError:
    return line


def _source_lines(path):
  """Text lines of one shared-data file (zip members and gzip unpacked, JSON strings extracted)."""
  if path.suffix == ".zip":
    with zipfile.ZipFile(path) as archive:
      for name in archive.namelist():
        if not name.endswith("/"):
          yield name, archive.read(name).decode("utf-8", "replace").splitlines()
    return
  data = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
  text = data.decode("utf-8", "replace")
  if path.suffix == ".json":
    try:
      yield str(path), [s for s in _json_strings(json.loads(text)) for s in s.splitlines()]
    except ValueError:  # JSON lines
      yield str(path), [s for line in text.split("\n") if line.strip()
                        for s in _json_strings(_json_or_text(line)) for s in s.splitlines()]
    return
  yield str(path), text.splitlines()


def _sample(lines, count):
  if len(lines) <= count:
    return lines
  step = len(lines) / count
  return [lines[int(i * step)] for i in range(count)]


def _shared_samples():
  """(name, lines) of every text source of ../shared/data: all of pretrain_zh, evenly spaced samples of the rest."""
  root = shared_path("pretrain_zh").parent
  for path in sorted(root.rglob("*")):
    if path.suffix not in (".txt", ".tsv", ".csv", ".json", ".zip", ".gz") or path.name.startswith("vocab"):
      continue
    for name, lines in _source_lines(path):
      yield name, lines if "pretrain_zh" in name else _sample(lines, SAMPLE_LINES_PER_SOURCE)


def test_rust_path_equals_python_tokenizer_on_shared_data(zh_fast):
  python = zh_fast.full_tokenizer
  checked = rust_lines = 0
  for name, lines in _shared_samples():
    fast_before = zh_fast.lines_fast
    results = zh_fast.tokenize_lines(lines)
    rust_lines += zh_fast.lines_fast - fast_before
    for line, (tokens, ids) in zip(lines, results):
      # Lines on the fast path got these tokens from Rust alone.
      expected = python.tokenize(line)
      assert tokens == expected, (name, line)
      assert ids == python.convert_tokens_to_ids(expected)
    checked += len(lines)
  assert checked > 40000
  assert rust_lines / checked > 0.97  # the fast path really is the common path


@pytest.mark.parametrize("text", [
    "[MASK]中文[SEP]", "ΣΑΣ ΟΔΟΣ", "Café naïve ÉCOLE", "a\u0000b\ufffdc\u200bd", "x" * 250 + " y",
    "ﬁnance ﬂ", "İstanbul", "한국어 日本語かな", "\U00020000\U0002A700 𝔘𝔫𝔦", "tab\tnew\r\nline\u3000full",
])
def test_special_cases_equal_python(zh_fast, text):
  assert zh_fast.tokenize_lines([text])[0][0] == zh_fast.full_tokenizer.tokenize(text)


def test_special_tokens_and_final_sigma_go_through_python(zh_fast):
  assert not zh_fast.is_fast_line("[MASK]中文")
  assert not zh_fast.is_fast_line("ΟΔΟΣ")
  assert zh_fast.is_fast_line("研究生命的起源，tensorflow 2019年")


def test_python_only_by_default_and_cased_english_vocab():
  slow = fast_tokenizer.FastTokenizer(str(ZH_VOCAB))
  assert slow.tokenize_lines(["研究生命"])[0][0] == ["研", "究", "生", "命"]
  assert slow.ids_of_lines(["研究"]) == [slow.full_tokenizer.convert_tokens_to_ids(["研", "究"])]
  assert slow.lines_fast == 0 and slow.lines_fallback == 2
  cased = fast_tokenizer.FastTokenizer(str(EN_VOCAB), do_lower_case=False, use_rust=True)
  text = "Unaffable John's TensorFlow"
  assert cased.tokenize_lines([text])[0][0] == tokenization.FullTokenizer(str(EN_VOCAB), False).tokenize(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=5))
def test_random_unicode_equals_python(zh_fast, lines):
  python = zh_fast.full_tokenizer
  assert [tokens for tokens, _ in zh_fast.tokenize_lines(lines)] == [python.tokenize(line) for line in lines]


# The default tokenizer: tokenization.py, with the split and the ids of ids_of_lines in C (wwm/_fast_wordpiece.c).
@pytest.fixture(scope="module")
def zh_default():
  return fast_tokenizer.FastTokenizer(str(ZH_VOCAB), do_lower_case=True)


def test_the_wordpiece_extension_is_built(zh_default):
  assert fast_tokenizer._fast_wordpiece is not None and zh_default._char_ids is not None


def test_c_ids_equal_python_on_shared_data(zh_default):
  python = tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=True)
  checked = 0
  for name, lines in _shared_samples():
    for line, ids in zip(lines, zh_default.ids_of_lines(lines)):
      assert ids == python.convert_tokens_to_ids(python.tokenize(line)), (name, line)
    checked += len(lines)
  assert checked > 40000


@pytest.mark.parametrize("vocab, lower", [(ZH_VOCAB, True), (EN_VOCAB, True), (EN_VOCAB, False)])
@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=5))
def test_c_ids_equal_python_on_random_unicode(vocab, lower, lines):
  fast = _default_tokenizer(str(vocab), lower)
  python = fast.full_tokenizer
  assert fast.ids_of_lines(lines) == [python.convert_tokens_to_ids(python.tokenize(line)) for line in lines]


def test_c_ids_special_cases(zh_default):
  python = zh_default.full_tokenizer
  texts = ["[MASK]中文[SEP]", "ΣΑΣ ΟΔΟΣ", "a\u2028b\u0085c\x1cd", "x" * 250 + " y", "研究生命的起源，tensorflow 2019年",
           "\U00020000\U0002A700 𝔘𝔫𝔦", "tab\tnew\r\nline\u3000full", ""]
  assert zh_default.ids_of_lines(texts) == [python.convert_tokens_to_ids(python.tokenize(t)) for t in texts]


_DEFAULT_TOKENIZERS = {}


def _default_tokenizer(vocab, lower):
  if (vocab, lower) not in _DEFAULT_TOKENIZERS:
    _DEFAULT_TOKENIZERS[vocab, lower] = fast_tokenizer.FastTokenizer(vocab, do_lower_case=lower)
  return _DEFAULT_TOKENIZERS[vocab, lower]
