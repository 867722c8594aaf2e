"""Output shards that are built, committed and verified one by one (--num_output_shards N).

A sharded run first scans the input for its chunk boundaries (byte offsets; the documents are not kept), then
gives each shard a contiguous run of chunks, about 1/N of the input bytes. A shard's records are those of its
chunks in chunk order, so a shard depends only on its own chunks: it can be built by any process, on any
machine (the Beam runner, wwm/beam_runner.py, builds one shard per work item), and the bytes are the same.

Each shard is committed on its own: its records go to `NAME.tmp`, which is renamed to its final name, and only
then its manifest `NAME.manifest.json` is written (atomically). The manifest records what the shard was made
from (input files with size and modification time, the flags that change records, the seed, the vocabulary,
the shard's chunks) and what it holds (record count, sha256, counters). A rerun keeps a shard whose manifest
matches the run and whose bytes match the manifest's hash, and builds the others: after a kill -9 only the
missing shards are made, and the final bytes are those of an uninterrupted run.
"""
import collections
import hashlib
import json
import os

from bert import file_io

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "chinese-bert-wwm pretraining shard 1"
# Options that change the records (not num_workers, progress or the fast paths, which give the same bytes).
RECORD_SETTINGS = ("masking_mode", "segmenter", "user_dict", "do_lower_case", "max_seq_length",
                   "max_predictions_per_seq", "random_seed", "dupe_factor", "masked_lm_prob", "short_seq_prob", "nsp",
                   "dynamic_masking", "per_token_decision", "nsp_buffer_documents", "jieba_hmm")

# A chunk of the input, located by byte offsets in its file (the unit of work and of determinism).
ChunkSpec = collections.namedtuple("ChunkSpec", ["file_index", "path", "first_document_index", "num_documents",
                                                 "start", "end", "num_bytes"])
# One output shard to build: its chunks and the manifest key its result must carry.
ShardTask = collections.namedtuple("ShardTask", ["index", "path", "chunks", "key"])


def manifest_path(shard_path):
  return shard_path + MANIFEST_SUFFIX


def assign_chunks(chunks, num_shards):
  """Splits the chunks, in order, into `num_shards` contiguous runs of about equal input bytes.

  A chunk goes to the shard its first byte falls into (of the concatenated input); a shard can be empty when
  one chunk is larger than 1/num_shards of the input.

  Returns:
    list of `num_shards` lists of ChunkSpec.
  """
  total = sum(chunk.num_bytes for chunk in chunks)
  shards = [[] for _ in range(num_shards)]
  offset = 0
  for chunk in chunks:
    shards[min(num_shards - 1, offset * num_shards // max(total, 1))].append(chunk)
    offset += chunk.num_bytes
  return shards


def number_documents(scans):
  """Joins per-file chunk lists (documents numbered from 0 in each file) into one list numbered over all files.

  Args:
    scans: list, in input order, of the ChunkSpec lists of each file (pipeline.scan_file).

  Returns:
    list of ChunkSpec whose first_document_index counts from the first document of the first file.
  """
  numbered = []
  offset = 0
  for specs in scans:
    for spec in specs:
      numbered.append(spec._replace(first_document_index=spec.first_document_index + offset))
    offset += sum(spec.num_documents for spec in specs)
  return numbered


def input_identity(paths):
  """(path, size, modification time in ns) of each input: a changed file invalidates the shards made from it."""
  identity = []
  for path in paths:
    if "://" in path:
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      info = tf.io.gfile.stat(path)
      identity.append([path, info.length, info.mtime_nsec])
    else:
      info = os.stat(path)
      identity.append([path, info.st_size, info.st_mtime_ns])
  return identity


def run_key(options, description):
  """What every shard of a run shares: settings that change records, the inputs and the vocabulary.

  Args:
    options: pipeline.Options.
    description: pipeline.describe_run's dict (its vocabulary fingerprint is used).
  """
  return {"settings": {name: getattr(options, name) for name in RECORD_SETTINGS},
          "inputs": input_identity(options.input_files), "vocab_fingerprint": description["vocab"]["fingerprint"],
          "num_shards": len(options.output_files)}


def shard_tasks(options, chunks, base_key):
  """The ShardTasks of a run (JSON-normalised keys, so they compare equal to a manifest read back)."""
  tasks = []
  for index, (path, assigned) in enumerate(zip(options.output_files, assign_chunks(chunks, len(options.output_files)))):
    key = dict(base_key, shard=index, chunks=[[c.file_index, c.first_document_index, c.start, c.end]
                                              for c in assigned])
    tasks.append(ShardTask(index, path, assigned, json.loads(json.dumps(key))))
  return tasks


def read_manifest(shard_path):
  """The manifest of a shard, or None when it is missing or unreadable (the shard is then rebuilt)."""
  try:
    with file_io.open_file(manifest_path(shard_path)) as reader:
      manifest = json.loads(reader.read().decode("utf-8"))
  except (OSError, ValueError):
    return None
  return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def file_sha256(path):
  digest = hashlib.sha256()
  with file_io.open_file(path) as reader:
    for block in iter(lambda: reader.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def complete_manifest(task):
  """The manifest of `task`'s shard if that shard is complete and made exactly as this run would make it."""
  manifest = read_manifest(task.path)
  if manifest is None or manifest.get("key") != task.key or not file_io.exists(task.path):
    return None
  try:
    if file_sha256(task.path) != manifest.get("sha256"):
      return None
  except OSError:
    return None
  return manifest


class HashingWriter(object):
  """Wraps a byte writer: appends framed TFRecords to it and hashes the bytes written."""

  def __init__(self, writer):
    self._writer = writer
    self.digest = hashlib.sha256()
    self.num_records = 0
    self.num_bytes = 0

  def write(self, framed, num_records=1):
    """Appends `framed`: one framed record, or `num_records` of them concatenated."""
    self._writer.write(framed)
    self.digest.update(framed)
    self.num_records += num_records
    self.num_bytes += len(framed)


def merge_manifests(manifests, num_input_files):
  """(counters, instances per input file) of a run, summed over its shards' manifests."""
  stats = collections.Counter()
  instances_per_file = [0] * num_input_files
  for manifest in manifests:
    stats.update(manifest["stats"])
    for file_index, count in manifest["instances_per_file"].items():
      instances_per_file[int(file_index)] += count
  return stats, instances_per_file


def write_shard(task, results, writer, commit):
  """Writes the records of `results` (ChunkResults of task.chunks, in order), commits, then writes the manifest.

  Args:
    task: ShardTask.
    results: iterable of ChunkResult (framed records), one per chunk of the task, in chunk order.
    writer: HashingWriter over the shard's temporary file.
    commit: callable renaming the temporary to the final name (after flushing it to disk).

  Returns:
    The manifest (dict).
  """
  stats = collections.Counter()
  instances_per_file = collections.Counter()
  for result in results:
    writer.write(result.records, result.num_records)
    stats.update(result.stats)
    instances_per_file[str(result.file_index)] += result.num_records
  commit()
  manifest = {"format": MANIFEST_FORMAT, "key": task.key, "records": writer.num_records,
              "bytes": writer.num_bytes, "sha256": writer.digest.hexdigest(), "stats": dict(stats),
              "instances_per_file": dict(instances_per_file)}
  # The manifest comes after the shard's final name: a shard without one is rebuilt by the next run.
  file_io.write_bytes_atomically(manifest_path(task.path), (json.dumps(
      manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
  return manifest
