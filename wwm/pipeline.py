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

Faults. Every output path is checked (distinct, not an input, not a directory) and opened under its temporary
name before any work; final names appear only when everything is written. A bad path, a full disk or a dead
worker is one error line (UsageError / RunAborted); SIGTERM and Ctrl-C stop the run (Terminated); in all
cases the workers are stopped and the temporaries removed. Workers also die with the main process, even when
it is killed with SIGKILL (which leaves only `.tmp` files, replaced by the next run).
"""
import collections
import concurrent.futures
import ctypes
import gc
import json
import logging
import multiprocessing
import os
import random
import re
import resource
import signal
import sys
import threading
import time

import tokenization
from bert import file_io
from bert import file_patterns
from bert.errors import UsageError
from wwm import alignment
from wwm import fast_records
from wwm import instances as instances_lib
from wwm import masking
from wwm import record_schema as schema
from wwm import record_transport
from wwm import shards
from wwm import tfrecord

# A document longer than this many characters is cut into several (counted), so no single document can
# make a chunk unbounded.
MAX_DOCUMENT_CHARS = 1000000
# A chunk also closes after this many bytes of text, whatever its document count.
MAX_CHUNK_BYTES = 4 << 20
PROGRESS_LOG_SECONDS = 30.0
# A worker checks this often whether its parent is gone (fallback where prctl(PR_SET_PDEATHSIG) is missing).
PARENT_WATCHDOG_SECONDS = 1.0
# While waiting for a chunk, the main process checks this often for SIGTERM and for a dead worker.
WAIT_TICK_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
# Tokens every instance is built with ([CLS] A [SEP] B [SEP], [MASK] for masked positions).
REQUIRED_TOKENS = (tokenization.CLS_TOKEN, tokenization.SEP_TOKEN, tokenization.MASK_TOKEN)
# Without --stats_file the stats JSON is NAME.stats.json beside the first output NAME (unsharded name).
STATS_SUFFIX = ".stats.json"
_SHARD_NAME_RE = re.compile(r"(.+)-\d{5}-of-\d{5}\Z")

Options = collections.namedtuple("Options", [
    "input_files", "output_files", "stats_file", "vocab_file", "do_lower_case", "masking_mode", "segmenter",
    "user_dict", "max_seq_length", "max_predictions_per_seq", "random_seed", "dupe_factor", "masked_lm_prob",
    "short_seq_prob", "nsp", "dynamic_masking", "per_token_decision", "num_workers", "nsp_buffer_documents",
    "fast_tokenizer", "progress", "jieba_hmm", "fast_segmenter",
    "fast_records",  # build instances and records in wwm/_fast_records.c where it is built (same bytes)
    "sharded",  # output_files are the shards of --num_output_shards (built one by one, see wwm/shards.py)
], defaults=(True, True, True, False))



class RunAborted(Exception):
  """The run stopped for a reason that is not a bad flag (a worker process died); nothing was written.

  Like UsageError, its message is the single line shown to the user.
  """


class Terminated(BaseException):
  """SIGTERM or SIGINT (Ctrl-C) arrived during run(); raised in the main thread once the run is at a safe
  point, and then cleaned up after like any error.

  A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way can swallow it.

  Attributes:
    exit_code: 128 + the signal number, as a shell reports a process killed by that signal.
  """

  def __init__(self, signum):
    name = signal.Signals(signum).name + (" (Ctrl-C)" if signum == signal.SIGINT else "")
    super(Terminated, self).__init__("terminated by %s; temporary files removed, no output written" % name)
    self.exit_code = 128 + signum


Chunk = collections.namedtuple("Chunk", ["file_index", "first_document_index", "documents", "num_bytes"])
# records: the chunk's framed TFRecords concatenated (one bytes object: a worker sends, and the writer writes, a
# chunk at once instead of one object per record); tfrecord.split_framed gives them one by one.
ChunkResult = collections.namedtuple("ChunkResult", ["file_index", "records", "num_records", "stats",
                                                     "num_bytes"])


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


def output_targets(options):
  """(flag, path) of every file the run writes. A new output (a sidecar) must be added here, so that it is
  checked by check_output_paths and opened with the others before any work starts."""
  targets = [("--output_file", path) for path in options.output_files]
  if options.sharded:
    targets += [("--output_file", shards.manifest_path(path)) for path in options.output_files]
  return targets + [("--stats_file", options.stats_file)]


def _same_file(first, second):
  """Whether two paths name one file: the same path after resolving symlinks, "..", relative names, or (for
  files that exist) the same inode, which also catches hard links and bind mounts."""
  if os.path.realpath(first) == os.path.realpath(second):
    return True
  try:
    return os.path.samefile(first, second)
  except OSError:  # one of them does not exist (yet)
    return False


def check_output_paths(options):
  """Raises UsageError unless every file the run writes is distinct from the others and from every input.

  Checked before any work starts. An output that is an input would replace the corpus (or the vocabulary) by
  records; a file named twice would get two writers on one temporary file, and a corrupt result. Temporary
  names count too: an --output_file "x.tmp" is where "x" is written until it is complete.
  """
  inputs = [("--input_file", path) for path in options.input_files] + [("--vocab_file", options.vocab_file)]
  if options.user_dict:
    inputs.append(("--user_dict", options.user_dict))
  written = []  # (name written, flag, output path): final names and their temporaries
  for flag, path in output_targets(options):
    if os.path.isdir(path) or path.endswith(os.sep):
      raise UsageError("%s %s is a directory; give a file name" % (flag, path))
    for name in (path, tfrecord.temporary_path(path)):
      role = "" if name == path else " (its temporary file %s)" % name
      for input_flag, input_path in inputs:
        if _same_file(name, input_path):
          raise UsageError("%s %s%s is the %s %s: writing it would destroy that input" %
                           (flag, path, role, input_flag, input_path))
      for other_name, other_flag, other_path in written:
        if not _same_file(name, other_name):
          continue
        if name == path and other_name == other_path:
          if (flag, path) == (other_flag, other_path):
            raise UsageError("%s %s is given twice; each output needs its own name" % (flag, path))
          raise UsageError("%s %s and %s %s are the same file; each output needs its own name" %
                           (other_flag, other_path, flag, path))
        raise UsageError("%s %s and %s %s collide: both write %s (an output is written as NAME.tmp until it "
                         "is complete); choose other names" % (other_flag, other_path, flag, path, name))
      written.append((name, flag, path))


def check_vocab(vocab, vocab_file):
  """Raises UsageError naming the file if the vocabulary lacks a token the instances are built with."""
  missing = [token for token in REQUIRED_TOKENS if token not in vocab]
  if missing:
    raise UsageError("vocab file %s has no %s token%s (pretraining instances need %s); is it a BERT WordPiece "
                     "vocabulary?" % (vocab_file, ", ".join(missing), "s" if len(missing) > 1 else "",
                                      ", ".join(REQUIRED_TOKENS)))


_LATIN_LETTER = re.compile("[a-z]")


def vocab_case_warning(vocab, do_lower_case):
  """A warning line when the vocabulary's casing contradicts do_lower_case, else None."""
  # A token is Latin when its lower-cased form has a letter a-z (one regex call per token, not one per char).
  latin = [t for t in vocab if _LATIN_LETTER.search(t.lower()) and not t.startswith("[")]
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
    with _open_input(path) as reader:
      for chunk, _, _ in file_chunks(reader, file_index, document_index, nsp_buffer_documents, stats):
        document_index += len(chunk.documents)
        yield chunk
  stats["documents"] = document_index


def _open_input(path):
  try:
    return file_io.open_file(path)
  except OSError as e:
    raise UsageError("--input_file %s: cannot be read (%s)" % (path, e.strerror or e))


def scan_file(path, file_index, nsp_buffer_documents):
  """The chunk boundaries of one input file, its documents numbered from 0 (shards.number_documents joins
  the files); the documents themselves are not kept.

  Returns:
    list of shards.ChunkSpec.
  """
  specs = []
  with _open_input(path) as reader:
    for chunk, start, end in file_chunks(reader, file_index, 0, nsp_buffer_documents, collections.Counter()):
      specs.append(shards.ChunkSpec(file_index, path, chunk.first_document_index, len(chunk.documents), start, end,
                                    chunk.num_bytes))
  return specs


def load_chunk(spec, nsp_buffer_documents, stats):
  """Reads the Chunk that `spec` (a shards.ChunkSpec) locates; counts decode_errors and documents_split.

  Raises:
    RunAborted: the file no longer has that chunk there (it changed since it was scanned).
  """
  with _open_input(spec.path) as reader:
    reader.seek(spec.start)
    for chunk, _, end in file_chunks(reader, spec.file_index, spec.first_document_index, nsp_buffer_documents,
                                     stats, spec.start, spec.end):
      if end == spec.end and len(chunk.documents) == spec.num_documents:
        return chunk
      break
  raise RunAborted("--input_file %s changed during the run (bytes %d-%d are no longer the chunk scanned "
                   "there); complete shards are kept, rerun to build the others" % (spec.path, spec.start, spec.end))


def file_chunks(reader, file_index, first_document_index, nsp_buffer_documents, stats, start=0, end=None):
  """The Chunks of one binary file from byte `start` (a chunk boundary) up to byte `end` (None: its end).

  A chunk closes after `nsp_buffer_documents` documents or MAX_CHUNK_BYTES bytes, always right after a
  document ends, so every chunk starts with nothing pending: reading from a chunk's start offset gives exactly
  that chunk again (wwm/shards.py plans shards by these offsets).

  Yields:
    (Chunk, start offset, end offset).
  """
  documents, current, current_chars = [], [], 0
  document_index = first_document_index
  chunk_start = position = start
  for raw in reader:
    position += len(raw)
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
      current, current_chars = [], 0
      if len(documents) >= nsp_buffer_documents or position - chunk_start >= MAX_CHUNK_BYTES:
        yield Chunk(file_index, document_index, documents, position - chunk_start), chunk_start, position
        document_index += len(documents)
        documents, chunk_start = [], position
        if end is not None and position >= end:
          return
  if current:
    documents.append(current)
  if documents or position > chunk_start:
    yield Chunk(file_index, document_index, documents, position - chunk_start), chunk_start, position


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
        cls_id=vocab[tokenization.CLS_TOKEN], sep_id=vocab[tokenization.SEP_TOKEN],
        mask_id=vocab[tokenization.MASK_TOKEN],
        candidates=masking.replacement_candidates(vocab), per_token_decision=options.per_token_decision,
        dynamic_masking=options.dynamic_masking)
    self.encoder = tfrecord.ExampleEncoder(schema.DYNAMIC_MASKING_FEATURES if options.dynamic_masking
                                           else schema.STATIC_MASKING_FEATURES)
    # Tokens that only the pipeline may place: literal occurrences in the text are removed (and counted).
    structural = (tokenization.CLS_TOKEN, tokenization.SEP_TOKEN, tokenization.MASK_TOKEN, tokenization.PAD_TOKEN)
    self.structural_ids = frozenset(vocab[t] for t in structural if t in vocab)
    self.small_ids = max(vocab.values()) < tfrecord.SMALL_LIMIT and options.max_seq_length <= tfrecord.SMALL_LIMIT
    # Positions fit one varint byte up to a length of 128, the usual one (then their feature needs no lookup).
    self.byte_positions = options.max_seq_length <= 128
    # Longer lines are split (between words where possible) so that every sentence fits an instance.
    self.sentence_limit = instances_lib.max_sentence_tokens(options.max_seq_length, options.nsp)
    # None: the Python code builds the records (--nofast_records, or the extension is not built).
    self.fast_records_settings = self.fast_token_tables = None
    if options.fast_records and fast_records.available():
      self.fast_records_settings = fast_records.settings(self.config)
      self.fast_token_tables = fast_records.token_tables(self.classes)
    self._mask_features = {}
    self._weight_features = {}
    self._segment_features = {}

  def input_mask_feature(self, length):
    feature = self._mask_features.get(length)
    if feature is None:
      pad = self.options.max_seq_length - length
      feature = self._mask_features[length] = tfrecord.int64_feature([1] * length + [0] * pad)
    return feature

  def segment_ids_feature(self, segment_ids):
    """[0] * (len A + 2) + [1] * (len B + 1), padded: cached by its length and number of ones."""
    key = (len(segment_ids), segment_ids.count(1))
    feature = self._segment_features.get(key)
    if feature is None:
      padded = segment_ids + [0] * (self.options.max_seq_length - len(segment_ids))
      feature = self._segment_features[key] = tfrecord.byte_int64_feature(padded)
    return feature

  def weights_feature(self, count):
    feature = self._weight_features.get(count)
    if feature is None:
      pad = self.options.max_predictions_per_seq - count
      feature = self._weight_features[count] = tfrecord.float_feature([1.0] * count + [0.0] * pad)
    return feature


_CONTEXT = None


def set_worker_context(context):
  """Installs the context used by process_chunk in this process."""
  global _CONTEXT
  _CONTEXT = context


def _init_worker(context, parent_pid):
  """Pool initializer: ties the worker's life to its parent, leaves signals to the parent, installs context."""
  # Ctrl-C reaches the whole process group and SIGTERM may too: the parent handles both (it stops the workers
  # and removes its temporaries). A worker stopped by the parent (or anyone) with SIGTERM just ends.
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  signal.signal(signal.SIGTERM, signal.SIG_DFL)
  _exit_with_parent(parent_pid)
  set_worker_context(context)


def _exit_with_parent(parent_pid):
  """Makes this worker end when `parent_pid` ends, however it ends (kill -9 included).

  An orphaned worker would otherwise wait forever for work: it holds (through fork) the write end of the very
  task queue it reads, so it never sees end-of-file, and it keeps its ~100 MB. On Linux the kernel kills it
  (prctl PR_SET_PDEATHSIG); a watchdog thread that notices the re-parenting covers other systems and a parent
  that died before prctl took effect.
  """
  if sys.platform.startswith("linux"):
    try:
      ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no usable libc: the watchdog alone
      pass
  if os.getppid() != parent_pid:
    os._exit(1)  # pylint: disable=protected-access
  threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _watch_parent(parent_pid):
  while os.getppid() == parent_pid:
    time.sleep(PARENT_WATCHDOG_SECONDS)
  os._exit(1)  # pylint: disable=protected-access


def tokenized_documents(chunk, context, stats):
  """The chunk's documents as token ids: list of (document index, list of the ids of each non-empty line).

  Literal [CLS]/[SEP]/[MASK]/[PAD] are removed (tokenization.py keeps them whole; inside a sequence they would
  fake structure), lines left without a token are dropped, documents left without a line are skipped; all
  counted in `stats`.
  """
  lines = [line for document in chunk.documents for line in document]
  tokenized = iter(context.tokenizer.ids_of_lines(lines))
  special_ids = context.structural_ids
  result = []
  for offset, document in enumerate(chunk.documents):
    kept = []
    for _ in document:
      ids = next(tokenized)
      if not special_ids.isdisjoint(ids):
        ordinary = [token_id for token_id in ids if token_id not in special_ids]
        stats["special_tokens_removed"] += len(ids) - len(ordinary)
        ids = ordinary
      if ids:
        kept.append(ids)
        stats["tokens"] += len(ids)
    stats["sentences"] += len(kept)
    if kept:
      result.append((chunk.first_document_index + offset, kept))
    else:
      stats["empty_documents_skipped"] += 1
  return result


def prepare_documents(chunk, context, stats):
  """Tokenizes and segments the chunk's documents once: list of (document index, sentences)."""
  limit = context.sentence_limit
  mode = context.options.masking_mode
  segmenter = context.segmenter if mode == masking.MASK_CHINESE_WORDS else None
  prepared = []
  for document_index, lines in tokenized_documents(chunk, context, stats):
    sentences = []
    next_word = 0
    for ids in lines:
      if mode == masking.MASK_TOKENS:
        word_ids = list(range(next_word, next_word + len(ids)))
        next_word += len(ids)
      else:
        word_ids, next_word = alignment.assign_word_ids(ids, context.classes, segmenter, next_word, stats)
      if len(ids) > limit:
        stats["long_lines_split"] += 1
        sentences.extend(instances_lib.split_long_sentence(ids, word_ids, limit))
      else:
        sentences.append((ids, word_ids))
    stats["words"] += next_word
    prepared.append((document_index, sentences))
  return prepared


def instance_seeds(options, document_indices, first_document_index):
  """The seed of every random.Random a chunk's instances are drawn from, in the order they are used.

  With NSP one per (dupe round, document), dupe-major; packing draws a whole dupe round from one.
  """
  if options.nsp:
    return ["%d:%d:%d" % (options.random_seed, document_index, dupe)
            for dupe in range(options.dupe_factor) for document_index in document_indices]
  return ["%d:packed:%d:%d" % (options.random_seed, first_document_index, dupe)
          for dupe in range(options.dupe_factor)]


def _shuffle(items, options, chunk):
  """The chunk's instances (or their records) in their seeded shuffled order, in place."""
  random.Random("%d:shuffle:%d" % (options.random_seed, chunk.first_document_index)).shuffle(items)


def build_instances(chunk, context, stats):
  """All instances of a chunk over the dupe_factor rounds, in their (seeded) shuffled order."""
  options = context.options
  prepared = prepare_documents(chunk, context, stats)
  if not prepared:
    return []
  documents = [sentences for _, sentences in prepared]
  result = []
  seeds = instance_seeds(options, [document_index for document_index, _ in prepared], chunk.first_document_index)
  for index, seed in enumerate(seeds):
    rng = random.Random(seed)
    if options.nsp:
      result.extend(instances_lib.create_instances_from_document(documents, index % len(documents),
                                                                 context.config, rng))
    else:
      result.extend(instances_lib.create_packed_instances(documents, context.config, rng))
  _shuffle(result, options, chunk)
  return result


def build_records(chunk, context, stats):
  """The chunk's framed records in their shuffled order, from the C extension or the Python code (same bytes).

  Counts instances, masked tokens and words and random next sentences into `stats`.
  """
  if context.fast_records_settings is None:
    built = build_instances(chunk, context, stats)
    # Framed here (length, checksums), not in the writer: the main process, which writes for every worker,
    # then only copies bytes.
    records = [tfrecord.frame_record(encode_instance(instance, context)) for instance in built]
    stats["masked_tokens"] += sum(len(instance.masked_lm_positions) for instance in built)
    stats["masked_words"] += sum(instance.num_masked_words for instance in built)
    stats["next_sentence_random"] += sum(instance.next_sentence_label for instance in built)
  else:
    options = context.options
    documents = tokenized_documents(chunk, context, stats)
    records = []
    if documents:
      flat = fast_records.aligned_chunk(documents, options.masking_mode, context.segmenter,
                                        context.fast_token_tables, context.sentence_limit, stats)
      seeds = instance_seeds(options, flat.document_indices, chunk.first_document_index)
      records, counts = fast_records.build_records(flat, seeds, context.fast_records_settings, options.nsp)
      stats.update(counts)
      _shuffle(records, options, chunk)
  stats["instances"] += len(records)
  return records


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
    # No masked_lm_* features: readers then know the masks are theirs to draw (bert/pretraining/data.py).
    word_ids = instances_lib.renumber_words(instance.word_ids)
    features = [
        (schema.INPUT_IDS, int64_feature(instance.input_ids + pad, small)),
        (schema.INPUT_MASK, context.input_mask_feature(length)),
        (schema.SEGMENT_IDS, context.segment_ids_feature(instance.segment_ids)),
        (schema.NEXT_SENTENCE_LABELS, int64_feature([instance.next_sentence_label])),
        (schema.WORD_IDS, int64_feature(word_ids + [-1] * len(pad))),
    ]
    return context.encoder.encode(features)
  num_masked = len(instance.masked_lm_positions)
  positions_feature = tfrecord.byte_int64_feature if context.byte_positions else int64_feature
  lm_pad = [0] * (options.max_predictions_per_seq - num_masked)
  features = [
      (schema.INPUT_IDS, int64_feature(instance.input_ids + pad, small)),
      (schema.INPUT_MASK, context.input_mask_feature(length)),
      (schema.SEGMENT_IDS, context.segment_ids_feature(instance.segment_ids)),
      (schema.MASKED_LM_POSITIONS, positions_feature(instance.masked_lm_positions + lm_pad)),
      (schema.MASKED_LM_IDS, int64_feature(instance.masked_lm_ids + lm_pad, small)),
      (schema.MASKED_LM_WEIGHTS, context.weights_feature(num_masked)),
      (schema.NEXT_SENTENCE_LABELS, int64_feature([instance.next_sentence_label])),
  ]
  return context.encoder.encode(features)


def process_chunk(chunk, context=None):
  """Worker entry point: a Chunk -> ChunkResult with serialized records and counters."""
  context = context or _CONTEXT
  stats = collections.Counter()
  fast_before = context.tokenizer.lines_fast
  python_before = context.tokenizer.lines_fallback
  records = build_records(chunk, context, stats)
  stats["tokenizer_rust_lines"] += context.tokenizer.lines_fast - fast_before
  stats["tokenizer_python_lines"] += context.tokenizer.lines_fallback - python_before
  return ChunkResult(chunk.file_index, b"".join(records), len(records), dict(stats), chunk.num_bytes)


def process_spec(spec, context=None):
  """Worker entry point of sharded runs: a shards.ChunkSpec -> ChunkResult (the worker reads the chunk)."""
  context = context or _CONTEXT
  read_stats = collections.Counter()
  chunk = load_chunk(spec, context.options.nsp_buffer_documents, read_stats)
  result = process_chunk(chunk, context)
  read_stats.update(result.stats)
  read_stats["documents"] += len(chunk.documents)
  return result._replace(stats=dict(read_stats))


def _ordered_parallel_map(items, context, num_workers, check=lambda: None, function=None):
  """`function` (default process_chunk, looked up when called) over `items` by this process and
  `num_workers` - 1 forked workers; results in input order.

  The forked workers are kept about two items ahead each: an item goes to them while they hold fewer than two
  unfinished items each, or fewer than twice the item's bytes each; otherwise this process works on it itself,
  after writing the results that are ready. So `num_workers` processes make records, one per core: the
  writer's reading and writing fit between its own items instead of taking turns with a worker on a core (2
  workers and a writer made 2 cores run 3 processes), and only the forked workers' items pay for the hand-over
  (pickling the chunk, wwm/record_transport.py for the records). At most 4 * num_workers results wait to be
  written, so reading never runs far ahead of writing. `check` is called while waiting (it may raise to stop
  the run); a dead worker raises RunAborted. Stopping for any reason kills the workers.
  """
  # Objects that exist now (jieba's ~600k-entry dictionary above all) are inherited by the forked workers;
  # freezing them keeps the garbage collector from writing to (and so copying) their pages in every worker.
  gc.freeze()
  function = function or process_chunk
  forked = num_workers - 1
  channel = record_transport.Channel()
  mp_context = multiprocessing.get_context("fork")
  with concurrent.futures.ProcessPoolExecutor(max_workers=forked, mp_context=mp_context,
                                              initializer=_init_worker, initargs=(context, os.getpid())) as pool:
    workers = []
    pending = collections.deque()  # _Pending, in input order
    try:
      for sequence, item in enumerate(items):
        while pending and pending[0].ready():
          yield _next_result(pending, workers, check)
        queued = [entry for entry in pending if not entry.ready()]
        if len(queued) < 2 * forked or sum(entry.num_bytes for entry in queued) < 2 * forked * item.num_bytes:
          future = pool.submit(_process_and_send, function, item, channel.path_of(sequence))
          pending.append(_Pending(sequence, item.num_bytes, future, None))
          if not workers:
            workers = _forked_workers(pool)
        else:
          pending.append(_Pending(sequence, item.num_bytes, None, function(item, context)))
        if len(pending) >= 4 * num_workers:
          yield _next_result(pending, workers, check)
      while pending:
        yield _next_result(pending, workers, check)
    except concurrent.futures.process.BrokenProcessPool:
      message = _dead_worker_message(workers)  # before _stop_workers kills the others too
      _stop_workers(pool, channel, pending)
      # A SIGTERM or Ctrl-C sent to the whole process group ends the workers too, and the pool may notice
      # their end before this process's own signal is checked: then the signal, not the workers, is the cause.
      check()
      raise RunAborted(message) from None
    except BaseException:  # an error, SIGTERM, Ctrl-C, or the consumer closing this generator
      _stop_workers(pool, channel, pending)
      raise


class _Pending(collections.namedtuple("_Pending", ["sequence", "num_bytes", "future", "result"])):
  """An item of _ordered_parallel_map: sent to the workers (future) or done by this process (result)."""

  def ready(self):
    return self.future is None or self.future.done()


def _process_and_send(function, item, path):
  """In a worker: function(item), its records handed over through `path` (see wwm/record_transport.py)."""
  result = function(item)
  return result._replace(records=record_transport.send(result.records, path))


def _forked_workers(pool):
  """The pool's worker processes, called right after the first submit (which forks them all).

  Also closes this process's copy of the write end of the pool's result pipe, which only the workers write
  to. As long as that copy is open the pool's reader thread never sees end-of-file: a worker killed in the
  middle of sending a result (by the out-of-memory killer, or by _stop_workers) would leave it waiting for the
  rest of the message forever, and the pool's shutdown with it. Without it, the read ends once the workers are
  gone. (Python 3.9-3.13 give no public access to either; missing attributes only lose this protection.)
  """
  writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
  if writer is not None:
    writer.close()
  return list((getattr(pool, "_processes", None) or {}).values())


def _next_result(pending, workers, check):
  """The result of the oldest item in `pending`, which it leaves only once its records are received."""
  oldest = pending[0]
  result = oldest.result if oldest.future is None else _result(oldest.future, workers, check)
  pending.popleft()
  return result


def _result(future, workers, check):
  """future.result(), calling check() meanwhile and noticing a dead worker even if the pool's reader thread
  has not (see _forked_workers)."""
  while True:
    check()
    try:
      result = future.result(timeout=WAIT_TICK_SECONDS)
      return result._replace(records=record_transport.receive(result.records))
    except concurrent.futures.TimeoutError:
      # Workers only end at shutdown, after the last result: one that has ended now has died.
      if any(process.exitcode is not None for process in workers):
        raise concurrent.futures.process.BrokenProcessPool("a worker process died") from None


def _stop_workers(pool, channel, pending):
  """Kills the pool's workers (their results are being thrown away) rather than waiting for their chunks, then
  removes the shared-memory files of the chunks in flight."""
  # Python 3.9-3.13 have no public way to do this; a missing attribute only means waiting for the chunks.
  for process in list((getattr(pool, "_processes", None) or {}).values()):
    process.kill()
  pool.shutdown(wait=True, cancel_futures=True)
  channel.discard(entry.sequence for entry in pending if entry.future is not None)


def _dead_worker_message(workers, timeout=2.0):
  """The error line for a worker that died under the pool (killed, out of memory)."""
  # The pool's thread reaps the dead worker concurrently; until it has, exitcode may still read None.
  deadline = time.time() + timeout
  while time.time() < deadline and not any(
      process.exitcode not in (None, -signal.SIGTERM) for process in workers):
    time.sleep(0.01)
  dead = [process for process in workers if process.exitcode is not None]
  # Once one worker dies, the pool stops the others with SIGTERM: report the one that died first.
  dead.sort(key=lambda process: process.exitcode == -signal.SIGTERM)
  if not dead:
    return "a worker process died unexpectedly; nothing was written"
  code = dead[0].exitcode
  if code < 0:
    try:
      how = "was killed by %s" % signal.Signals(-code).name
    except ValueError:
      how = "was killed by signal %d" % -code
    if code == -signal.SIGKILL:
      how += " (out of memory?)"
  else:
    how = "exited with status %d" % code
  return "worker process %d %s; nothing was written" % (dead[0].pid, how)


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
  check_vocab(tokenizer.vocab, options.vocab_file)
  segmenter = None
  if options.masking_mode == masking.MASK_CHINESE_WORDS:
    segmenter = segmenters.create_segmenter(options.segmenter, options.user_dict, hmm=options.jieba_hmm,
                                            fast=options.fast_segmenter)
  elif options.user_dict:
    raise UsageError("--user_dict needs --chinese_wwm")
  return WorkerContext(options, tokenizer, segmenter)


class _SignalGuard(object):
  """While active (main thread only), SIGTERM or SIGINT makes check() raise Terminated, so that the run's
  cleanup removes the temporaries and stops the workers. The default actions would end the process on the spot
  (SIGTERM) or raise KeyboardInterrupt wherever it happens to be, possibly where it is only printed.

  The handler only takes note: an exception raised from a signal handler appears wherever the main thread
  happens to be, and some of those places print it as "Exception ignored" and go on (os.fork's at-fork hooks,
  __del__ methods). check() is called where raising is safe: for every chunk, and every WAIT_TICK_SECONDS
  while waiting for one. A worker forked before its initializer ran inherits a handler that does no harm.
  """

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self._received = None
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for signum in self.SIGNALS:
        self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *unused_exc_info):
    for signum, previous in self._previous.items():
      signal.signal(signum, previous)
    return False

  def _handle(self, signum, unused_frame):
    self._received = self._received or signum

  def check(self):
    """Raises Terminated if SIGTERM or SIGINT has arrived."""
    if self._received:
      signum, self._received = self._received, None  # once: the cleanup that follows must not be interrupted
      raise Terminated(signum)


def _os_error_text(error, path):
  """"No space left on device" etc., with the file it concerns when that is not `path` or its temporary."""
  text = error.strerror or str(error)
  if error.filename and error.filename not in (path, tfrecord.temporary_path(path)):
    text += ": %s" % error.filename
  return text


def _cannot_write(flag, path, error):
  return UsageError("%s %s: cannot be written (%s); no output written" % (flag, path, _os_error_text(error, path)))


def _open_outputs(options):
  """Opens (flag, AtomicFile) for every output target, creating their directories, before any work starts.

  Raises:
    UsageError: an output cannot be created; the ones already opened are removed again.
  """
  opened = []
  try:
    for flag, path in output_targets(options):
      try:
        writer = tfrecord.AtomicFile(path)  # the records come framed (ChunkResult.records)
      except OSError as e:
        raise UsageError("%s %s: cannot be written (%s)" % (flag, path, _os_error_text(e, path))) from None
      opened.append((flag, writer))
  except BaseException:
    for _, writer in opened:
      writer.abort()
    raise
  return opened


def run(options):
  """Creates the output files and the stats JSON; returns the stats dict.

  Every output path is checked and opened (under its temporary name) before any work; the final names appear
  only once everything is written. On any error, SIGTERM or Ctrl-C the workers are stopped and the temporary
  files removed.

  Raises:
    UsageError: bad flags, paths or input (including an input file that yields no instance), or an output
      that cannot be written (e.g. a full disk); no output is left.
    RunAborted: a worker process died; no output is left.
    Terminated: SIGTERM or SIGINT (only when run in the main thread); no output is left.
  """
  validate(options)
  check_output_paths(options)
  with _SignalGuard() as guard:
    return _run(options, guard)


def _run(options, guard):
  """run() once the flags and paths are checked."""
  start = time.time()
  context = create_context(options)
  warning = vocab_case_warning(context.tokenizer.vocab, options.do_lower_case)
  if warning:
    logging.warning("%s", warning)
  if options.sharded:
    return _run_sharded(options, context, guard, start)
  stats = collections.Counter()
  read_stats = collections.Counter()
  instances_per_file = [0] * len(options.input_files)
  total_bytes = sum(os.path.getsize(path) for path in options.input_files)
  outputs = []
  results = None
  progress = _Progress(total_bytes, options.progress)
  try:
    outputs = _open_outputs(options)
    writers = [writer for flag, writer in outputs if flag == "--output_file"]
    stats_writer = dict(outputs)["--stats_file"]
    chunks = read_chunks(options.input_files, options.nsp_buffer_documents, read_stats)
    if options.num_workers <= 1:
      results = (process_chunk(chunk, context) for chunk in chunks)
    else:
      results = _ordered_parallel_map(chunks, context, options.num_workers, guard.check)
    written = 0
    for result in results:
      guard.check()
      for piece, count in _pieces(result, len(writers)):
        writer = writers[written % len(writers)]
        try:
          writer.write(piece)
        except OSError as e:
          raise _cannot_write("--output_file", writer.path, e) from None
        written += count
      stats.update(result.stats)
      instances_per_file[result.file_index] += result.num_records
      progress.update(result.num_bytes, written)
    guard.check()
    _check_every_file_yields(options, instances_per_file)
    stats.update(read_stats)
    summary = finish_summary(options, describe_run(options, context), stats, instances_per_file, start)
    try:
      stats_writer.write(stats_text(summary).encode("utf-8"))
    except OSError as e:
      raise _cannot_write("--stats_file", stats_writer.path, e) from None
    # All data reaches the disk (where a full disk may still show) before the first final name appears.
    for flag, writer in outputs:
      try:
        writer.close()
      except OSError as e:
        raise _cannot_write(flag, writer.path, e) from None
    # No check() from here on: a SIGTERM now lets the run finish its renames (all outputs, or none, appear).
    for flag, writer in outputs:
      try:
        writer.commit()
      except OSError as e:
        raise _cannot_write(flag, writer.path, e) from None
  except BaseException:
    if results is not None:
      results.close()  # stops the workers
    for _, writer in outputs:
      writer.abort()
    raise
  finally:
    progress.close()
  return summary


def _check_every_file_yields(options, instances_per_file):
  for path, count in zip(options.input_files, instances_per_file):
    if count == 0:
      raise UsageError("--input_file %s yields no training instance (empty, or no line with a token)" % path)


def _pieces(result, num_outputs):
  """(bytes, number of records) to write in turn: one output takes a chunk's records at once, several take
  them record by record (round-robin)."""
  if num_outputs == 1:
    return [(result.records, result.num_records)]
  return ((record, 1) for record in tfrecord.split_framed(result.records))


def describe_run(options, context):
  """What the stats JSON says of a run besides its counters: the segmenter that ran and the vocabulary.

  Computed once per run (the fingerprint hashes the whole vocabulary); a small dict, so the Beam runner passes
  it to its steps instead of loading the tokenizer and segmenter again there.
  """
  vocab = context.tokenizer.vocab
  return {
      # Which code segmented (the C segmenter, rjieba's path or jieba itself; the words are the same).
      "segmenter_implementation": context.segmenter.implementation if context.segmenter else None,
      # Which code built the instances and records (the bytes are the same).
      "records_implementation": "python" if context.fast_records_settings is None else "c",
      # Readers of --dynamic_masking records draw [MASK] and replacement ids from this vocabulary.
      "vocab": {"file": os.path.abspath(options.vocab_file), "size": len(vocab),
                "fingerprint": masking.vocab_fingerprint(vocab)},
  }


def finish_summary(options, description, stats, instances_per_file, start):
  """The stats JSON of a run: counters, settings and the run's description (describe_run)."""
  total_bytes = sum(size for _, size, _ in shards.input_identity(options.input_files))
  summary = _summary(options, stats, instances_per_file, total_bytes, time.time() - start)
  summary.update(description)
  return summary


def stats_text(summary):
  return json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def plan_shards(options, description):
  """The ShardTasks of a sharded run: scans the inputs for their chunks and splits them over the shards."""
  scans = [scan_file(path, index, options.nsp_buffer_documents) for index, path in enumerate(options.input_files)]
  return shards.shard_tasks(options, shards.number_documents(scans), shards.run_key(options, description))


def _run_sharded(options, context, guard, start):
  """Builds the shards that are not complete yet, one by one, each committed with its manifest."""
  description = describe_run(options, context)
  tasks = plan_shards(options, description)
  manifests = {}
  for task in tasks:
    manifest = shards.complete_manifest(task)
    if manifest is not None:
      manifests[task.index] = manifest
  todo = [task for task in tasks if task.index not in manifests]
  if manifests:
    logging.info("keeping %d complete shard(s) made by an earlier run with these inputs and flags; building %d",
                 len(manifests), len(todo))
  specs = [spec for task in todo for spec in task.chunks]
  progress = _Progress(sum(spec.num_bytes for spec in specs), options.progress)
  results = writer = None
  try:
    if options.num_workers <= 1:
      results = (process_spec(spec, context) for spec in specs)
    else:
      results = _ordered_parallel_map(specs, context, options.num_workers, guard.check, function=process_spec)
    for task in todo:
      writer = _open_shard(task.path)
      manifests[task.index] = _build_shard(task, results, writer, guard, progress)
      writer = None
  except BaseException:
    if results is not None:
      results.close()  # stops the workers
    if writer is not None:
      writer.abort()
    raise
  finally:
    progress.close()
  stats, instances_per_file = shards.merge_manifests(manifests.values(), len(options.input_files))
  _check_every_file_yields(options, instances_per_file)
  summary = finish_summary(options, description, stats, instances_per_file, start)
  summary["shards"] = {"kept": len(tasks) - len(todo), "built": len(todo),
                       "records": [manifests[task.index]["records"] for task in tasks]}
  try:
    file_io.write_text_atomically(options.stats_file, stats_text(summary))
  except OSError as e:
    raise _cannot_write("--stats_file", options.stats_file, e) from None
  return summary


def _open_shard(path):
  try:
    return tfrecord.AtomicFile(path)
  except OSError as e:
    raise UsageError("--output_file %s: cannot be written (%s)" % (path, _os_error_text(e, path))) from None


def _build_shard(task, results, writer, guard, progress):
  """Writes one shard from the next len(task.chunks) results; returns its manifest."""
  def shard_results():
    written = 0
    for _ in task.chunks:
      guard.check()
      result = next(results)
      written += result.num_records
      progress.update(result.num_bytes, written)
      yield result

  try:
    return shards.write_shard(task, shard_results(), shards.HashingWriter(writer), writer.commit)
  except OSError as e:
    raise UsageError("--output_file %s: cannot be written (%s); the shards completed before it are kept, rerun "
                     "to build the rest" % (task.path, _os_error_text(e, task.path))) from None


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
  # CPU of this process (reading, writing, and its share of the chunks: all of them when num_workers=1) and of
  # the forked workers.
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

