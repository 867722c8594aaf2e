"""Reading SQuAD-format data (SQuAD 1.1/2.0, CMRC 2018, DRCD) and turning it into BERT input features.

Differences from Google's run_squad reader, and why:

* Google splits the context on whitespace and maps answers to those "words". A Chinese paragraph has no
  spaces, so it becomes one word and no answer can be located. Here every WordPiece token of the context
  carries the character offsets [start, end) of the text it came from. The context is cut into small units
  (each CJK character, each punctuation character, each run of other non-space characters), every unit is
  WordPiece-tokenised with the project's `FullTokenizer` and the pieces are aligned back to the unit's
  characters (comparing lower-cased, accent-stripped text, so "Zürich" -> "zurich" still maps exactly). Answer
  spans therefore map to tokens exactly, and predicted token spans map back to the exact original text.
* An `answer_start` that does not point at the answer text (CMRC 2018 dev has 200 such answers, most with
  answer_start = -1) is repaired: the occurrence of the answer text nearest to the given offset is used. An
  answer whose text is not in the context is unrecoverable: counted, and for training the question uses its
  next answer or is skipped (counted too).
* Context tokenisation is memoised per unit and done once per paragraph, not once per question.

This module does not import TensorFlow; the TFRecord side lives in `bert.squad.model`.
"""

import bisect
import dataclasses
import json
import logging
import typing
import unicodedata

import numpy as np

import tokenization
from bert.errors import UsageError

UNIQUE_ID_START = 1000000000


@dataclasses.dataclass
class SquadExample:
  """One question with its context.

  `start_char`/`end_char` ([start, end) offsets in `context`) locate the answer used for training (the first
  answer whose text could be found); both are None when the question is impossible or no answer was found.
  """
  qas_id: str
  question_text: str
  context: str
  doc_key: int
  answers: typing.List[str] = dataclasses.field(default_factory=list)
  orig_answer_text: typing.Optional[str] = None
  start_char: typing.Optional[int] = None
  end_char: typing.Optional[int] = None
  is_impossible: bool = False

  @property
  def has_answer_span(self):
    return self.start_char is not None


@dataclasses.dataclass
class ReadStats:
  """What the reader found and fixed."""
  questions: int = 0
  impossible: int = 0
  impossible_ignored: int = 0  # marked is_impossible, read as answerable (no --version_2_with_negative)
  answers: int = 0
  answers_repaired: int = 0
  answers_unrecoverable: int = 0
  questions_skipped: int = 0

  def summary(self):
    text = ("%d questions (%d impossible), %d answers: %d answer_start repaired, %d not found in the context; "
            "%d questions skipped for training" % (self.questions, self.impossible, self.answers,
                                                   self.answers_repaired, self.answers_unrecoverable,
                                                   self.questions_skipped))
    if self.impossible_ignored:
      text += ("; %d questions are marked is_impossible but read as answerable: SQuAD 2.0 data needs "
               "--version_2_with_negative" % self.impossible_ignored)
    return text


# ---------------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------------


def load_squad_json(input_file):
  """Loads a SQuAD-format JSON file (UTF-8, BOM allowed); a missing, unreadable, non-UTF-8 or non-JSON file is a
  one-line UsageError."""
  try:
    with open(input_file, "rb") as handle:
      data = handle.read()
  except FileNotFoundError:
    raise UsageError("SQuAD file not found: %s" % input_file) from None
  except OSError as error:
    raise UsageError("%s: cannot be read (%s)" % (input_file, error.strerror or error)) from None
  bom = len(b"\xef\xbb\xbf") if data.startswith(b"\xef\xbb\xbf") else 0
  try:
    text = data[bom:].decode("utf-8")
  except UnicodeDecodeError as error:
    raise UsageError("%s is not valid UTF-8 (byte 0x%02x at offset %d)"
                     % (input_file, error.object[error.start], bom + error.start)) from None
  try:
    return json.loads(text)
  except json.JSONDecodeError as error:
    raise UsageError("%s is not valid JSON (line %d: %s)" % (input_file, error.lineno, error.msg)) from None


def read_squad_examples(input_file, is_training, version_2_with_negative=False, verbose=False):
  """Reads a SQuAD-format file into `SquadExample`s.

  Args:
    input_file: path of the JSON file.
    is_training: training mode: every answerable question needs an answer; questions whose answers cannot be
      found in the context are skipped (and counted).
    version_2_with_negative: SQuAD 2.0 semantics (questions may be `is_impossible`).
    verbose: log every repaired or unrecoverable answer (the counts are always in `stats`).

  Returns:
    (examples, stats): list of SquadExample, ReadStats.

  Raises:
    UsageError: the file is not SQuAD format (naming the missing key), a question id occurs twice (predictions
      and scores are keyed by id, so a repeated id would silently lose questions), or a training question has
      no answer.
  """
  return examples_from_json(load_squad_json(input_file), is_training, version_2_with_negative, input_file,
                            verbose)


def examples_from_json(dataset, is_training, version_2_with_negative=False, source="input", verbose=False):
  """Like `read_squad_examples`, for an already parsed JSON object (`source` names it in errors)."""
  stats = ReadStats()
  examples = []
  doc_key = 0
  first_seen = {}  # question id -> where it first occurs
  for a, article in enumerate(_require(dataset, "data", source, "the top level")):
    for p, paragraph in enumerate(_require(article, "paragraphs", source, "data[%d]" % a)):
      where = "data[%d].paragraphs[%d]" % (a, p)
      context = _require(paragraph, "context", source, where)
      if not isinstance(context, str):
        raise UsageError("%s: %s.context is not a string" % (source, where))
      for q, qa in enumerate(_require(paragraph, "qas", source, where)):
        qid = str(_require(qa, "id", source, "%s.qas[%d]" % (where, q)))
        if qid in first_seen:
          raise UsageError("%s: duplicate question id %r (%s.qas[%d], first at %s); question ids must be unique, "
                           "since predictions and scores are keyed by id" % (source, qid, where, q, first_seen[qid]))
        first_seen[qid] = "%s.qas[%d]" % (where, q)
        question = _require(qa, "question", source, "question %s" % qid)
        example = _read_question(qa, qid, question, context, doc_key, is_training, version_2_with_negative,
                                 source, stats, verbose)
        if example is not None:
          examples.append(example)
      doc_key += 1
  return examples, stats


def _read_question(qa, qid, question, context, doc_key, is_training, version_2, source, stats, verbose):
  """Builds the SquadExample of one question (None when it is skipped for training)."""
  stats.questions += 1
  is_impossible = bool(qa.get("is_impossible", False)) if version_2 else False
  if is_impossible:
    stats.impossible += 1
  elif qa.get("is_impossible") and not version_2:
    stats.impossible_ignored += 1
  answers = qa.get("answers")
  if answers is None and is_training and not is_impossible:
    raise UsageError("%s is not SQuAD format: question %s has no 'answers' key" % (source, qid))
  answers = answers or []
  if is_training and not is_impossible and not answers:
    hint = "" if version_2 else " (SQuAD 2.0 data with unanswerable questions needs --version_2_with_negative)"
    raise UsageError("%s: training question %s has no answers%s" % (source, qid, hint))
  example = SquadExample(qas_id=qid, question_text=question, context=context, doc_key=doc_key,
                         is_impossible=is_impossible)
  for i, answer in enumerate(answers):
    text = _require(answer, "text", source, "question %s answers[%d]" % (qid, i))
    if not isinstance(text, str):
      raise UsageError("%s: question %s answers[%d].text is not a string: %r" % (source, qid, i, text))
    example.answers.append(text)
    if is_impossible:
      continue
    stats.answers += 1
    span, repaired = locate_answer(context, text, answer.get("answer_start"))
    if repaired:
      stats.answers_repaired += 1
      if verbose:
        logging.info("Question %s: answer %r is not at answer_start %r; using offset %d", qid, text,
                     answer.get("answer_start"), span[0])
    if span is None:
      stats.answers_unrecoverable += 1
      if verbose:
        logging.info("Question %s: answer %r does not occur in the context", qid, text)
    elif example.start_char is None:
      example.start_char, example.end_char = span
      example.orig_answer_text = context[span[0]:span[1]]
  if is_impossible:
    example.orig_answer_text = ""
  elif is_training and example.start_char is None:
    stats.questions_skipped += 1
    if verbose:
      logging.info("Skipping training question %s: no answer text found in its context", qid)
    return None
  return example


def _require(obj, key, source, where):
  if not isinstance(obj, dict) or key not in obj:
    raise UsageError("%s is not SQuAD format: %s has no %r key" % (source, where, key))
  return obj[key]


def locate_answer(context, text, answer_start):
  """Finds the answer text in the context, near `answer_start`.

  Args:
    context: paragraph text.
    text: answer text.
    answer_start: the character offset given by the data (may be wrong, -1 or None).

  Returns:
    ((start, end) or None, repaired): the [start, end) span of the answer in the context, None when the text
    does not occur; `repaired` is True when the given offset was wrong and a (found) occurrence replaced it.
  """
  if not text or not text.strip():
    return None, False
  if isinstance(answer_start, int) and answer_start >= 0 and context[answer_start:answer_start + len(text)] == text:
    return (answer_start, answer_start + len(text)), False
  needle = text
  occurrences = _occurrences(context, needle)
  if not occurrences:
    # Annotators sometimes copied surrounding whitespace; the stripped text is still the answer.
    needle = text.strip()
    occurrences = _occurrences(context, needle)
  if not occurrences:
    return None, False
  target = answer_start if isinstance(answer_start, int) and answer_start >= 0 else 0
  start = min(occurrences, key=lambda position: (abs(position - target), position))
  return (start, start + len(needle)), True


def _occurrences(context, needle):
  positions = []
  position = context.find(needle)
  while position != -1:
    positions.append(position)
    position = context.find(needle, position + 1)
  return positions


# ---------------------------------------------------------------------------------------------------------------
# Context tokenisation with character offsets
# ---------------------------------------------------------------------------------------------------------------


def is_cjk_character(cp):
  """CJK Unified Ideographs (and extensions / compatibility blocks), the characters BERT splits one by one."""
  return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF) or
          (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF) or
          (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def _is_whitespace(ch):
  """Whitespace ends a word for BERT's basic tokenizer."""
  return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_deleted(ch):
  """Characters BERT's basic tokenizer deletes (NUL, U+FFFD, control and format characters): they do not end a
  word ("Wiki<soft hyphen>pedia" is one word)."""
  return ord(ch) in (0, 0xFFFD) or (ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf"))


def _is_punctuation(ch):
  """BERT's punctuation test: all ASCII non-alphanumerics and every Unicode P* character."""
  cp = ord(ch)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(ch).startswith("P")


_SEPARATOR, _DELETED, _ALONE, _RUN = 0, 1, 2, 3
_char_class_cache = {}


def _char_class(ch):
  """Unit class of a character (memoised: contexts reuse a few thousand distinct characters)."""
  kind = _char_class_cache.get(ch)
  if kind is None:
    if _is_whitespace(ch):
      kind = _SEPARATOR
    elif _is_deleted(ch):
      kind = _DELETED
    elif is_cjk_character(ord(ch)) or _is_punctuation(ch):
      kind = _ALONE
    else:
      kind = _RUN
    _char_class_cache[ch] = kind
  return kind


def split_context_units(context):
  """Cuts text into the words BERT's basic tokenizer sees: CJK characters and punctuation alone, other runs of
  non-space characters together, each with its character span.

  Deleted characters (control/format) inside a run stay in it, as they do not end a word for the tokenizer;
  outside a run, or at its end, they belong to no unit.

  Args:
    context: paragraph text.

  Returns:
    List of (start, end) character spans.
  """
  units = []
  run_start = run_end = None
  for i, ch in enumerate(context):
    kind = _char_class(ch)
    if kind == _RUN:
      if run_start is None:
        run_start = i
      run_end = i + 1
      continue
    if kind == _DELETED:
      continue
    if run_start is not None:
      units.append((run_start, run_end))
      run_start = None
    if kind == _ALONE:
      units.append((i, i + 1))
  if run_start is not None:
    units.append((run_start, run_end))
  return units


def _normalize_for_alignment(text):
  """Lower-case and strip accents, the way BERT's uncased basic tokenizer does (also used for cased vocabs,
  where it only makes the comparison more lenient); deleted characters vanish."""
  text = "".join(ch for ch in text if not _is_deleted(ch))
  decomposed = unicodedata.normalize("NFD", text.lower())
  return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


@dataclasses.dataclass
class DocTokens:
  """WordPiece tokens of a context with the [start, end) character span each one covers."""
  tokens: typing.List[str]
  starts: typing.List[int]
  ends: typing.List[int]

  def answer_token_span(self, start_char, end_char):
    """Token indexes (first, last) covering the characters [start_char, end_char), or None."""
    first = bisect.bisect_right(self.ends, start_char)
    last = bisect.bisect_left(self.starts, end_char) - 1
    if first >= len(self.tokens) or last < first:
      return None
    return first, last


class ContextTokenizer:
  """Tokenises contexts with a FullTokenizer and keeps each token's character span (memoised per unit)."""

  def __init__(self, tokenizer):
    self.tokenizer = tokenizer
    wordpiece = getattr(tokenizer, "wordpiece_tokenizer", None)
    self.unk_token = getattr(wordpiece, "unk_token", tokenization.UNK_TOKEN)
    self._unit_cache = {}
    self._doc_cache = {}

  def tokenize_unit(self, unit):
    """WordPiece pieces of one unit with their [start, end) offsets relative to the unit."""
    cached = self._unit_cache.get(unit)
    if cached is None:
      cached = self._align(unit, self.tokenizer.tokenize(unit))
      self._unit_cache[unit] = cached
    return cached

  def _align(self, unit, pieces):
    """Maps each piece to the characters of `unit` it spells; falls back to the whole unit when it cannot."""
    whole = [(piece, 0, len(unit)) for piece in pieces]
    if len(pieces) == 1:
      return whole
    stream = []  # (normalised char, index of the original char)
    for index, ch in enumerate(unit):
      for normalized_char in _normalize_for_alignment(ch):
        stream.append((normalized_char, index))
    position = 0
    aligned = []
    for piece in pieces:
      if piece == self.unk_token:
        return whole
      text = piece[2:] if piece.startswith("##") and len(piece) > 2 else piece
      text = _normalize_for_alignment(text)
      end = position + len(text)
      if not text or end > len(stream) or "".join(c for c, _ in stream[position:end]) != text:
        return whole
      aligned.append((piece, stream[position][1], stream[end - 1][1] + 1))
      position = end
    return aligned

  def tokenize_context(self, context, doc_key=None):
    """Returns the DocTokens of a context (cached by `doc_key` when given)."""
    if doc_key is not None and doc_key in self._doc_cache:
      cached_context, cached = self._doc_cache[doc_key]
      if cached_context is context or cached_context == context:
        return cached
    tokens, starts, ends = [], [], []
    for unit_start, unit_end in split_context_units(context):
      for piece, start, end in self.tokenize_unit(context[unit_start:unit_end]):
        tokens.append(piece)
        starts.append(unit_start + start)
        ends.append(unit_start + end)
    doc = DocTokens(tokens, starts, ends)
    if doc_key is not None:
      self._doc_cache = {doc_key: (context, doc)}  # examples come grouped by paragraph: one entry suffices
    return doc


# ---------------------------------------------------------------------------------------------------------------
# Features (doc-stride windows)
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class InputFeatures:
  """One window of one example, ready for the model.

  Tokens are [CLS] question [SEP] context-window [SEP]; the context window starts at `doc_offset`.
  `char_starts`/`char_ends`/`token_is_max_context` describe the window's context tokens (index 0 is the token at
  `doc_offset`). `start_position`/`end_position` are the answer's token positions when it lies fully inside the
  window, else 0 (the [CLS] token, which is also the label of impossible questions).
  """
  unique_id: int
  example_index: int
  doc_span_index: int
  tokens: typing.List[str]
  input_ids: typing.List[int]
  input_mask: typing.List[int]
  segment_ids: typing.List[int]
  doc_offset: int
  char_starts: typing.List[int]
  char_ends: typing.List[int]
  token_is_max_context: typing.List[bool]
  start_position: int = 0
  end_position: int = 0
  is_impossible: bool = False
  answer_in_window: bool = False


def check_sequence_lengths(max_seq_length, max_query_length):
  """Raises UsageError unless the question, 3 special tokens and at least one context token fit."""
  if max_seq_length <= max_query_length + 3:
    raise UsageError("--max_seq_length (%d) must be greater than --max_query_length + 3 (%d): no room is left "
                     "for the context" % (max_seq_length, max_query_length + 3))


def doc_spans(num_doc_tokens, max_tokens_for_doc, doc_stride):
  """Sliding windows (start, length) over the context tokens, `doc_stride` apart, the last one ending at the end."""
  spans = []
  start = 0
  while start < num_doc_tokens:
    length = min(num_doc_tokens - start, max_tokens_for_doc)
    spans.append((start, length))
    if start + length == num_doc_tokens:
      break
    start += min(length, doc_stride)
  return spans


def best_window_per_token(spans, num_doc_tokens):
  """For each context token, the index of the window where it has the most context.

  A token's context in a window is min(tokens to its left, tokens to its right) + 0.01 * window length (ties go
  to longer windows, then to the earlier window), as in Google's reader. Prediction only trusts answer starts at
  tokens of their best window, so each answer is scored once and with the most context.

  Args:
    spans: list of (start, length) windows.
    num_doc_tokens: number of context tokens.

  Returns:
    numpy int array of length num_doc_tokens.
  """
  if not spans:
    return np.zeros(num_doc_tokens, dtype=np.int64)
  positions = np.arange(num_doc_tokens)
  scores = np.full((len(spans), num_doc_tokens), -np.inf)
  for index, (start, length) in enumerate(spans):
    inside = positions[start:start + length]
    scores[index, start:start + length] = (np.minimum(inside - start, start + length - 1 - inside) +
                                           0.01 * length)
  return np.argmax(scores, axis=0)


def convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, max_query_length, is_training,
                                 output_fn=None, context_tokenizer=None):
  """Turns examples into doc-stride windows (`InputFeatures`).

  Args:
    examples: list of SquadExample.
    tokenizer: tokenization.FullTokenizer.
    max_seq_length: total tokens per feature.
    doc_stride: distance between the starts of consecutive context windows.
    max_query_length: the question is cut to this many tokens.
    is_training: only training-mode examples need an answer span (they were filtered by the reader).
    output_fn: called with each feature instead of collecting them (for large training sets).
    context_tokenizer: optional ContextTokenizer to reuse its caches.

  Returns:
    The list of features, or the number of features when `output_fn` is given.

  Raises:
    UsageError: bad lengths (see `check_sequence_lengths`).
  """
  check_sequence_lengths(max_seq_length, max_query_length)
  if doc_stride < 1:
    raise UsageError("--doc_stride must be positive, got %d" % doc_stride)
  context_tokenizer = context_tokenizer or ContextTokenizer(tokenizer)
  features = []
  count = 0
  unique_id = UNIQUE_ID_START
  for example_index, example in enumerate(examples):
    query_tokens = tokenizer.tokenize(example.question_text)[:max_query_length]
    doc = context_tokenizer.tokenize_context(example.context, example.doc_key)
    answer_span = None
    if example.has_answer_span and not example.is_impossible:
      answer_span = doc.answer_token_span(example.start_char, example.end_char)
    elif is_training and not example.is_impossible:
      continue
    max_tokens_for_doc = max_seq_length - len(query_tokens) - 3
    spans = doc_spans(len(doc.tokens), max_tokens_for_doc, doc_stride)
    best_window = best_window_per_token(spans, len(doc.tokens))
    for span_index, (span_start, span_length) in enumerate(spans):
      feature = _build_feature(unique_id, example_index, span_index, query_tokens, doc, spans, best_window,
                               tokenizer, max_seq_length)
      feature.is_impossible = example.is_impossible
      if answer_span is not None:
        first, last = answer_span
        if span_start <= first and last < span_start + span_length:
          feature.start_position = feature.doc_offset + first - span_start
          feature.end_position = feature.doc_offset + last - span_start
          feature.answer_in_window = True
      unique_id += 1
      count += 1
      if output_fn is not None:
        output_fn(feature)
      else:
        features.append(feature)
  return count if output_fn is not None else features


def _build_feature(unique_id, example_index, span_index, query_tokens, doc, spans, best_window, tokenizer,
                   max_seq_length):
  span_start, span_length = spans[span_index]
  tokens = [tokenization.CLS_TOKEN] + list(query_tokens) + [tokenization.SEP_TOKEN]
  doc_offset = len(tokens)
  tokens.extend(doc.tokens[span_start:span_start + span_length])
  tokens.append(tokenization.SEP_TOKEN)
  segment_ids = [0] * doc_offset + [1] * (span_length + 1)
  input_ids = tokenizer.convert_tokens_to_ids(tokens)
  input_mask = [1] * len(input_ids)
  padding = max_seq_length - len(input_ids)
  input_ids = list(input_ids) + [0] * padding
  input_mask += [0] * padding
  segment_ids += [0] * padding
  return InputFeatures(
      unique_id=unique_id, example_index=example_index, doc_span_index=span_index, tokens=tokens,
      input_ids=input_ids, input_mask=input_mask, segment_ids=segment_ids, doc_offset=doc_offset,
      char_starts=doc.starts[span_start:span_start + span_length],
      char_ends=doc.ends[span_start:span_start + span_length],
      token_is_max_context=(best_window[span_start:span_start + span_length] == span_index).tolist())

