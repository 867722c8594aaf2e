"""Word membership per token position: align a segmenter's words to WordPiece tokens.

The tokenizer splits every CJK ideograph into its own token, so a maximal run of single-ideograph tokens is
exactly a run of CJK text. That run is joined back into a string and given to the segmenter once; the word
lengths it returns are laid over the run's positions. Word membership is therefore positional: the same
characters can form a word at one position and not at another (和平 in 他们在和平饭店和平时一样).

Outside CJK runs a token starts a new word unless it is a `##` continuation, which joins the word of the token
before it: `tensorflow` -> te ##ns ##or ##flow is one word, and so is a digit run 12345678 -> 123456 ##78.
Punctuation and [UNK] are one-token words.
"""
import tokenization


class TokenClasses(object):
  """Per-id facts about a vocabulary, precomputed so alignment and masking look up lists, not strings.

  Attributes:
    inv_vocab: dict id -> token.
    is_cjk: list of bool per id: the token is one CJK ideograph.
    is_continuation: list of bool per id: the token starts with "##".
  """

  def __init__(self, vocab):
    """Args: vocab: mapping token -> id (ids 0..n-1)."""
    size = max(vocab.values()) + 1
    self.inv_vocab = {index: token for token, index in vocab.items()}
    self.is_cjk = [False] * size
    self.is_continuation = [False] * size
    for token, index in vocab.items():
      self.is_cjk[index] = len(token) == 1 and tokenization.is_cjk_codepoint(ord(token))
      self.is_continuation[index] = token.startswith("##") and len(token) > 2


def assign_word_ids(ids, classes, segmenter, first_word_id, stats=None):
  """Returns the word id of each token of one sentence.

  Args:
    ids: token ids of the sentence.
    classes: TokenClasses of the vocabulary.
    segmenter: wwm.segmenters.Segmenter for CJK runs, or None to treat each CJK token as its own word.
    first_word_id: id given to the sentence's first word; later words count up from it, so numbering can
      continue over a document and words of different sentences never share an id.
    stats: optional dict; "segmenter_fallbacks" is incremented when the segmenter fails on a run (raises, or
      returns lengths that do not cover the run exactly) and the run falls back to one word per character.

  Returns:
    (word_ids, next_word_id): list of int with len(ids) entries, and the first unused word id.
  """
  is_cjk = classes.is_cjk
  is_continuation = classes.is_continuation
  word_ids = []
  next_id = first_word_id
  position = 0
  length = len(ids)
  while position < length:
    token_id = ids[position]
    if is_cjk[token_id]:
      end = position + 1
      while end < length and is_cjk[ids[end]]:
        end += 1
      for word_length in _segment_run(ids[position:end], classes, segmenter, stats):
        word_ids.extend([next_id] * word_length)
        next_id += 1
      position = end
    elif is_continuation[token_id] and word_ids:
      word_ids.append(word_ids[-1])
      position += 1
    else:
      word_ids.append(next_id)
      next_id += 1
      position += 1
  return word_ids, next_id


def _segment_run(run_ids, classes, segmenter, stats):
  """Word lengths for a run of CJK tokens; one word per character if the segmenter fails."""
  if segmenter is None or len(run_ids) == 1:
    return [1] * len(run_ids)
  return run_word_lengths("".join([classes.inv_vocab[token_id] for token_id in run_ids]), segmenter, stats)


def run_word_lengths(text, segmenter, stats):
  """The segmenter's word lengths for the text of a CJK run, or one word per character if it fails.

  Args:
    text: the run's characters (at least two).
    segmenter: wwm.segmenters.Segmenter.
    stats: optional dict; "segmenter_fallbacks" counts the runs where the segmenter raised or returned lengths
      that do not cover the run exactly.

  Returns:
    list of int, summing to len(text).
  """
  try:
    lengths = segmenter.word_lengths(text)
  except Exception:  # pylint: disable=broad-except
    # A third-party segmenter failing on odd input must not stop a corpus run; it is counted instead.
    lengths = None
  if lengths is None or sum(lengths) != len(text) or any(n <= 0 for n in lengths):
    if stats is not None:
      stats["segmenter_fallbacks"] = stats.get("segmenter_fallbacks", 0) + 1
    return [1] * len(text)
  return lengths
