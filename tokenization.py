"""Tokenization for BERT: Google's `tokenization.py` API and behaviour, plus safe special tokens.

The pipeline is Google's: clean the text (drop NUL, U+FFFD and control characters, map whitespace to a space),
put spaces around every CJK ideograph, optionally lower-case and strip accents (NFD, then drop combining marks),
split off every punctuation character, then run greedy longest-match-first WordPiece on each word (words over
`max_input_chars_per_word` characters become `[UNK]`).

Differences from Google's file, all on purpose:
  * Special tokens ([CLS], [SEP], [MASK], [PAD], [UNK] and the vocabulary's [unusedN]) written literally in the
    text are kept as one token, wherever they appear and whatever `do_lower_case` is (Google turns "[MASK]"
    into "[", "mask", "]").
  * Bytes that are not valid UTF-8 are decoded with U+FFFD replacement characters (Google's "ignore" drops
    them). Cleaning deletes U+FFFD, so the tokens are the same; only printable_text() shows where they were.
  * A missing or unreadable vocabulary, or one without [UNK], raises `bert.errors.UsageError` naming the file.
  * It does not import TensorFlow (remote paths such as gs:// are still read through tf.io.gfile).
  * It is faster (several times Hugging Face's pure-Python port on Chinese text): whole lines are transformed
    with `str.translate` tables, filled on demand from the per-character rules, instead of a Python loop per
    character; WordPiece results are memoised per word.

The per-character rules are written once, as Google's predicates `_is_whitespace`, `_is_control`,
`_is_punctuation` and `is_cjk_codepoint`; the translation tables are derived from them.
"""
import collections
import re
import threading
import unicodedata

from bert.errors import UsageError

# BERT's special tokens, named once for the whole project (vocabularies, sequence builders, masking, export).
PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
MASK_TOKEN = "[MASK]"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN)
_UNUSED_TOKEN_RE = re.compile(r"\[unused\d+\]\Z")
# A literal that could be a special token: brackets around letters/digits. Membership is then checked
# against the tokenizer's own set, so "[abc]" in ordinary text is left to the normal rules.
_BRACKETED_RE = re.compile(r"\[[A-Za-z0-9_]+\]")

# Names of Google's released checkpoints (and the HFL Chinese whole-word-masking ones) by the casing they
# were trained with; used to catch a do_lower_case flag that contradicts the checkpoint.
_LOWER_CASED_MODELS = frozenset([
    "uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12", "multilingual_L-12_H-768_A-12",
    "chinese_L-12_H-768_A-12", "chinese_wwm_L-12_H-768_A-12", "chinese_wwm_ext_L-12_H-768_A-12",
    "chinese_roberta_wwm_ext_L-12_H-768_A-12", "chinese_roberta_wwm_large_ext_L-24_H-1024_A-16",
])
_CASED_MODELS = frozenset([
    "cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16", "multi_cased_L-12_H-768_A-12",
])


class CaseMismatchError(UsageError, ValueError):
  """`do_lower_case` contradicts the casing of a known checkpoint.

  Also a ValueError, the type Google's function raised, so callers written for Google's code still catch it.
  """


def validate_case_matches_checkpoint(do_lower_case, init_checkpoint):
  """Checks that `do_lower_case` agrees with the casing of a well-known checkpoint.

  Only checkpoints whose directory name is one of Google's (or HFL's) released models can be checked; any other
  path passes silently, because nothing is known about it.

  Args:
    do_lower_case: bool, the flag the user passed.
    init_checkpoint: path such as ".../uncased_L-12_H-768_A-12/bert_model.ckpt", or None/"".

  Raises:
    CaseMismatchError: the flag contradicts the checkpoint.
  """
  if not init_checkpoint:
    return
  match = re.match(r"^.*?([A-Za-z0-9_-]+)/bert_model\.ckpt", init_checkpoint)
  if match is None:
    return
  model_name = match.group(1)
  if model_name in _LOWER_CASED_MODELS and not do_lower_case:
    expected, opposite = "True", "False"
  elif model_name in _CASED_MODELS and do_lower_case:
    expected, opposite = "False", "True"
  else:
    return
  raise CaseMismatchError(
      "--do_lower_case=%s contradicts --init_checkpoint %s: %s was trained with do_lower_case=%s; pass "
      "--do_lower_case=%s (or rename the checkpoint directory if you really mean it)" %
      (opposite, init_checkpoint, model_name, expected, expected))


def convert_to_unicode(text):
  """Returns `text` as `str`; bytes are decoded as UTF-8, invalid sequences becoming U+FFFD.

  Args:
    text: str or bytes.

  Returns:
    str.

  Raises:
    ValueError: `text` is neither str nor bytes.
  """
  if isinstance(text, str):
    return text
  if isinstance(text, (bytes, bytearray)):
    return bytes(text).decode("utf-8", "replace")
  raise ValueError("Unsupported string type: %s" % type(text))


def printable_text(text):
  """Returns `text` as a str that can be printed or logged (bytes are decoded like convert_to_unicode)."""
  return convert_to_unicode(text)


def _open_text(path):
  """Opens a local or remote (scheme://) text file for reading as UTF-8."""
  if "://" in path:
    # Remote file systems (gs://, hdfs://) are only reachable through TensorFlow; import it just then.
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.io.gfile.GFile(path, "r")
  return open(path, "r", encoding="utf-8", newline=None)


def load_vocab(vocab_file):
  """Loads a vocabulary file (one token per line; the line number is the id) into an ordered dict.

  Args:
    vocab_file: path of the vocabulary.

  Returns:
    collections.OrderedDict mapping token -> id. A token listed twice keeps its last id (as in Google's code).

  Raises:
    UsageError: the file is missing, unreadable or not UTF-8.
  """
  vocab = collections.OrderedDict()
  try:
    with _open_text(vocab_file) as reader:
      for index, line in enumerate(reader):
        vocab[convert_to_unicode(line).strip()] = index
  except FileNotFoundError:
    raise UsageError("vocab file not found: %s" % vocab_file) from None
  except UnicodeDecodeError as e:
    raise UsageError("vocab file %s is not UTF-8 text (invalid byte at offset %d of a line)" %
                     (vocab_file, e.start)) from None
  except OSError as e:
    raise UsageError("cannot read vocab file %s: %s" % (vocab_file, e.strerror or e)) from None
  except Exception as e:  # pylint: disable=broad-except
    # tf.io.gfile reports missing or unreadable remote files with its own exception types.
    if type(e).__module__.startswith("tensorflow"):
      raise UsageError("cannot read vocab file %s: %s" % (vocab_file, getattr(e, "message", e))) from None
    raise
  return vocab


def convert_by_vocab(vocab, items):
  """Maps each item through `vocab` (token -> id or id -> token); an unknown item raises KeyError."""
  return [vocab[item] for item in items]


def convert_tokens_to_ids(vocab, tokens):
  """Returns the ids of `tokens` in `vocab`."""
  return convert_by_vocab(vocab, tokens)


def convert_ids_to_tokens(inv_vocab, ids):
  """Returns the tokens of `ids` in `inv_vocab` (id -> token)."""
  return convert_by_vocab(inv_vocab, ids)


def whitespace_tokenize(text):
  """Strips `text` and splits it on runs of whitespace."""
  return text.split()


def special_tokens_of_vocab(vocab):
  """Returns the tokens that must never be split: the five BERT specials plus the vocab's [unusedN] tokens.

  Args:
    vocab: mapping or iterable of tokens.

  Returns:
    frozenset of str.
  """
  return frozenset(SPECIAL_TOKENS).union(filter(_UNUSED_TOKEN_RE.match, vocab))


class FullTokenizer(object):
  """Text -> WordPiece tokens (basic tokenization, then WordPiece), and token <-> id conversion.

  Attributes:
    vocab: OrderedDict token -> id.
    inv_vocab: dict id -> token.
    basic_tokenizer: BasicTokenizer.
    wordpiece_tokenizer: WordpieceTokenizer.
  """

  def __init__(self, vocab_file, do_lower_case=True):
    """Loads `vocab_file`.

    Args:
      vocab_file: path of the vocabulary (one token per line).
      do_lower_case: lower-case and strip accents (True for uncased and Chinese models).

    Raises:
      UsageError: the vocabulary is missing, unreadable, or has no [UNK] token.
    """
    self.vocab = load_vocab(vocab_file)
    if UNK_TOKEN not in self.vocab:
      raise UsageError("vocab file %s has no %s token (%d tokens read); is it a BERT WordPiece vocabulary?" %
                       (vocab_file, UNK_TOKEN, len(self.vocab)))
    self.inv_vocab = {index: token for token, index in self.vocab.items()}
    self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case,
                                          never_split=special_tokens_of_vocab(self.vocab))
    self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab)

  def tokenize(self, text):
    """Returns the WordPiece tokens of `text` (str, or bytes decoded as UTF-8 with replacement)."""
    word_pieces = self.wordpiece_tokenizer.word_pieces
    tokens = []
    for word in self.basic_tokenizer.tokenize(text):
      tokens.extend(word_pieces(word))
    return tokens

  def convert_tokens_to_ids(self, tokens):
    """Returns the ids of `tokens` (KeyError for a token not in the vocabulary)."""
    return convert_by_vocab(self.vocab, tokens)

  def convert_ids_to_tokens(self, ids):
    """Returns the tokens of `ids` (KeyError for an id not in the vocabulary)."""
    return convert_by_vocab(self.inv_vocab, ids)


class BasicTokenizer(object):
  """Splits text into words: cleaning, CJK characters one per token, punctuation, optional lower-casing."""

  def __init__(self, do_lower_case=True, never_split=None):
    """Creates the tokenizer.

    Args:
      do_lower_case: lower-case the text and strip accents (NFD, then drop combining marks).
      never_split: tokens kept whole and unchanged when they occur literally in the text; defaults to
        SPECIAL_TOKENS. (FullTokenizer adds the vocabulary's [unusedN] tokens.)
    """
    self.do_lower_case = do_lower_case
    self.never_split = frozenset(SPECIAL_TOKENS if never_split is None else never_split)
    # Special tokens that are not of the bracketed form need a dedicated pattern (rare; built only then).
    unusual = sorted((t for t in self.never_split if not _BRACKETED_RE.fullmatch(t)), key=len, reverse=True)
    self._unusual_special_re = re.compile("|".join(map(re.escape, unusual))) if unusual else None

  def tokenize(self, text):
    """Returns the words of `text` (str, or bytes decoded as UTF-8 with replacement)."""
    text = convert_to_unicode(text)
    tokens = []
    start = 0
    for special_start, special_end in self._special_spans(text):
      if special_start > start:
        tokens.extend(self._tokenize_plain(text[start:special_start]))
      tokens.append(text[special_start:special_end])
      start = special_end
    if start == 0:
      return self._tokenize_plain(text)
    if start < len(text):
      tokens.extend(self._tokenize_plain(text[start:]))
    return tokens

  def _special_spans(self, text):
    """Returns the (start, end) spans of never-split tokens in `text`, left to right, not overlapping."""
    spans = []
    if "[" in text:
      spans = [m.span() for m in _BRACKETED_RE.finditer(text) if m.group() in self.never_split]
    if self._unusual_special_re is not None:
      spans.extend(m.span() for m in self._unusual_special_re.finditer(text))
      spans.sort()
      kept = []
      for span in spans:
        if not kept or span[0] >= kept[-1][1]:
          kept.append(span)
      spans = kept
    return spans

  def spaced_text(self, text):
    """The words of tokenize(text) as one str, separated by whitespace (their str.split()).

    Args:
      text: str.

    Returns:
      str, or None when `text` holds a never-split token (tokenize keeps those whole, unchanged).
    """
    return None if self._special_spans(text) else self._spaced_plain(text)

  def _tokenize_plain(self, text):
    """Google's basic tokenization of text that contains no special token."""
    return self._spaced_plain(text).split()

  def _spaced_plain(self, text):
    if not self.do_lower_case:
      return text.translate(_CLEAN_AND_SPLIT_MAP)
    # Lower-casing and NFD act on whole words (whitespace is a barrier to both), so applying them to the whole
    # line gives what Google's per-word loop gives. They must come before the punctuation split: the final-sigma
    # rule of lower() looks past punctuation, and NFD can produce punctuation (U+1FEF -> "`").
    text = text.translate(_CLEAN_MAP).lower()
    if not text.isascii():
      text = unicodedata.normalize("NFD", text)
    return text.translate(_STRIP_ACCENTS_AND_SPLIT_MAP)

  def _is_chinese_char(self, cp):
    """Kept from Google's class: whether code point `cp` is a CJK ideograph."""
    return is_cjk_codepoint(cp)


class WordpieceTokenizer(object):
  """Greedy longest-match-first WordPiece tokenization of words into vocabulary pieces."""

  # Memoised words per tokenizer; corpora are Zipfian, so a bounded cache catches most lookups.
  CACHE_LIMIT = 200000

  def __init__(self, vocab, unk_token=UNK_TOKEN, max_input_chars_per_word=200):
    """Creates the tokenizer.

    Args:
      vocab: mapping (or set) of the vocabulary's tokens.
      unk_token: token for a word that cannot be covered by pieces, or that is too long.
      max_input_chars_per_word: words longer than this become `unk_token`.
    """
    self.vocab = vocab
    self.unk_token = unk_token
    self.max_input_chars_per_word = max_input_chars_per_word
    # The longest piece bounds how far ahead each greedy match has to look.
    self._max_head_len = max((len(t) for t in vocab if not t.startswith("##")), default=0)
    self._max_tail_len = max((len(t) - 2 for t in vocab if t.startswith("##")), default=0)
    self._cache = {}
    self._cache_lock = threading.Lock()

  def tokenize(self, text):
    """Returns the WordPiece tokens of every whitespace-separated word in `text`.

    With a vocabulary holding "play" and "##ing", "playing" -> ["play", "##ing"].

    Args:
      text: a single word or whitespace-separated words, already passed through BasicTokenizer.

    Returns:
      list of str.
    """
    tokens = []
    for word in whitespace_tokenize(convert_to_unicode(text)):
      tokens.extend(self.word_pieces(word))
    return tokens

  def word_pieces(self, word):
    """Returns the pieces of one word (a tuple), [unk_token] if it cannot be covered or is too long."""
    pieces = self._cache.get(word)
    if pieces is None:
      pieces = self._split_word(word)
      with self._cache_lock:
        if len(self._cache) >= self.CACHE_LIMIT:
          self._cache.clear()
        self._cache[word] = pieces
    return pieces

  def _split_word(self, word):
    """Greedy longest-match-first split of `word` (uncached)."""
    length = len(word)
    if length > self.max_input_chars_per_word:
      return (self.unk_token,)
    if word in self.vocab:
      return (word,)
    vocab = self.vocab
    pieces = []
    start = 0
    while start < length:
      if start == 0:
        end = min(length, self._max_head_len)
        prefix = ""
      else:
        end = min(length, start + self._max_tail_len)
        prefix = "##"
      while end > start:
        piece = prefix + word[start:end]
        if piece in vocab:
          break
        end -= 1
      if end == start:
        return (self.unk_token,)
      pieces.append(piece)
      start = end
    return tuple(pieces)


def is_cjk_codepoint(cp):
  """Whether code point `cp` is in a CJK Unified/Compatibility Ideographs block (Google's definition).

  Hangul, Hiragana and Katakana are not included: those scripts separate words with spaces.
  """
  return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF) or
          (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF) or
          (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def _is_whitespace(char):
  """Whether `char` counts as whitespace: space, tab, newline, carriage return, or category Zs."""
  if char in " \t\n\r":
    return True
  return unicodedata.category(char) == "Zs"


def _is_control(char):
  """Whether `char` is a control/format character (Cc, Cf) that cleaning deletes; tab/newline/CR are not.

  Private-use (Co) and unassigned (Cn) characters are deliberately not control characters (Google keeps them).
  """
  if char in "\t\n\r":
    return False
  return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char):
  """Whether `char` is split off as its own token: any non-alphanumeric ASCII symbol, or category P*."""
  cp = ord(char)
  # Every ASCII symbol counts, including "$", "^" and "`", which Unicode files under symbols (S*), not P*.
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(char).startswith("P")


class _LazyCharMap(dict):
  """A `str.translate` table computed on demand: code point -> replacement (None deletes the character).

  Filled only with the characters actually seen, so building it costs nothing up front, and after warm-up
  translating a line is a single C-level pass.
  """

  # Beyond this many entries (only reachable with random input) results are no longer stored.
  _LIMIT = 400000

  def __init__(self, rule):
    super(_LazyCharMap, self).__init__()
    self._rule = rule

  def __missing__(self, codepoint):
    replacement = self._rule(chr(codepoint))
    if len(self) < self._LIMIT:
      self[codepoint] = replacement
    return replacement


def _clean_rule(char, isolate_punctuation):
  """Cleaning of one character: deleted (None), a space, the character between spaces, or itself."""
  cp = ord(char)
  if cp == 0 or cp == 0xFFFD or _is_control(char):
    return None
  if _is_whitespace(char):
    return " "
  if is_cjk_codepoint(cp) or (isolate_punctuation and _is_punctuation(char)):
    return " %s " % char
  return char


def _accent_and_punctuation_rule(char):
  """After NFD: combining marks (Mn) are deleted, punctuation is put between spaces."""
  if unicodedata.category(char) == "Mn":
    return None
  if _is_punctuation(char):
    return " %s " % char
  return char


# Cased text is handled in one pass; lower-cased text needs the punctuation split after lower-casing and NFD.
_CLEAN_AND_SPLIT_MAP = _LazyCharMap(lambda char: _clean_rule(char, isolate_punctuation=True))
_CLEAN_MAP = _LazyCharMap(lambda char: _clean_rule(char, isolate_punctuation=False))
_STRIP_ACCENTS_AND_SPLIT_MAP = _LazyCharMap(_accent_and_punctuation_rule)
