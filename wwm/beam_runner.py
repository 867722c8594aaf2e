"""create_pretraining_data.py --runner=beam: the same shards, built by an Apache Beam pipeline.

    input files -> Scan (one file per work item: chunk offsets) -> Plan (number the documents over all files,
    split the chunks over the shards) -> Reshuffle -> BuildShard (one shard per work item: read its chunks,
    make the records exactly as the local runner does, write NAME.tmp-<unique>, rename, write the manifest)
    -> Stats (the stats JSON)

A shard depends only on its own chunks (wwm/shards.py), so the files are byte-identical to `--runner=local`
with the same inputs, flags, seed and --num_output_shards, whichever runner, machine or retry builds them. A
shard is written under a unique temporary name and renamed only when complete: a failed or retried work item
never leaves a partial shard under its final name, and a shard that an earlier run (local or Beam) completed
is kept. The work parallelises over shards, so give at least as many shards as workers.

Paths may be local or on any file system TensorFlow's gfile reads (gs://...): every worker must see the
inputs, the vocabulary and the output directory.
"""
import json
import logging
import os
import shlex
import tempfile
import time

from bert import file_io
from bert.errors import UsageError
from wwm import pipeline
from wwm import shards
from wwm import tfrecord


def _import_beam():
  try:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top
    from apache_beam.options import pipeline_options  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UsageError("--runner=beam needs Apache Beam: install the [beam] extra (pip install -e '.[beam]', "
                     "or 'chinese-bert-wwm[beam]')") from None
  return beam, pipeline_options


class _ShardFile(object):
  """A shard written under a unique temporary name and renamed to its final name by commit()."""

  def __init__(self, path):
    self.path = path
    self.temp_path = file_io.temporary_path(path)
    if "://" not in path:
      tfrecord.make_parent_directory(path)
    self._file = file_io.open_file(self.temp_path, "wb")

  def write(self, data):
    self._file.write(data)

  def commit(self):
    self._file.close()
    file_io.replace(self.temp_path, self.path)

  def abort(self):
    try:
      self._file.close()
    except OSError:
      pass
    try:
      file_io.remove_if_present(self.temp_path)
    except OSError as e:  # the error being handled matters more
      logging.warning("cannot remove temporary file %s: %s", self.temp_path, e)


def _local_copy(path):
  """`path` itself if local, else a copy in a local temporary directory (the tokenizer reads local files)."""
  if "://" not in path:
    return path
  local = os.path.join(tempfile.mkdtemp(prefix="bert_vocab_"), os.path.basename(path))
  with file_io.open_file(path) as reader, open(local, "wb") as writer:
    writer.write(reader.read())
  return local


def _worker_options(options):
  return options._replace(vocab_file=_local_copy(options.vocab_file), num_workers=1, progress=False)


def scan(indexed_path, nsp_buffer_documents):
  """Scan step: (file index, path) -> (file index, its ChunkSpecs)."""
  index, path = indexed_path
  return index, pipeline.scan_file(path, index, nsp_buffer_documents)


def plan(scans, options, description):
  """Plan step: all files' scans -> the ShardTasks of the run."""
  ordered = [specs for _, specs in sorted(scans)]
  return shards.shard_tasks(options, shards.number_documents(ordered), shards.run_key(options, description))


def build_shard(task, context):
  """BuildShard step: one ShardTask -> its manifest (kept as it is if the shard is already complete)."""
  manifest = shards.complete_manifest(task)
  if manifest is not None:
    return dict(manifest, kept=True)
  writer = _ShardFile(task.path)
  try:
    results = (pipeline.process_spec(spec, context) for spec in task.chunks)
    manifest = shards.write_shard(task, results, shards.HashingWriter(writer), writer.commit)
  except BaseException:
    writer.abort()
    raise
  return dict(manifest, kept=False)


def summarize(manifests, options, description, start):
  """Stats step: all shards' manifests -> the stats JSON (written atomically), returned as a dict."""
  by_shard = {manifest["key"]["shard"]: manifest for manifest in manifests}
  stats, instances_per_file = shards.merge_manifests(by_shard.values(), len(options.input_files))
  summary = pipeline.finish_summary(options, description, stats, instances_per_file, start)
  summary["runner"] = "beam"
  summary["shards"] = {"kept": sum(1 for m in by_shard.values() if m["kept"]),
                       "built": sum(1 for m in by_shard.values() if not m["kept"]),
                       "records": [by_shard[index]["records"] for index in sorted(by_shard)]}
  file_io.write_text_atomically(options.stats_file, pipeline.stats_text(summary))
  return summary


def _make_build_fn(beam):
  class BuildShard(beam.DoFn):
    """Builds shards; the tokenizer and segmenter are loaded once per worker (setup)."""

    def __init__(self, options):
      super(BuildShard, self).__init__()
      self._options = options
      self._context = None

    def setup(self):
      self._context = pipeline.create_context(_worker_options(self._options))

    def process(self, task):
      yield build_shard(task, self._context)

  return BuildShard


def run(options, beam_pipeline_options):
  """Runs the Beam pipeline; returns the stats dict.

  Args:
    options: pipeline.Options (sharded or a single output file).
    beam_pipeline_options: Beam's options as one command-line string ("--runner=DataflowRunner ...").

  Raises:
    UsageError: Beam is missing, bad flags, or output paths that collide with inputs.
  """
  beam, pipeline_options = _import_beam()
  pipeline.validate(options)
  if len(options.output_files) > 1 and not options.sharded:
    raise UsageError("--runner=beam writes one --output_file or its --num_output_shards shards, not a comma "
                     "list (whose round-robin spread needs every record in order); use --num_output_shards")
  if not any("://" in path for path in options.input_files + options.output_files):
    pipeline.check_output_paths(options)
  for flag, path in (("--output_file", options.output_files[0]), ("--stats_file", options.stats_file)):
    if "://" not in path:
      try:
        tfrecord.make_parent_directory(path)
      except OSError as e:
        raise UsageError("%s %s: cannot create its directory (%s)" % (flag, path, e.strerror or e)) from None
  options = options._replace(sharded=True)  # a single output is one shard, built (and kept) like the others
  if len(options.output_files) == 1:
    logging.warning("--runner=beam with one output file builds it in one work item; --num_output_shards "
                    "spreads the work")
  # Bad flags, vocabulary or user dictionary: one error line now, not a failed work item later. The
  # description (segmenter, vocabulary fingerprint) goes to the Plan and Stats steps as data.
  description = pipeline.describe_run(options, pipeline.create_context(_worker_options(options)))
  # Beam's INFO lines (one per worker message) would bury the run's own.
  logging.getLogger("apache_beam").setLevel(logging.WARNING)
  start = time.time()
  try:
    _run_pipeline(beam, pipeline_options.PipelineOptions(shlex.split(beam_pipeline_options)), options, description,
                  start)
  except Exception as e:  # pylint: disable=broad-except
    # A worker's error reaches here wrapped in the runner's own (with the worker's traceback in its text).
    reason = [line for line in str(e).splitlines() if line.strip()]
    raise pipeline.RunAborted("the Beam pipeline failed (%s); complete shards are kept, rerun to build the "
                              "others" % (reason[-1].strip()[:500] if reason else type(e).__name__)) from None
  with file_io.open_file(options.stats_file) as reader:
    return json.loads(reader.read().decode("utf-8"))


def _run_pipeline(beam, beam_options, options, description, start):
  with beam.Pipeline(options=beam_options) as root:
    tasks = (root
             | "Inputs" >> beam.Create(list(enumerate(options.input_files)))
             | "Scan" >> beam.Map(scan, options.nsp_buffer_documents)
             | "AllScans" >> beam.combiners.ToList()
             | "Plan" >> beam.FlatMap(plan, options, description))
    manifests = (tasks
                 | "Spread" >> beam.Reshuffle()
                 | "BuildShard" >> beam.ParDo(_make_build_fn(beam)(options)))
    _ = (manifests
         | "AllManifests" >> beam.combiners.ToList()
         | "Stats" >> beam.Map(summarize, options, description, start))
