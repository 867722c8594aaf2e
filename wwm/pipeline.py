"""Streaming, parallel, reproducible creation of pretraining TFRecords.

    reader (main process) -> chunks of at most `nsp_buffer_documents` consecutive documents of one file
      -> worker processes: tokenize, segment once, dupe_factor rounds of instances, shuffle, serialize
      -> ordered writer (main process): records round-robin over the output shards, written atomically

Memory is bounded by the chunks in flight (2 per worker), never by the corpus. The chunk is also the NSP
buffer: a "random next" segment comes from another document of the same chunk (Google's draws from the whole
corpus, which is what costs it ~80 bytes of RAM per byte of text). Chunk boundaries depend only on the input,
every random choice comes from a random.Random seeded with (random_seed, document index, dupe round) (packing:
the chunk's first document index), and results are written in chunk order, so the output bytes are the same
for any number of workers and on every run.
"""
import collections
import concurrent.futures
import gc
import json
import logging
import multiprocessing
import os
import random
import re
import resource
import sys
import time

from bert import file_patterns
from bert.errors import UsageError
from wwm import alignment
from wwm import instances as instances_lib
from wwm import masking
from wwm import tfrecord

FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids",
                 "masked_lm_weights", "next_sentence_labels")
# --dynamic_masking records: input_ids (unmasked), input_mask, segment_ids, next_sentence_labels and word_ids
# (word index 0.. per position, -1 for [CLS], [SEP] and padding); no masked_lm_* features.
DYNAMIC_FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "next_sentence_labels", "word_ids")
WORD_IDS_FEATURE = "word_ids"
# A document longer than this many characters is cut into several (counted), so no single document can
# make a chunk unbounded.
MAX_DOCUMENT_CHARS = 1000000
# A chunk also closes after this many bytes of text, whatever its document count.
MAX_CHUNK_BYTES = 4 << 20
PROGRESS_LOG_SECONDS = 30.0
# Without --stats_file the stats JSON is NAME.stats.json beside the first output NAME (unsharded name).
STATS_SUFFIX = ".stats.json"
_SHARD_NAME_RE = re.compile(r"(.+)-\d{5}-of-\d{5}\Z")

Options = collections.namedtuple("Options", [
    "input_files", "output_files", "stats_file", "vocab_file", "do_lower_case", "masking_mode", "segmenter",
    "user_dict", "max_seq_length", "max_predictions_per_seq", "random_seed", "dupe_factor", "masked_lm_prob",
    "short_seq_prob", "nsp", "dynamic_masking", "per_token_decision", "num_workers", "nsp_buffer_documents",
    "fast_tokenizer", "progress", "jieba_hmm",
], defaults=(True,))

Chunk = collections.namedtuple("Chunk", ["file_index", "first_document_index", "documents", "num_bytes"])
ChunkResult = collections.namedtuple("ChunkResult", ["file_index", "records", "stats", "num_bytes"])


def expand_input_patterns(patterns):
  """Google's --input_file syntax (comma list and globs) expanded to files; see bert.file_patterns."""
  return file_patterns.expand_file_patterns(patterns, "--input_file")

def output_paths(output_file, num_output_shards):
  """Comma-separated outputs, or one output split into `num_output_shards` named NAME-00000-of-0000N.

  Raises:
    UsageError: inconsistent --output_file / --num_output_shards.
  """
  paths = [p.strip() for p in output_file.split(",") if p.strip()]
  if not paths:
    raise UsageError("--output_file is empty")
  if num_output_shards < 1:
    raise UsageError("--num_output_shards must be >= 1, got %d" % num_output_shards)
  if num_output_shards == 1:
    return paths
  if len(paths) != 1:
    raise UsageError("--num_output_shards=%d needs a single --output_file, got %d" % (num_output_shards, len(paths)))
  return ["%s-%05d-of-%05d" % (paths[0], i, num_output_shards) for i in range(num_output_shards)]


def default_stats_file(output_file):
  """The stats JSON path used without --stats_file: the first --output_file name + STATS_SUFFIX."""
  return [p.strip() for p in output_file.split(",") if p.strip()][0] + STATS_SUFFIX


def stats_file_candidates(record_file):
  """Default stats JSON paths that may describe `record_file`: its own, or its shard set's (NAME-i-of-N)."""
  candidates = [record_file + STATS_SUFFIX]
  shard = _SHARD_NAME_RE.match(record_file)
  if shard:
    candidates.append(shard.group(1) + STATS_SUFFIX)
  return candidates


def validate(options):
  """Raises UsageError for flag values that cannot work."""
  if options.max_seq_length < 5:
    raise UsageError("--max_seq_length must be >= 5 ([CLS] A [SEP] B [SEP]), got %d" % options.max_seq_length)
  if options.max_predictions_per_seq < 1 and not options.dynamic_masking:
    raise UsageError("--max_predictions_per_seq must be >= 1, got %d" % options.max_predictions_per_seq)
  if not 0.0 < options.masked_lm_prob <= 1.0:
    raise UsageError("--masked_lm_prob must be in (0, 1], got %g" % options.masked_lm_prob)
  if not 0.0 <= options.short_seq_prob <= 1.0:
    raise UsageError("--short_seq_prob must be in [0, 1], got %g" % options.short_seq_prob)
  if options.dupe_factor < 1:
    raise UsageError("--dupe_factor must be >= 1, got %d" % options.dupe_factor)
  if options.nsp_buffer_documents < 2:
    raise UsageError("--nsp_buffer_documents must be >= 2, got %d" % options.nsp_buffer_documents)
  if options.masking_mode not in masking.MASKING_MODES:
    raise UsageError("unknown masking mode %s" % options.masking_mode)


def vocab_case_warning(vocab, do_lower_case):
  """A warning line when the vocabulary's casing contradicts do_lower_case, else None."""
  latin = [t for t in vocab if not t.startswith("[") and any("a" <= c.lower() <= "z" for c in t)]
  upper = [t for t in latin if any(c.isupper() for c in t)]
  if do_lower_case and len(upper) >= max(10, len(latin) // 20):
    return ("vocab has %d of %d Latin tokens with upper-case letters (a cased vocab), but --do_lower_case=True "
            "lower-cases all input: those tokens can never occur; pass --do_lower_case=False" %
            (len(upper), len(latin)))
  if not do_lower_case and latin and len(upper) <= len(latin) // 100:
    return ("vocab is lower-cased (%d of %d Latin tokens have upper-case letters) but --do_lower_case=False: "
            "upper-case input becomes [UNK] or odd pieces; pass --do_lower_case=True" % (len(upper), len(latin)))
  return None


# ---------------------------------------------------------------------------------------------- reading


def read_chunks(input_files, nsp_buffer_documents, stats):
  """Streams the input as Chunks of consecutive documents of one file.

  Lines are stripped; a blank line ends a document, and so does the end of a file. Invalid UTF-8 is replaced
  (U+FFFD) and counted in stats["decode_errors"] (lines).

  Args:
    input_files: list of paths.
    nsp_buffer_documents: documents per chunk.
    stats: dict updated with decode_errors, documents, documents_split.

  Yields:
    Chunk.
  """
  document_index = 0
  for file_index, path in enumerate(input_files):
    documents = []
    chunk_bytes = 0
    first_index = document_index
    current = []
    current_chars = 0
    try:
      reader = open(path, "rb")
    except OSError as e:
      raise UsageError("--input_file %s: cannot be read (%s)" % (path, e.strerror or e))
    with reader:
      for raw in reader:
        chunk_bytes += len(raw)
        try:
          line = raw.decode("utf-8")
        except UnicodeDecodeError:
          line = raw.decode("utf-8", "replace")
          stats["decode_errors"] += 1
        line = line.strip()
        if line:
          current.append(line)
          current_chars += len(line)
          if current_chars < MAX_DOCUMENT_CHARS:
            continue
          stats["documents_split"] += 1
        if current:
          documents.append(current)
          document_index += 1
          current = []
          current_chars = 0
          if len(documents) >= nsp_buffer_documents or chunk_bytes >= MAX_CHUNK_BYTES:
            yield Chunk(file_index, first_index, documents, chunk_bytes)
            documents, chunk_bytes, first_index = [], 0, document_index
    if current:
      documents.append(current)
      document_index += 1
    if documents or chunk_bytes:
      yield Chunk(file_index, first_index, documents, chunk_bytes)
  stats["documents"] = document_index


# ---------------------------------------------------------------------------------------------- workers


class WorkerContext(object):
  """Everything a worker needs, built once in the main process (and inherited by forked workers)."""

  def __init__(self, options, tokenizer, segmenter):
    self.options = options
    self.tokenizer = tokenizer
    self.segmenter = segmenter
    self.classes = alignment.TokenClasses(tokenizer.vocab)
    vocab = tokenizer.vocab
    self.config = instances_lib.InstanceConfig(
        max_seq_length=options.max_seq_length, short_seq_prob=options.short_seq_prob,
        masked_lm_prob=options.masked_lm_prob, max_predictions_per_seq=options.max_predictions_per_seq,
        cls_id=vocab["[CLS]"], sep_id=vocab["[SEP]"], mask_id=vocab["[MASK]"],
        candidates=masking.replacement_candidates(vocab), per_token_decision=options.per_token_decision,
        dynamic_masking=options.dynamic_masking)
    self.encoder = tfrecord.ExampleEncoder(DYNAMIC_FEATURE_NAMES if options.dynamic_masking else FEATURE_NAMES)
    # Tokens that only the pipeline may place: literal occurrences in the text are removed (and counted).
    self.structural_ids = frozenset(vocab[t] for t in ("[CLS]", "[SEP]", "[MASK]", "[PAD]") if t in vocab)
    self.small_ids = max(vocab.values()) < tfrecord.SMALL_LIMIT and options.max_seq_length <= tfrecord.SMALL_LIMIT
    self._mask_features = {}
    self._weight_features = {}

  def input_mask_feature(self, length):
    feature = self._mask_features.get(length)
    if feature is None:
      pad = self.options.max_seq_length - length
      feature = self._mask_features[length] = tfrecord.int64_feature([1] * length + [0] * pad)
    return feature

  def weights_feature(self, count):
    feature = self._weight_features.get(count)
    if feature is None:
      pad = self.options.max_predictions_per_seq - count
      feature = self._weight_features[count] = tfrecord.float_feature([1.0] * count + [0.0] * pad)
    return feature


_CONTEXT = None


def set_worker_context(context):
  """Installs the context used by process_chunk in this process (pool initializer)."""
  global _CONTEXT
  _CONTEXT = context


def prepare_documents(chunk, context, stats):
  """Tokenizes and segments the chunk's documents once: list of (document index, sentences)."""
  options = context.options
  lines = [line for document in chunk.documents for line in document]
  tokenized = iter(context.tokenizer.ids_of_lines(lines))
  limit = instances_lib.max_sentence_tokens(options.max_seq_length, options.nsp)
  mode = options.masking_mode
  special_ids = context.structural_ids
  segmenter = context.segmenter if mode == masking.MASK_CHINESE_WORDS else None
  prepared = []
  for offset, document in enumerate(chunk.documents):
    sentences = []
    next_word = 0
    for _ in document:
      ids = next(tokenized)
      if not special_ids.isdisjoint(ids):
        # tokenization.py keeps a literal "[SEP]" etc. whole; inside a sequence it would fake structure.
        kept = [token_id for token_id in ids if token_id not in special_ids]
        stats["special_tokens_removed"] += len(ids) - len(kept)
        ids = kept
      if not ids:
        continue
      if mode == masking.MASK_TOKENS:
        word_ids = list(range(next_word, next_word + len(ids)))
        next_word += len(ids)
      else:
        word_ids, next_word = alignment.assign_word_ids(ids, context.classes, segmenter, next_word, stats)
      stats["sentences"] += 1
      stats["tokens"] += len(ids)
      if len(ids) > limit:
        stats["long_lines_split"] += 1
        sentences.extend(instances_lib.split_long_sentence(ids, word_ids, limit))
      else:
        sentences.append((ids, word_ids))
    stats["words"] += next_word
    if sentences:
      prepared.append((chunk.first_document_index + offset, sentences))
    else:
      stats["empty_documents_skipped"] += 1
  return prepared


def build_instances(chunk, context, stats):
  """All instances of a chunk over the dupe_factor rounds, in their (seeded) shuffled order."""
  options = context.options
  prepared = prepare_documents(chunk, context, stats)
  if not prepared:
    return []
  documents = [sentences for _, sentences in prepared]
  result = []
  for dupe in range(options.dupe_factor):
    if options.nsp:
      for position, (document_index, _) in enumerate(prepared):
        rng = random.Random("%d:%d:%d" % (options.random_seed, document_index, dupe))
        result.extend(instances_lib.create_instances_from_document(documents, position, context.config, rng))
    else:
      rng = random.Random("%d:packed:%d:%d" % (options.random_seed, chunk.first_document_index, dupe))
      result.extend(instances_lib.create_packed_instances(documents, context.config, rng))
  random.Random("%d:shuffle:%d" % (options.random_seed, chunk.first_document_index)).shuffle(result)
  return result


def encode_instance(instance, context):
  """Serialized tf.train.Example of an instance, padded to Google's fixed lengths."""
  options = context.options
  length = len(instance.input_ids)
  pad = [0] * (options.max_seq_length - length)
  int64_feature = tfrecord.int64_feature
  # Ids are below the vocabulary size (checked to be <= 65536 in WorkerContext), positions below
  # max_seq_length: the table lookup needs no range check.
  small = context.small_ids
  if options.dynamic_masking:
    # No masked_lm_* features: readers then know the masks are theirs to draw (bert/pretraining_input.py).
    word_ids = instances_lib.renumber_words(instance.word_ids)
    features = [
        ("input_ids", int64_feature(instance.input_ids + pad, small)),
        ("input_mask", context.input_mask_feature(length)),
        ("segment_ids", int64_feature(instance.segment_ids + pad, small)),
        ("next_sentence_labels", int64_feature([instance.next_sentence_label])),
        (WORD_IDS_FEATURE, int64_feature(word_ids + [-1] * len(pad))),
    ]
    return context.encoder.encode(features)
  num_masked = len(instance.masked_lm_positions)
  lm_pad = [0] * (options.max_predictions_per_seq - num_masked)
  features = [
      ("input_ids", int64_feature(instance.input_ids + pad, small)),
      ("input_mask", context.input_mask_feature(length)),
      ("segment_ids", int64_feature(instance.segment_ids + pad, small)),
      ("masked_lm_positions", int64_feature(instance.masked_lm_positions + lm_pad, small)),
      ("masked_lm_ids", int64_feature(instance.masked_lm_ids + lm_pad, small)),
      ("masked_lm_weights", context.weights_feature(num_masked)),
      ("next_sentence_labels", int64_feature([instance.next_sentence_label])),
  ]
  return context.encoder.encode(features)


def process_chunk(chunk, context=None):
  """Worker entry point: a Chunk -> ChunkResult with serialized records and counters."""
  context = context or _CONTEXT
  stats = collections.Counter()
  fast_before = context.tokenizer.lines_fast
  python_before = context.tokenizer.lines_fallback
  built = build_instances(chunk, context, stats)
  records = [encode_instance(instance, context) for instance in built]
  stats["instances"] += len(built)
  stats["masked_tokens"] += sum(len(instance.masked_lm_positions) for instance in built)
  stats["masked_words"] += sum(instance.num_masked_words for instance in built)
  stats["next_sentence_random"] += sum(instance.next_sentence_label for instance in built)
  stats["tokenizer_rust_lines"] += context.tokenizer.lines_fast - fast_before
  stats["tokenizer_python_lines"] += context.tokenizer.lines_fallback - python_before
  return ChunkResult(chunk.file_index, records, dict(stats), chunk.num_bytes)


def _ordered_parallel_map(chunks, context, num_workers):
  """process_chunk over `chunks` in `num_workers` processes; results in input order, 2 chunks per worker in
  flight at most (so reading never runs ahead of writing)."""
  # Objects that exist now (jieba's ~600k-entry dictionary above all) are inherited by the forked workers;
  # freezing them keeps the garbage collector from writing to (and so copying) their pages in every worker.
  gc.freeze()
  mp_context = multiprocessing.get_context("fork")
  with concurrent.futures.ProcessPoolExecutor(max_workers=num_workers, mp_context=mp_context,
                                              initializer=set_worker_context, initargs=(context,)) as pool:
    pending = collections.deque()
    for chunk in chunks:
      pending.append(pool.submit(process_chunk, chunk))
      if len(pending) >= 2 * num_workers:
        yield pending.popleft().result()
    while pending:
      yield pending.popleft().result()


# ---------------------------------------------------------------------------------------------- main loop


class _Progress(object):
  """tqdm bar on a terminal, else a log line every PROGRESS_LOG_SECONDS."""

  def __init__(self, total_bytes, enabled):
    self._total = total_bytes
    self._done = 0
    self._bar = None
    self._start = self._last_log = time.time()
    self._enabled = enabled
    if enabled and sys.stderr.isatty():
      import tqdm  # pylint: disable=g-import-not-at-top
      self._bar = tqdm.tqdm(total=total_bytes, unit="B", unit_scale=True, desc="pretraining data")

  def update(self, num_bytes, num_instances):
    self._done += num_bytes
    if self._bar is not None:
      self._bar.update(num_bytes)
      self._bar.set_postfix(instances=num_instances, refresh=False)
      return
    now = time.time()
    if self._enabled and now - self._last_log >= PROGRESS_LOG_SECONDS:
      self._last_log = now
      logging.info("read %.1f of %.1f MB (%.0f%%), %d instances, %.0f KB/s", self._done / 1e6, self._total / 1e6,
                   100.0 * self._done / max(1, self._total), num_instances,
                   self._done / 1e3 / max(1e-9, now - self._start))

  def close(self):
    if self._bar is not None:
      self._bar.close()


def create_context(options):
  """Builds the tokenizer, segmenter and instance settings (call before forking workers)."""
  from wwm import fast_tokenizer  # pylint: disable=g-import-not-at-top
  from wwm import segmenters  # pylint: disable=g-import-not-at-top
  tokenizer = fast_tokenizer.FastTokenizer(options.vocab_file, do_lower_case=options.do_lower_case,
                                           use_rust=options.fast_tokenizer)
  segmenter = None
  if options.masking_mode == masking.MASK_CHINESE_WORDS:
    segmenter = segmenters.create_segmenter(options.segmenter, options.user_dict, hmm=options.jieba_hmm)
  elif options.user_dict:
    raise UsageError("--user_dict needs --chinese_wwm")
  return WorkerContext(options, tokenizer, segmenter)


def run(options):
  """Creates the output files and the stats JSON; returns the stats dict.

  Raises:
    UsageError: bad flags or input (including an input file that yields no instance); no output is left.
  """
  validate(options)
  start = time.time()
  context = create_context(options)
  warning = vocab_case_warning(context.tokenizer.vocab, options.do_lower_case)
  if warning:
    logging.warning("%s", warning)
  stats = collections.Counter()
  read_stats = collections.Counter()
  instances_per_file = [0] * len(options.input_files)
  total_bytes = sum(os.path.getsize(path) for path in options.input_files)
  writers = []
  progress = _Progress(total_bytes, options.progress)
  try:
    for path in options.output_files:
      try:
        writers.append(tfrecord.AtomicRecordWriter(path))
      except OSError as e:
        raise UsageError("--output_file %s: cannot be written (%s)" % (path, e.strerror or e)) from None
    chunks = read_chunks(options.input_files, options.nsp_buffer_documents, read_stats)
    if options.num_workers <= 1:
      results = (process_chunk(chunk, context) for chunk in chunks)
    else:
      results = _ordered_parallel_map(chunks, context, options.num_workers)
    written = 0
    for result in results:
      for record in result.records:
        writers[written % len(writers)].write(record)
        written += 1
      stats.update(result.stats)
      instances_per_file[result.file_index] += len(result.records)
      progress.update(result.num_bytes, written)
    for path, count in zip(options.input_files, instances_per_file):
      if count == 0:
        raise UsageError("--input_file %s yields no training instance (empty, or no line with a token)" % path)
    for writer in writers:
      writer.commit()
  except BaseException:
    for writer in writers:
      writer.abort()
    raise
  finally:
    progress.close()
  stats.update(read_stats)
  summary = _summary(options, stats, instances_per_file, total_bytes, time.time() - start)
  # Readers of --dynamic_masking records draw [MASK] and replacement ids from this vocabulary.
  vocab = context.tokenizer.vocab
  summary["vocab"] = {"file": os.path.abspath(options.vocab_file), "size": len(vocab),
                      "fingerprint": masking.vocab_fingerprint(vocab)}
  _write_json_atomically(options.stats_file, summary)
  return summary


def _summary(options, stats, instances_per_file, total_bytes, seconds):
  keys = ("documents", "empty_documents_skipped", "documents_split", "sentences", "long_lines_split", "tokens",
          "words", "instances", "next_sentence_random", "masked_tokens", "masked_words", "segmenter_fallbacks",
          "decode_errors", "special_tokens_removed", "tokenizer_rust_lines", "tokenizer_python_lines")
  summary = {key: int(stats.get(key, 0)) for key in keys}
  summary["mean_word_length"] = round(stats["tokens"] / max(1, stats["words"]), 4)
  summary["mean_masked_word_length"] = round(stats["masked_tokens"] / max(1, stats["masked_words"]), 4)
  summary["input_bytes"] = total_bytes
  summary["seconds"] = round(seconds, 3)
  own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
  # CPU of this process (reading, writing, and all the work when num_workers=1) and of finished workers.
  summary["cpu_seconds_main"] = round(own.ru_utime + own.ru_stime, 3)
  summary["cpu_seconds_workers"] = round(children.ru_utime + children.ru_stime, 3)
  summary["input_kb_per_second"] = round(total_bytes / 1e3 / max(seconds, 1e-9), 1)
  summary["instances_per_file"] = dict(zip(options.input_files, instances_per_file))
  summary["output_files"] = list(options.output_files)
  summary["settings"] = {key: getattr(options, key) for key in (
      "masking_mode", "segmenter", "user_dict", "do_lower_case", "max_seq_length", "max_predictions_per_seq",
      "random_seed", "dupe_factor", "masked_lm_prob", "short_seq_prob", "nsp", "dynamic_masking",
      "per_token_decision", "num_workers", "nsp_buffer_documents", "jieba_hmm")}
  return summary


def _write_json_atomically(path, data):
  temp_path = path + ".tmp"
  with open(temp_path, "w", encoding="utf-8") as writer:
    json.dump(data, writer, indent=2, ensure_ascii=False, sort_keys=True)
    writer.write("\n")
  os.replace(temp_path, path)
