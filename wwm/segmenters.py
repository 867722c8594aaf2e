"""Chinese word segmenters behind one tiny interface.

A segmenter turns a run of CJK characters into words: `word_lengths(text)` returns the length of each word, in
order, summing to len(text). Adding a segmenter means one small subclass and one entry in SEGMENTERS.

The default is jieba's precise mode with its HMM for unknown words (`jieba.Tokenizer.cut(text, HMM=True)`):
it finds names and new words the dictionary lacks, at about 80% of the no-HMM speed (measured here: about
690 vs 830 KB/s of Chinese text), and it is what the HFL whole-word-masking models used (through LTP/jieba).

Fast path (FastJiebaSegmenter, without --user_dict). A run of characters in U+4E00-U+9FD5 (jieba's re_han: one
block for jieba.cut and for finalseg.cut) is segmented by wwm/_fast_segmenter.c, jieba's own algorithm in C on
jieba's own data: the DAG of its prefix dictionary, its maximum-probability route (the same log, the same
tie-breaking between equal routes), its buffers of single characters and its HMM (finalseg's tables, decoded as
jieba_hmm_word_lengths_function below does). Other runs, and any run while force-split words are set
(jieba.add_word(w, 0)), go through jieba itself. Where the extension is not built, a run takes its dictionary
route from `rjieba` (jieba-rs) and its single-character stretches through jieba_hmm_word_lengths_function (4x
finalseg.cut; cached per stretch); rjieba's own HMM is not used (常在宅旁 -> 常在/宅/旁 where jieba says
常/在/宅/旁), and runs with a directly repeated character or pair (美美美), where the two can break an exact tie
between equal routes differently, take their route from jieba's DAG and route search. Either way the words
are jieba 0.42.1's on every Chinese run of ../shared/data (`benchmarks/bench_pretraining_data.py
--verify_segmenter`: 0 differences in about a million distinct runs).
"""
import array
import functools
import hashlib
import importlib.util
import logging
import os
import re
import struct
import tempfile

from bert import file_io
from bert.errors import UsageError

try:
  from wwm import _fast_segmenter
except ImportError:  # not built (no C compiler at install time): rjieba's route or jieba itself
  _fast_segmenter = None


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

  def __init__(self, user_dict=None, hmm=True, load_dictionary=True):
    """Loads jieba's dictionary (about 0.3 s; do it once per process, before forking workers).

    Args:
      user_dict: optional path of a jieba user dictionary ("word [freq] [tag]" per line).
      hmm: use jieba's HMM to find words missing from the dictionary.
      load_dictionary: False leaves jieba's dictionary to be loaded on first use (initialize_jieba); for
        FastJiebaSegmenter, whose C code keeps its own copy and rarely needs jieba's.

    Raises:
      UsageError: the user dictionary is missing or unreadable.
    """
    import jieba  # pylint: disable=g-import-not-at-top
    jieba.setLogLevel(logging.WARNING)
    self._hmm = hmm
    self._tokenizer = jieba.Tokenizer()
    if load_dictionary or user_dict:
      initialize_jieba(self._tokenizer)
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


_DICTIONARY_CACHE_MAGIC = b"wwm-jieba-prefix-dict-1\n"
_DICTIONARY_CACHE_HEADER = struct.Struct("<QQq")  # bytes of the keys, number of keys, jieba's total


def dictionary_cache_path(tokenizer):
  """Where initialize_jieba keeps its copy of `tokenizer`'s prefix dictionary (named after its source file)."""
  import jieba  # pylint: disable=g-import-not-at-top
  source = tokenizer.dictionary  # an absolute path, or jieba.DEFAULT_DICT (None): the dict.txt jieba ships
  if source == jieba.DEFAULT_DICT:
    source = os.path.join(os.path.dirname(os.path.abspath(jieba.__file__)), jieba.DEFAULT_DICT_NAME)
  status = os.stat(source)
  key = "%s|%s|%d|%d" % (jieba.__version__, source, status.st_size, status.st_mtime_ns)
  return os.path.join(tempfile.gettempdir(), "wwm_jieba_%s.cache" % hashlib.sha256(key.encode()).hexdigest()[:16])


def initialize_jieba(tokenizer):
  """tokenizer.initialize(), about 4x faster from a second cache of the same prefix dictionary.

  jieba keeps its prefix dictionary (every word and word prefix of dict.txt with its count, about 500,000 keys)
  in a marshal file whose loading, one key at a time, is the largest start-up cost of a run (about 0.9 s). The
  same keys as one UTF-8 text plus an array of counts (dictionary_arrays) load with one split and one
  dict(zip(...)).

  Args:
    tokenizer: a jieba.Tokenizer of jieba's default dictionary.
  """
  if tokenizer.initialized:
    return
  keys, counts, total = dictionary_arrays(tokenizer)
  if not tokenizer.initialized:  # (dictionary_arrays lets jieba load it when there was no copy yet)
    tokenizer.FREQ, tokenizer.total = dict(zip(keys.split("\n"), counts.tolist())), total
    tokenizer.initialized = True


def dictionary_arrays(tokenizer):
  """jieba's prefix dictionary as (keys, counts, total): the keys in one str separated by "\n", an int64 array
  of their counts in the same order, and jieba's total count.

  Read from a copy beside jieba's cache (dictionary_cache_path). The copy is made from jieba's own loading the
  first time and written atomically; a copy that cannot be read or does not match its header is ignored (and
  replaced); where it cannot be written, jieba loads its dictionary its own way on every run.

  Args:
    tokenizer: a jieba.Tokenizer of jieba's default dictionary (jieba initializes it if there is no copy).
  """
  try:
    path = dictionary_cache_path(tokenizer)
  except OSError:
    path = None
  arrays = _read_dictionary_cache(path) if path else None
  if arrays is None:
    tokenizer.initialize()
    if any("\n" in key for key in tokenizer.FREQ):
      raise ValueError("a jieba dictionary key contains a line break")  # never in jieba's own dict.txt
    arrays = "\n".join(tokenizer.FREQ), array.array("q", tokenizer.FREQ.values()), tokenizer.total
    if path:
      _write_dictionary_cache(path, arrays)
  return arrays


def _read_dictionary_cache(path):
  try:
    with open(path, "rb") as reader:
      data = reader.read()
  except OSError:
    return None
  start = len(_DICTIONARY_CACHE_MAGIC)
  if not data.startswith(_DICTIONARY_CACHE_MAGIC) or len(data) < start + _DICTIONARY_CACHE_HEADER.size:
    return None
  key_bytes, num_keys, total = _DICTIONARY_CACHE_HEADER.unpack_from(data, start)
  start += _DICTIONARY_CACHE_HEADER.size
  counts = array.array("q")
  if len(data) != start + key_bytes + num_keys * counts.itemsize:
    return None
  try:
    keys = data[start:start + key_bytes].decode("utf-8")
  except UnicodeDecodeError:
    return None
  counts.frombytes(data[start + key_bytes:])
  if keys.count("\n") + 1 != num_keys:
    return None
  return keys, counts, total


def _write_dictionary_cache(path, arrays):
  keys, counts, total = arrays
  data = keys.encode("utf-8")
  header = _DICTIONARY_CACHE_MAGIC + _DICTIONARY_CACHE_HEADER.pack(len(data), len(counts), total)
  try:
    file_io.write_bytes_atomically(path, header + data + counts.tobytes())
  except OSError as e:  # a read-only temporary directory only costs the faster start next time
    logging.info("jieba dictionary copy not written to %s: %s", path, e)


# Runs the fast path may take: only jieba's Chinese range, and no character or pair repeated back to back.
JIEBA_HAN_RUN = re.compile(r"[\u4e00-\u9fd5]+\Z")
_DIRECT_REPEAT = re.compile(r"(..?)\1")
# Distinct single-character stretches whose HMM words are kept (a few MB; common stretches recur constantly).
HMM_CACHE_SIZE = 1 << 18


class FastJiebaSegmenter(JiebaSegmenter):
  """jieba's words, from jieba's algorithm in C, or with the route from rjieba where shown equal (see above)."""

  def __init__(self, hmm=True, native=True):
    """Loads jieba's dictionary, then builds the C segmenter's copy of it (or rjieba's, without the extension).

    Args:
      hmm: jieba's HMM for unknown words.
      native: use the C extension when it is built (False: rjieba's route and the Python HMM decoder).
    """
    native = native and native_segmenter_available()
    super(FastJiebaSegmenter, self).__init__(user_dict=None, hmm=hmm, load_dictionary=not native)
    from jieba import finalseg  # pylint: disable=g-import-not-at-top
    self._finalseg = finalseg
    self._native = None
    if native:
      keys, counts, total = dictionary_arrays(self._tokenizer)
      self._native = _fast_segmenter.Segmenter(keys, counts, total, finalseg.start_P, finalseg.trans_P,
                                               finalseg.emit_P, finalseg.MIN_FLOAT, hmm)
    self._route = None
    if self._native is None and rjieba_available():  # (rjieba's own dictionary load costs about 0.2 s)
      import rjieba  # pylint: disable=g-import-not-at-top
      self._route = rjieba.Jieba().cut
    tokenizer = self._tokenizer
    hmm_lengths = jieba_hmm_word_lengths_function(finalseg)

    @functools.lru_cache(maxsize=HMM_CACHE_SIZE)
    def stretch_lengths(stretch):
      # jieba's __cut_DAG: a stretch that is itself a dictionary word stays single characters.
      if tokenizer.FREQ.get(stretch):
        return (1,) * len(stretch)
      if finalseg.Force_Split_Words:  # jieba.add_word(..., freq=0) changes its HMM's output; follow it
        return tuple(len(word) for word in finalseg.cut(stretch))
      return hmm_lengths(stretch)

    self._stretch_lengths = stretch_lengths
    if self._native is not None:
      self.implementation = "jieba-c+hmm" if hmm else "jieba-c"
    else:
      self.implementation = "rjieba+jieba-hmm" if hmm else "rjieba"

  def word_lengths(self, text):
    # Force-split words (jieba.add_word(w, 0)) change finalseg's output, which the C code does not follow.
    if self._native is not None and not self._finalseg.Force_Split_Words:
      lengths = self._native.word_lengths(text)
      if lengths is not None:
        return lengths
    initialize_jieba(self._tokenizer)  # (with the C segmenter, loaded only when a run first needs it)
    if self._route is not None and takes_fast_path(text):
      route = [len(word) for word in self._route(text, hmm=False)]
    elif JIEBA_HAN_RUN.match(text):
      route = self._jieba_route(text)
    else:
      return super(FastJiebaSegmenter, self).word_lengths(text)
    if not self._hmm:
      return route
    # jieba's __cut_DAG: single-character words of the route gather into a stretch for the HMM.
    lengths = []
    position = stretch_start = 0
    for length in route:
      if length > 1:
        self._flush_stretch(text, stretch_start, position, lengths)
        lengths.append(length)
        stretch_start = position + length
      position += length
    self._flush_stretch(text, stretch_start, position, lengths)
    return lengths

  def _jieba_route(self, text):
    """Word lengths of jieba's own maximum-probability route (its DAG and route search, in Python)."""
    dag = self._tokenizer.get_DAG(text)
    route = {}
    self._tokenizer.calc(text, dag, route)
    lengths = []
    position = 0
    while position < len(text):
      end = route[position][1] + 1
      lengths.append(end - position)
      position = end
    return lengths

  def _flush_stretch(self, text, start, end, lengths):
    """Appends the words of the single characters text[start:end] (jieba's HMM buffer)."""
    if end - start == 1:
      lengths.append(1)
    elif end > start:
      lengths.extend(self._stretch_lengths(text[start:end]))


def jieba_hmm_word_lengths_function(finalseg):
  """Returns f(stretch) -> tuple of word lengths, exactly jieba.finalseg.cut's words of a Han stretch.

  jieba's HMM (states B, M, E, S: begin, middle, end of a word, single) decoded by its own Viterbi algorithm,
  with its probability tables, in the same floating-point operations in the same order and with the same
  tie-breaking (jieba takes the max of (probability, state letter) tuples, so on an exact tie the later letter
  wins). jieba's version builds a dict per position and copies every path at every step, which made it the
  largest single cost of segmentation; this one keeps four numbers and back-pointers. Only for stretches of
  characters in U+4E00-U+9FD5 (jieba's re_han, which the fast path guarantees) and with no force-split words.
  Proof: tests/test_wwm_segmenters.py against finalseg.cut, and `bench_pretraining_data.py --verify_segmenter`.

  Args:
    finalseg: the jieba.finalseg module (its start_P, trans_P, emit_P and MIN_FLOAT).
  """
  floor = finalseg.MIN_FLOAT
  start, trans = finalseg.start_P, finalseg.trans_P
  emit_b, emit_m, emit_s, emit_e = (finalseg.emit_P[state].get for state in "BMSE")
  e_to_b, s_to_b = trans["E"]["B"], trans["S"]["B"]
  m_to_m, b_to_m = trans["M"]["M"], trans["B"]["M"]
  s_to_s, e_to_s = trans["S"]["S"], trans["E"]["S"]
  b_to_e, m_to_e = trans["B"]["E"], trans["M"]["E"]
  begin, middle, single, end = range(4)

  def word_lengths(stretch):
    first = stretch[0]
    v_b, v_m = start["B"] + emit_b(first, floor), start["M"] + emit_m(first, floor)
    v_s, v_e = start["S"] + emit_s(first, floor), start["E"] + emit_e(first, floor)
    back = []
    for char in stretch[1:]:
      p_b, p_m, p_s, p_e = emit_b(char, floor), emit_m(char, floor), emit_s(char, floor), emit_e(char, floor)
      from_e, from_s = v_e + e_to_b + p_b, v_s + s_to_b + p_b
      n_b, b_b = (from_s, single) if from_s >= from_e else (from_e, end)
      from_m, from_b = v_m + m_to_m + p_m, v_b + b_to_m + p_m
      n_m, b_m = (from_m, middle) if from_m >= from_b else (from_b, begin)
      from_s, from_e = v_s + s_to_s + p_s, v_e + e_to_s + p_s
      n_s, b_s = (from_s, single) if from_s >= from_e else (from_e, end)
      from_b, from_m = v_b + b_to_e + p_e, v_m + m_to_e + p_e
      n_e, b_e = (from_m, middle) if from_m >= from_b else (from_b, begin)
      back.append((b_b, b_m, b_s, b_e))
      v_b, v_m, v_s, v_e = n_b, n_m, n_s, n_e
    state = single if v_s >= v_e else end
    states = [state]
    for pointers in reversed(back):
      state = pointers[state]
      states.append(state)
    states.reverse()
    # jieba's __cut: a word is cut at E (from the last B) and at S; anything left after the last one is a word.
    lengths = []
    word_start = cut_end = 0
    for index, state in enumerate(states):
      if state == begin:
        word_start = index
      elif state == end:
        lengths.append(index + 1 - word_start)
        cut_end = index + 1
      elif state == single:
        lengths.append(1)
        cut_end = index + 1
    if cut_end < len(stretch):
      lengths.append(len(stretch) - cut_end)
    return tuple(lengths)

  return word_lengths


def takes_fast_path(text):
  """Whether FastJiebaSegmenter takes the dictionary route of `text` from rjieba (else from jieba)."""
  return bool(JIEBA_HAN_RUN.match(text)) and not _DIRECT_REPEAT.search(text)


def native_segmenter_available():
  """Whether the C extension wwm/_fast_segmenter.c is built."""
  return _fast_segmenter is not None


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
    if fast and not user_dict and (native_segmenter_available() or rjieba_available()):
      return FastJiebaSegmenter(hmm=hmm)
    return JiebaSegmenter(user_dict=user_dict, hmm=hmm)
  if user_dict:
    raise UsageError("--user_dict is only used by --segmenter=jieba, not --segmenter=%s" % name)
  return SEGMENTERS[name]()
