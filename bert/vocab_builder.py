"""Trains a BERT WordPiece vocabulary (vocab.txt) with the `tokenizers` library.

The pre-tokenisation mirrors `tokenization.BasicTokenizer`: control characters are removed, every CJK character
becomes its own word, text is split on whitespace and punctuation, and (optionally) lower-cased with accents
stripped. Training on exactly what FullTokenizer will see is what guarantees that every character of the
training text has an entry (and a `##` continuation entry where it occurs inside a word), so tokenizing the
training text never yields [UNK].

The vocabulary starts with BERT's special tokens in a fixed order, then optional `[unusedN]` slots that can be
repurposed later without resizing the embedding table, then any extra reserved tokens (e.g. `<S>`, `<T>` as in
Google's Chinese vocabulary), then the learned WordPieces.
"""
import os

from tokenizers import Tokenizer
from tokenizers import models
from tokenizers import normalizers
from tokenizers import pre_tokenizers
from tokenizers import trainers

import tokenization
from bert import file_io
from bert import file_patterns
from bert.errors import UsageError

SPECIAL_TOKENS = tokenization.SPECIAL_TOKENS
# Size of Google's chinese_L-12_H-768_A-12 vocabulary, so configs/ presets fit without edits.
DEFAULT_VOCAB_SIZE = 21128


def reserved_tokens(num_unused_tokens=0, extra_tokens=()):
  """Returns the tokens that take the first ids, in order.

  Args:
    num_unused_tokens: how many `[unusedN]` placeholders (N = 0 .. num_unused_tokens-1) to reserve.
    extra_tokens: further reserved tokens, e.g. ("<S>", "<T>").

  Returns:
    A list of strings: SPECIAL_TOKENS, then the unused slots, then extra_tokens.

  Raises:
    UsageError: a token is empty, contains whitespace (a vocab.txt line cannot hold it) or is repeated.
  """
  tokens = list(SPECIAL_TOKENS)
  tokens.extend("[unused%d]" % i for i in range(num_unused_tokens))
  tokens.extend(extra_tokens)
  seen = set()
  for token in tokens:
    if not token or any(ch.isspace() for ch in token):
      raise UsageError("reserved token %r is empty or contains whitespace; vocab.txt holds one token per line"
                       % token)
    if token in seen:
      raise UsageError("reserved token %r is listed twice" % token)
    seen.add(token)
  return tokens


def expand_input_files(patterns):
  """Google's --input_file syntax (comma list and globs) expanded to files; see bert.file_patterns."""
  return file_patterns.expand_file_patterns(patterns, "--input_file")

def bert_normalizer(do_lower_case=True, strip_accents=None):
  """Returns the normaliser matching tokenization.BasicTokenizer.

  Args:
    do_lower_case: lower-case the text.
    strip_accents: remove combining accents after NFD; None follows do_lower_case (Google's behaviour).

  Returns:
    A tokenizers normaliser.
  """
  if strip_accents is None:
    strip_accents = do_lower_case
  return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents,
                                    lowercase=do_lower_case)


def new_wordpiece_tokenizer(do_lower_case=True, strip_accents=None):
  """Returns an untrained WordPiece tokenizer with BERT's Chinese-aware normalisation and pre-tokenisation."""
  tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##",
                                         max_input_chars_per_word=100))
  tokenizer.normalizer = bert_normalizer(do_lower_case, strip_accents)
  # Splits on whitespace and on punctuation with the same definition of punctuation as BasicTokenizer.
  tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
  return tokenizer


def train_vocab(input_files, vocab_size=DEFAULT_VOCAB_SIZE, do_lower_case=True, strip_accents=None,
                num_unused_tokens=0, extra_tokens=(), min_frequency=2, limit_alphabet=None,
                show_progress=False):
  """Trains a WordPiece vocabulary.

  Args:
    input_files: list of UTF-8 text files (one sentence or document per line; blank lines are ignored).
    vocab_size: target size including the reserved tokens. A small corpus may yield fewer tokens: the
      trainer stops when no pair is left to merge.
    do_lower_case: lower-case the text (must match the --do_lower_case later given to the BERT scripts).
    strip_accents: strip accents; None follows do_lower_case.
    num_unused_tokens: `[unusedN]` slots after the special tokens.
    extra_tokens: further reserved tokens after the unused slots.
    min_frequency: a merged WordPiece must occur this often. Single characters are always kept.
    limit_alphabet: keep only this many most frequent characters (None: all; then no character of the
      training text maps to [UNK]).
    show_progress: show the trainer's progress bar.

  Returns:
    The vocabulary as a list of tokens ordered by id.

  Raises:
    UsageError: bad sizes, unreadable input, or input without any text.
  """
  reserved = reserved_tokens(num_unused_tokens, extra_tokens)
  if vocab_size <= len(reserved):
    raise UsageError("--vocab_size=%d leaves no room after the %d reserved tokens" % (vocab_size, len(reserved)))
  for path in input_files:
    if not os.path.isfile(path):
      raise UsageError("--input_file: %s is not a file" % path)
  tokenizer = new_wordpiece_tokenizer(do_lower_case, strip_accents)
  trainer_kwargs = dict(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=reserved,
                        continuing_subword_prefix="##", show_progress=show_progress)
  if limit_alphabet is not None:
    trainer_kwargs["limit_alphabet"] = limit_alphabet
  trainer = trainers.WordPieceTrainer(**trainer_kwargs)
  try:
    tokenizer.train(list(input_files), trainer)
  except Exception as e:  # The Rust side reports bad encodings etc. as plain exceptions.
    raise UsageError("--input_file: cannot train on %s: %s" % (",".join(input_files), e)) from e
  vocab = tokenizer.get_vocab()
  tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
  if len(tokens) <= len(reserved):
    raise UsageError("--input_file: %s contains no text to learn from" % ",".join(input_files))
  if tokens[:len(reserved)] != reserved:
    raise AssertionError("tokenizers did not put the reserved tokens first: %r" % tokens[:len(reserved)])
  return tokens


def write_vocab(tokens, output_file):
  """Writes one token per line (the vocab.txt format of tokenization.load_vocab), atomically.

  Args:
    tokens: tokens ordered by id.
    output_file: destination path; its directory is created if needed.
  """
  file_io.make_parent_dirs(output_file, "--output_file")
  file_io.write_text_atomically(output_file, "".join(token + "\n" for token in tokens))
