"""A chunk's instances, masks and framed records from the C extension wwm/_fast_records.c: the same bytes.

wwm/instances.py, wwm/masking.py and wwm/pipeline.encode_instance define the records; they spend most of a
run's time in per-position Python (building segments, finding word groups, choosing masks, encoding varints).
The extension does the same steps in one call per chunk, with CPython's Mersenne Twister reproduced exactly,
so every random draw, and therefore every byte, is the one the Python code makes. tests/test_wwm_fast_records.py
compares the two on random documents in every mode, and tests/test_wwm_reference_output.py pins both to the
same digests.

The extension is built when the package is installed (`pip install -e .`, a C compiler needed); if it could not
be built, `available()` is False and the pipeline runs the Python code (the stats file says which ran).
"""
import array
import hashlib

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


def flatten(documents):
  """The extension's view of a chunk: int32 arrays of token ids, word ids, sentence and document offsets.

  Args:
    documents: list of documents, each a list of (ids, word_ids) sentences.

  Returns:
    (ids, word_ids, sentence_starts, document_starts): array.array("i") each.
  """
  ids, word_ids = array.array("i"), array.array("i")
  sentence_starts, document_starts = array.array("i", [0]), array.array("i", [0])
  for sentences in documents:
    for sentence_ids, sentence_words in sentences:
      ids.extend(sentence_ids)
      word_ids.extend(sentence_words)
      sentence_starts.append(len(ids))
    document_starts.append(len(sentence_starts) - 1)
  return ids, word_ids, sentence_starts, document_starts


def settings(config):
  """The extension's form of an instances.InstanceConfig (made once per run: it copies the candidates)."""
  names = schema.DYNAMIC_MASKING_FEATURES if config.dynamic_masking else schema.STATIC_MASKING_FEATURES
  return (config.max_seq_length, config.max_predictions_per_seq, config.short_seq_prob, config.masked_lm_prob,
          config.cls_id, config.sep_id, config.mask_id, array.array("i", config.candidates),
          config.per_token_decision, config.dynamic_masking, tuple(name.encode("utf-8") for name in names))


def build_records(documents, seeds, chunk_settings, nsp):
  """Framed records of a chunk's instances in the order the Python code creates them.

  Args:
    documents: list of documents (lists of (ids, word_ids) sentences, each at most
      instances.max_sentence_tokens long), as pipeline.prepare_documents makes them.
    seeds: the seed strings of the random.Random objects the Python code would use, in its order: one per
      (dupe round, document), dupe-major, with NSP; one per dupe round when packing.
    chunk_settings: settings(config) of the run's instances.InstanceConfig.
    nsp: next-sentence pairs (instances.create_instances_from_document) or packing (create_packed_instances).

  Returns:
    (records, counts): list of bytes (framed TFRecords, as tfrecord.frame_record(encode_instance(...))) and a
    dict with "masked_tokens", "masked_words" and "next_sentence_random".
  """
  records, masked_tokens, masked_words, next_sentence_random = _fast_records.build(
      *flatten(documents), [seed_material(seed) for seed in seeds], nsp, chunk_settings)
  return records, {"masked_tokens": masked_tokens, "masked_words": masked_words,
                   "next_sentence_random": next_sentence_random}
