"""A chunk's alignment, instances, masks and framed records from the C extension wwm/_fast_records.c: the same bytes.

wwm/alignment.py, wwm/instances.py, wwm/masking.py and wwm/pipeline.encode_instance define the records; they
spend most of a run's time in per-position Python (numbering words, building segments, finding word groups,
choosing masks, encoding varints). The extension does the same steps for a whole chunk (aligned_chunk, then
build_records; the segmenter is still called per CJK run), with CPython's Mersenne Twister reproduced exactly,
so every random draw, and therefore every byte, is the one the Python code makes. tests/test_wwm_fast_records.py
compares the two on random documents in every mode, and tests/test_wwm_reference_output.py pins both to the
same digests.

The extension is built when the package is installed (`pip install -e .`, a C compiler needed); if it could not
be built, `available()` is False and the pipeline runs the Python code (the stats file says which ran).
"""
import array
import collections
import hashlib

from wwm import alignment
from wwm import instances as instances_lib
from wwm import masking
from wwm import record_schema as schema

try:
  from wwm import _fast_records
except ImportError:  # not built (no C compiler at install time): the Python code runs instead
  _fast_records = None


def available():
  """True when the C extension is importable."""
  return _fast_records is not None


def seed_material(seed):
  """What random.Random(seed) seeds from, for a str seed: its bytes followed by their SHA-512 digest.

  (CPython's version-2 seeding reads these bytes as one big-endian integer; the extension does the rest.)
  """
  data = seed.encode("utf-8")
  return data + hashlib.sha512(data).digest()


# A chunk as the extension takes it: int32 arrays of the token ids and word ids of all its sentences, the token
# offset of each sentence (then the total) and the sentence offset of each document (then the total); and the
# documents' indices in the corpus (their random seeds).
FlatChunk = collections.namedtuple("FlatChunk", ["ids", "word_ids", "sentence_starts", "document_starts",
                                                 "document_indices"])
# Alignment modes of the extension, by masking mode.
_ALIGNMENT_MODES = {masking.MASK_TOKENS: 0, masking.MASK_WORDPIECE_WORDS: 1, masking.MASK_CHINESE_WORDS: 2}


TokenTables = collections.namedtuple("TokenTables", [
    "codepoints",    # int32 per id: the character of a one-CJK-character token (alignment.TokenClasses.is_cjk), else 0
    "continuation",  # int32 per id: 1 for a `##` token (TokenClasses.is_continuation)
])


def token_tables(classes):
  """The extension's form of an alignment.TokenClasses (made once per run)."""
  codepoints = array.array("i", [ord(classes.inv_vocab[index]) if is_cjk else 0
                                 for index, is_cjk in enumerate(classes.is_cjk)])
  return TokenTables(codepoints, array.array("i", [int(flag) for flag in classes.is_continuation]))


def aligned_chunk(documents, masking_mode, segmenter, tables, limit, stats):
  """wwm/alignment.py and instances.split_long_sentence over a whole chunk, in the extension.

  The same word ids as pipeline.prepare_documents: the extension finds the CJK runs and numbers the words; the
  segmenter (Python) cuts each run of two or more CJK tokens, through alignment.run_word_lengths.

  Args:
    documents: pipeline.tokenized_documents(...): list of (document index, list of line ids), all non-empty.
    masking_mode: a masking.MASKING_MODES value.
    segmenter: wwm.segmenters.Segmenter (used with masking.MASK_CHINESE_WORDS).
    tables: token_tables(...) of the vocabulary.
    limit: instances.max_sentence_tokens: longer lines are split (counted as "long_lines_split").
    stats: collections.Counter for "words", "long_lines_split" and "segmenter_fallbacks".

  Returns:
    FlatChunk.
  """
  ids, line_starts, document_lines = array.array("i"), array.array("i", [0]), array.array("i", [0])
  for _, lines in documents:
    for line in lines:
      ids.extend(line)
      line_starts.append(len(ids))
    document_lines.append(len(line_starts) - 1)
  mode = _ALIGNMENT_MODES[masking_mode]
  run_lengths = array.array("i")
  if mode == 2:
    for text in _fast_records.cjk_runs(ids, line_starts, tables.codepoints):
      run_lengths.extend(alignment.run_word_lengths(text, segmenter, stats))
  word_ids = array.array("i", bytes(ids.itemsize * len(ids)))
  stats["words"] += _fast_records.assign_word_ids(ids, line_starts, document_lines, tables.codepoints,
                                                  tables.continuation, run_lengths, mode, word_ids)
  # Sentences are the lines, the long ones cut into pieces.
  sentence_starts, document_starts = array.array("i", [0]), array.array("i", [0])
  for document in range(len(document_lines) - 1):
    for line in range(document_lines[document], document_lines[document + 1]):
      start, end = line_starts[line], line_starts[line + 1]
      if end - start > limit:
        stats["long_lines_split"] += 1
        sentence_starts.extend([start + cut for cut in instances_lib.sentence_cuts(word_ids[start:end], limit)])
      else:
        sentence_starts.append(end)
    document_starts.append(len(sentence_starts) - 1)
  return FlatChunk(ids, word_ids, sentence_starts, document_starts,
                   [document_index for document_index, _ in documents])


def settings(config):
  """The extension's form of an instances.InstanceConfig (made once per run: it copies the candidates)."""
  names = schema.DYNAMIC_MASKING_FEATURES if config.dynamic_masking else schema.STATIC_MASKING_FEATURES
  return (config.max_seq_length, config.max_predictions_per_seq, config.short_seq_prob, config.masked_lm_prob,
          config.cls_id, config.sep_id, config.mask_id, array.array("i", config.candidates),
          config.per_token_decision, config.dynamic_masking, tuple(name.encode("utf-8") for name in names))


def build_records(chunk, seeds, chunk_settings, nsp):
  """Framed records of a chunk's instances in the order the Python code creates them.

  Args:
    chunk: FlatChunk (aligned_chunk); every sentence at most instances.max_sentence_tokens long.
    seeds: the seed strings of the random.Random objects the Python code would use, in its order: one per
      (dupe round, document), dupe-major, with NSP; one per dupe round when packing.
    chunk_settings: settings(config) of the run's instances.InstanceConfig.
    nsp: next-sentence pairs (instances.create_instances_from_document) or packing (create_packed_instances).

  Returns:
    (records, counts): list of bytes (framed TFRecords, as tfrecord.frame_record(encode_instance(...))) and a
    dict with "masked_tokens", "masked_words" and "next_sentence_random".
  """
  records, masked_tokens, masked_words, next_sentence_random = _fast_records.build(
      chunk.ids, chunk.word_ids, chunk.sentence_starts, chunk.document_starts,
      [seed_material(seed) for seed in seeds], nsp, chunk_settings)
  return records, {"masked_tokens": masked_tokens, "masked_words": masked_words,
                   "next_sentence_random": next_sentence_random}
