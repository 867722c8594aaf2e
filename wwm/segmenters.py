"""Chinese word segmenters behind one tiny interface.

A segmenter turns a run of CJK characters into words: `word_lengths(text)` returns the length of each word, in
order, summing to len(text). Adding a segmenter means one small subclass and one entry in SEGMENTERS.

The default is jieba's precise mode with its HMM for unknown words (`jieba.Tokenizer.cut(text, HMM=True)`):
it finds names and new words the dictionary lacks, at about 80% of the no-HMM speed (measured here: about
690 vs 830 KB/s of Chinese text), and it is what the HFL whole-word-masking models used (through LTP/jieba).
"""
import logging
import os

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

  def word_lengths(self, text):
    return [len(word) for word in self._tokenizer.cut(text, HMM=self._hmm)]


SEGMENTERS = {"jieba": JiebaSegmenter, "char": CharSegmenter}


def create_segmenter(name, user_dict=None, hmm=True):
  """Returns the segmenter called `name` ("jieba" or "char"); `hmm` is jieba's HMM for unknown words.

  Raises:
    UsageError: unknown name, or a user dictionary given to a segmenter that has none.
  """
  if name not in SEGMENTERS:
    raise UsageError("--segmenter=%s is unknown; choose one of: %s" % (name, ", ".join(sorted(SEGMENTERS))))
  if name == "jieba":
    return JiebaSegmenter(user_dict=user_dict, hmm=hmm)
  if user_dict:
    raise UsageError("--user_dict is only used by --segmenter=jieba, not --segmenter=%s" % name)
  return SEGMENTERS[name]()
