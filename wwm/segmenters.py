"""Chinese word segmenters behind one tiny interface.

A segmenter turns a run of CJK characters into words: `word_lengths(text)` returns the length of each word, in
order, summing to len(text). Adding a segmenter means one small subclass and one entry in SEGMENTERS.

The default is jieba's precise mode with its HMM for unknown words (`jieba.Tokenizer.cut(text, HMM=True)`):
it finds names and new words the dictionary lacks, at about 80% of the no-HMM speed (measured here: about
690 vs 830 KB/s of Chinese text), and it is what the HFL whole-word-masking models used (through LTP/jieba).

Fast path. With `rjieba` (jieba-rs) installed and jieba's own dictionary (no --user_dict), a run takes its
dictionary route from rjieba (jieba's DAG and maximum-probability route, in Rust) and sends the stretches of
single characters that jieba hands to its HMM through jieba's own HMM (`jieba.finalseg`, cached per stretch).
rjieba's own HMM is not used: it splits some stretches differently (常在宅旁 -> 常在/宅/旁 where jieba says
常/在/宅/旁). Two more kinds of run stay with jieba, because there the two can break an exact tie between equal
routes differently: runs with a directly repeated character or pair (美美美: 美美/美 or 美/美美) and runs with an
ideograph outside U+4E00-U+9FD5, the range jieba's regular expressions treat as Chinese. With these rules the
words are jieba 0.42.1's on every Chinese run of ../shared/data (`benchmarks/bench_pretraining_data.py
--verify_segmenter`: 0 differences in about a million distinct runs).
"""
import functools
import importlib.util
import logging
import os
import re

from bert.errors import UsageError


class Segmenter(object):
  """Interface: split a run of CJK characters into words."""

  name = "base"

  def word_lengths(self, text):
    """Returns the lengths of the words of `text` in order (their sum must be len(text))."""
    raise NotImplementedError


class CharSegmenter(Segmenter):
  """Every character is a word (the fallback, and a baseline without segmentation)."""

  name = "char"
  implementation = "char"

  def word_lengths(self, text):
    return [1] * len(text)


class JiebaSegmenter(Segmenter):
  """jieba precise mode, with a private jieba.Tokenizer (so a user dictionary never leaks into other code)."""

  name = "jieba"

  def __init__(self, user_dict=None, hmm=True):
    """Loads jieba's dictionary (about 1 s; do it once per process, before forking workers).

    Args:
      user_dict: optional path of a jieba user dictionary ("word [freq] [tag]" per line).
      hmm: use jieba's HMM to find words missing from the dictionary.

    Raises:
      UsageError: the user dictionary is missing or unreadable.
    """
    import jieba  # pylint: disable=g-import-not-at-top
    jieba.setLogLevel(logging.WARNING)
    self._hmm = hmm
    self._tokenizer = jieba.Tokenizer()
    self._tokenizer.initialize()
    if user_dict:
      if not os.path.isfile(user_dict):
        raise UsageError("--user_dict %s: file not found" % user_dict)
      try:
        self._tokenizer.load_userdict(user_dict)
      except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UsageError("--user_dict %s: cannot be read as a jieba user dictionary (%s)" % (user_dict, e))

  implementation = "jieba"

  def word_lengths(self, text):
    return [len(word) for word in self._tokenizer.cut(text, HMM=self._hmm)]


# Runs the fast path may take: only jieba's Chinese range, and no character or pair repeated back to back.
_JIEBA_HAN_RUN = re.compile(r"[\u4e00-\u9fd5]+\Z")
_DIRECT_REPEAT = re.compile(r"(..?)\1")
# Distinct single-character stretches whose HMM words are kept (a few MB; common stretches recur constantly).
HMM_CACHE_SIZE = 1 << 18


class FastJiebaSegmenter(JiebaSegmenter):
  """jieba's words, with the dictionary route computed by rjieba where that is shown to be equal (see above)."""

  def __init__(self, hmm=True):
    """Loads jieba's dictionary (for the HMM stretches and the runs left to jieba) and rjieba's copy of it."""
    super(FastJiebaSegmenter, self).__init__(user_dict=None, hmm=hmm)
    import rjieba  # pylint: disable=g-import-not-at-top
    from jieba import finalseg  # pylint: disable=g-import-not-at-top
    self._route = rjieba.Jieba().cut
    frequencies = self._tokenizer.FREQ

    @functools.lru_cache(maxsize=HMM_CACHE_SIZE)
    def stretch_lengths(stretch):
      # jieba's __cut_DAG: a stretch that is itself a dictionary word stays single characters.
      if frequencies.get(stretch):
        return (1,) * len(stretch)
      return tuple(len(word) for word in finalseg.cut(stretch))

    self._stretch_lengths = stretch_lengths
    self.implementation = "rjieba+jieba-hmm" if hmm else "rjieba"

  def word_lengths(self, text):
    if not takes_fast_path(text):
      return super(FastJiebaSegmenter, self).word_lengths(text)
    route = self._route(text, hmm=False)
    if not self._hmm:
      return [len(word) for word in route]
    lengths = []
    position = stretch_start = 0
    for word in route:
      if len(word) > 1:
        self._flush_stretch(text, stretch_start, position, lengths)
        lengths.append(len(word))
        stretch_start = position + len(word)
      position += len(word)
    self._flush_stretch(text, stretch_start, position, lengths)
    return lengths

  def _flush_stretch(self, text, start, end, lengths):
    """Appends the words of the single characters text[start:end] (jieba's HMM buffer)."""
    if end - start == 1:
      lengths.append(1)
    elif end > start:
      lengths.extend(self._stretch_lengths(text[start:end]))


def takes_fast_path(text):
  """Whether FastJiebaSegmenter segments `text` through rjieba (else through jieba alone)."""
  return bool(_JIEBA_HAN_RUN.match(text)) and not _DIRECT_REPEAT.search(text)


def rjieba_available():
  return importlib.util.find_spec("rjieba") is not None


SEGMENTERS = {"jieba": JiebaSegmenter, "char": CharSegmenter}


def create_segmenter(name, user_dict=None, hmm=True, fast=True):
  """Returns the segmenter called `name` ("jieba" or "char"); `hmm` is jieba's HMM for unknown words.

  `fast`: for jieba without a user dictionary, use the rjieba fast path when rjieba is installed (same words).
  The segmenter's `implementation` says which code segments.

  Raises:
    UsageError: unknown name, or a user dictionary given to a segmenter that has none.
  """
  if name not in SEGMENTERS:
    raise UsageError("--segmenter=%s is unknown; choose one of: %s" % (name, ", ".join(sorted(SEGMENTERS))))
  if name == "jieba":
    if fast and not user_dict and rjieba_available():
      return FastJiebaSegmenter(hmm=hmm)
    return JiebaSegmenter(user_dict=user_dict, hmm=hmm)
  if user_dict:
    raise UsageError("--user_dict is only used by --segmenter=jieba, not --segmenter=%s" % name)
  return SEGMENTERS[name]()
