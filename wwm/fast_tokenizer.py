"""Batch WordPiece tokenization of lines: tokenization.py, or the `tokenizers` library (Rust) where it equals it.

`FastTokenizer.tokenize_lines` gives, line for line, exactly the tokens `tokenization.FullTokenizer.tokenize`
gives. By default every line goes through tokenization.py itself: since its basic tokenizer became one
str.translate pass per line with a per-word WordPiece cache, it is about twice as fast as the Rust path
(2.17x and 2.27x in two runs over every text line of ../shared/data, Chinese and English:
bench_pretraining_data.py --verify_tokenizer), whose library builds a full Encoding per line on one thread
per worker. So the Rust
path (`use_rust=True`, `--fast_tokenizer`) is only an option, kept with its proof below.

The Rust pipeline (BertNormalizer + BertPreTokenizer + WordPiece with the same vocabulary and the same
200-character word limit) runs Google's algorithm, but the two implementations may disagree on individual
characters: Unicode tables of different versions (control, punctuation, whitespace, lower-casing, NFD), Python's
context-dependent lower-casing of a final sigma, and tokenization.py's literal special tokens such as "[MASK]".

So the Rust path is used only for a line made entirely of "agreeing" characters: code points for which both
implementations give the same tokens in every context that can change a character's treatment (alone, inside
a word, at the start and end of a word, next to a CJK ideograph and a digit). Each character is probed the
first time it is seen (about 40 microseconds: the ~4,900 distinct characters of pretrain_zh cost 0.2 s per
process); any line with a disagreeing character, or with "[" (special tokens), goes through the Python
tokenizer. The per-character probe is a strong filter, not a formal proof for every sequence, so equality is
also checked on data: tests/test_wwm_fast_tokenizer.py (a sample of ../shared/data and random text) and
`benchmarks/bench_pretraining_data.py --verify_tokenizer` (every line of ../shared/data: 2.9 million lines,
0 differences).
"""
import os

# Worker processes are forked; Rust-side thread pools must not be started before the fork.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import array  # pylint: disable=g-import-not-at-top,wrong-import-position

import tokenization  # pylint: disable=g-import-not-at-top,wrong-import-position

try:
  from wwm import _fast_wordpiece  # pylint: disable=g-import-not-at-top,wrong-import-position
except ImportError:  # not built (no C compiler at install time): tokenization.py alone
  _fast_wordpiece = None

# One-character tokens beyond this code point are looked up like longer words (keeps the table small).
_CHAR_TABLE_LIMIT = 0x30000

# Contexts in which every candidate character is compared ("{}" is the character). They exercise the
# character classes (whitespace, control, punctuation, CJK) and context-sensitive case mapping.
_PROBE_CONTEXTS = ("{}", "a{}b", "A{}", "{}A", "X{}X", "\u4e2d{}\u6587", "1{}2")


def _build_rust_tokenizer(vocab, do_lower_case):
  """Returns a tokenizers.Tokenizer configured like tokenization.FullTokenizer (without special-token rules)."""
  # Imported here: only the Rust option needs the library.
  import tokenizers  # pylint: disable=g-import-not-at-top
  from tokenizers import models, normalizers, pre_tokenizers  # pylint: disable=g-import-not-at-top
  model = models.WordPiece(vocab=dict(vocab), unk_token=tokenization.UNK_TOKEN, max_input_chars_per_word=200,
                           continuing_subword_prefix="##")
  rust = tokenizers.Tokenizer(model)
  rust.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                               strip_accents=do_lower_case, lowercase=do_lower_case)
  rust.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
  return rust


class FastTokenizer(object):
  """Line tokenizer giving tokenization.FullTokenizer's tokens (optionally through Rust where proven identical).

  Attributes:
    full_tokenizer: the tokenization.FullTokenizer used for the vocabulary and for the fallback lines.
    vocab: OrderedDict token -> id.
    inv_vocab: dict id -> token.
    lines_fast / lines_fallback: how many lines went through Rust / through Python.
  """

  def __init__(self, vocab_file, do_lower_case=True, use_rust=False):
    """Loads the vocabulary and prepares the tokenizers.

    Args:
      vocab_file: WordPiece vocabulary (one token per line).
      do_lower_case: as tokenization.FullTokenizer.
      use_rust: tokenize agreeing lines through Rust. Off by default: tokenization.py's Python tokenizer (a
        str.translate pass per line and a per-word cache) measured about 2x faster on Chinese and English text
        (`benchmarks/bench_pretraining_data.py --verify_tokenizer` times both), and it is the reference.

    Raises:
      bert.errors.UsageError: the vocabulary is missing or malformed.
    """
    self.full_tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=do_lower_case)
    self.vocab = self.full_tokenizer.vocab
    self.inv_vocab = self.full_tokenizer.inv_vocab
    self.do_lower_case = do_lower_case
    self.lines_fast = 0
    self.lines_fallback = 0
    self._rust = _build_rust_tokenizer(self.vocab, do_lower_case) if use_rust else None
    self._probed = set()
    self._agreeing = set()
    self._char_ids = self._word_ids_cache = None
    if _fast_wordpiece is not None and not use_rust:
      self._char_ids = _char_id_table(self.vocab)
      self._word_ids_cache = {}

  def is_fast_line(self, line):
    """Whether `line` is tokenized by the Rust path (all its characters are agreeing characters)."""
    if self._rust is None:
      return False
    chars = set(line)
    if not chars <= self._probed:
      self._probe(chars - self._probed)
    return chars <= self._agreeing

  def _probe(self, chars):
    """Compares both tokenizers on each new character in every probe context and records the agreeing ones."""
    chars = sorted(chars)
    self._probed.update(chars)
    # "[" may open a literal special token; lone surrogates cannot be passed to Rust.
    chars = [c for c in chars if c != "[" and not 0xD800 <= ord(c) <= 0xDFFF]
    texts = [context.format(char) for char in chars for context in _PROBE_CONTEXTS]
    rust_tokens = [encoding.tokens for encoding in self._rust.encode_batch(texts, add_special_tokens=False)]
    python_tokenize = self.full_tokenizer.tokenize
    width = len(_PROBE_CONTEXTS)
    for index, char in enumerate(chars):
      probes = range(index * width, (index + 1) * width)
      if all(python_tokenize(texts[i]) == rust_tokens[i] for i in probes):
        self._agreeing.add(char)

  def tokenize_lines(self, lines):
    """Tokenizes each line; returns a list (one per line) of (tokens, ids) pairs of lists.

    Args:
      lines: list of str.

    Returns:
      list of (list of str, list of int), equal to FullTokenizer.tokenize / convert_tokens_to_ids per line.
    """
    return self._tokenize(lines, with_tokens=True)

  def ids_of_lines(self, lines):
    """Like tokenize_lines but returns only the ids of each line (the pipeline needs no strings)."""
    return self._tokenize(lines, with_tokens=False)

  def _tokenize(self, lines, with_tokens):
    if self._rust is None:
      self.lines_fallback += len(lines)
      return [self._line(line, with_tokens) for line in lines]
    results = [None] * len(lines)
    charsets = [set(line) for line in lines]
    # Probe every new character of the batch at once (one Rust call instead of one per character).
    unseen = set().union(*charsets) - self._probed
    if unseen:
      self._probe(unseen)
    agreeing = self._agreeing
    fast_indexes = []
    fast_lines = []
    for index, line in enumerate(lines):
      if charsets[index] <= agreeing:
        fast_indexes.append(index)
        fast_lines.append(line)
      else:
        results[index] = self._line(line, with_tokens)
    if fast_lines:
      encodings = self._rust.encode_batch(fast_lines, add_special_tokens=False)
      for index, encoding in zip(fast_indexes, encodings):
        results[index] = (encoding.tokens, encoding.ids) if with_tokens else encoding.ids
    self.lines_fast += len(fast_lines)
    self.lines_fallback += len(lines) - len(fast_lines)
    return results

  def _line(self, line, with_tokens):
    """tokenization.py's tokens and ids of a line (ids only: split and mapped in wwm/_fast_wordpiece.c)."""
    if not with_tokens and self._char_ids is not None:
      spaced = self.full_tokenizer.basic_tokenizer.spaced_text(line)
      if spaced is not None:
        if len(self._word_ids_cache) > tokenization.WordpieceTokenizer.CACHE_LIMIT:
          self._word_ids_cache.clear()
        return _fast_wordpiece.ids_of_text(spaced, self._char_ids, self._word_ids_cache, self._word_ids)
    tokens = self.full_tokenizer.tokenize(line)
    ids = self.full_tokenizer.convert_tokens_to_ids(tokens)
    return (tokens, ids) if with_tokens else ids

  def _word_ids(self, word):
    """The ids of one word's WordPiece pieces (tuple), for _fast_wordpiece.ids_of_text's misses."""
    return tuple(self.full_tokenizer.convert_tokens_to_ids(self.full_tokenizer.wordpiece_tokenizer.word_pieces(word)))

  def rust_tokenize(self, line):
    """Tokens of `line` from the Rust pipeline alone (no fallback); used to prove the equality in tests."""
    return self._rust.encode(line, add_special_tokens=False).tokens


def _char_id_table(vocab):
  """int32 array by code point: the id of the one-character token of that character, -1 where there is none."""
  singles = {ord(token): index for token, index in vocab.items() if len(token) == 1 and ord(token) < _CHAR_TABLE_LIMIT}
  table = array.array("i", [-1]) * (max(singles, default=0) + 1)
  for code_point, index in singles.items():
    table[code_point] = index
  return table
