"""Pretraining input: file patterns -> checked TFRecord files -> tf.data input_fn for TPUEstimator.

Records use Google's feature names (create_pretraining_data.py): input_ids, input_mask, segment_ids (int64 x
max_seq_length), masked_lm_positions, masked_lm_ids (int64 x max_predictions_per_seq), masked_lm_weights
(float x max_predictions_per_seq), next_sentence_labels (int64 x 1). Records for dynamic masking carry an
int64 `word_ids` feature (x max_seq_length); their masks are drawn in the pipeline by
`bert.pretraining.dynamic_masking` through the `dynamic_masking_fn` hook.

The first record of every file is checked in Python before any graph is built, so a size mismatch with the
flags is one clear line instead of a TensorFlow shape error deep inside the input pipeline. Every record's
token ids are checked against the model's vocab_size in the pipeline (an in-graph assert: on GPU an
out-of-range embedding lookup is not an error, it reads garbage); `input_error_message` turns that failure,
and the errors of records that cannot be read or parsed, into one line naming the file(s).
"""
import collections
import re

import tensorflow as tf

from bert import distribution
from bert import file_patterns
from bert import tfrecord_input
from bert.errors import UsageError
from wwm import record_schema as schema

# The record schema is the writer's (wwm/record_schema.py), imported rather than restated.
SEQUENCE_FEATURES = schema.SEQUENCE_FEATURES
PREDICTION_FEATURES = schema.PREDICTION_FEATURES
WORD_IDS = schema.WORD_IDS
NEXT_SENTENCE_LABELS = schema.NEXT_SENTENCE_LABELS
TOKEN_ID_FEATURES = schema.TOKEN_ID_FEATURES

# What the first record says about a set of files.
RecordFormat = collections.namedtuple("RecordFormat", ["has_word_ids", "has_next_sentence_labels",
                                                       "has_masked_lm"])
# First datum of the in-graph id check's assert message, so its failure can be told apart from others.
_ID_CHECK_MARKER = "token id beyond the vocab_size of the model"
_ID_CHECK_RE = re.compile(re.escape(_ID_CHECK_MARKER) + r"\] \[(.*?)\] \[(-?\d+)\] \[(\d+)\]")
# Files named in a one-line error message, at most.
_MAX_FILES_NAMED = 3


def expand_input_files(patterns, flag_name="--input_file"):
  """Google's --input_file syntax (comma list and globs, also gs://) expanded to files; see bert.file_patterns."""
  return file_patterns.expand_file_patterns(patterns, flag_name, glob_fn=tf.io.gfile.glob)

def _first_example(path, flag_name):
  """Parses the first tf.train.Example of a TFRecord file."""
  try:
    for record in tf.data.TFRecordDataset(path).take(1):
      return tf.train.Example.FromString(record.numpy())
  except tf.errors.OpError as error:
    raise UsageError("%s %s is not a readable TFRecord file: %s" % (flag_name, path,
                                                                     str(error).splitlines()[0])) from None
  except Exception as error:  # A record that is not a tf.train.Example (DecodeError).
    raise UsageError("%s %s: first record is not a tf.train.Example (%s)" % (flag_name, path, error)) from None
  raise UsageError("%s %s contains no records" % (flag_name, path))


def _feature_length(example, name):
  """Number of values of feature `name` in a tf.train.Example (None if absent)."""
  if name not in example.features.feature:
    return None
  feature = example.features.feature[name]
  kind = feature.WhichOneof("kind")
  return len(getattr(feature, kind).value) if kind else 0


def token_ids_error(flag_name, path, largest_id, vocab_size):
  """The one-line message for token ids the model's embedding table does not have."""
  return ("%s %s: the records hold token id %d but vocab_size in --bert_config_file is %d (data made with a "
          "larger vocabulary?)" % (flag_name, path, largest_id, vocab_size))


def check_record_format(path, max_seq_length, max_predictions_per_seq, no_nsp=False, flag_name="--input_file",
                        vocab_size=None):
  """Checks the first record of `path` against the flags.

  Args:
    path: a TFRecord file.
    max_seq_length: --max_seq_length.
    max_predictions_per_seq: --max_predictions_per_seq.
    no_nsp: --no_nsp (records need no next_sentence_labels).
    flag_name: flag naming the file, for messages.
    vocab_size: the model's vocab_size: the record's token ids must be below it (None: not checked). Only
      the first record is checked here; input_fn_builder(vocab_size=...) checks every record.

  Returns:
    RecordFormat.

  Raises:
    UsageError naming the feature and both sizes when a length differs from the flag, or a required feature is
    missing, or a token id is not below vocab_size.
  """
  example = _first_example(path, flag_name)
  has_word_ids = _feature_length(example, WORD_IDS) is not None
  expected = {name: (max_seq_length, "--max_seq_length") for name in SEQUENCE_FEATURES}
  if has_word_ids:
    expected[WORD_IDS] = (max_seq_length, "--max_seq_length")
  has_masked_lm = all(_feature_length(example, name) is not None for name in PREDICTION_FEATURES)
  if has_masked_lm or not has_word_ids:
    expected.update({name: (max_predictions_per_seq, "--max_predictions_per_seq") for name in PREDICTION_FEATURES})
  for name, (size, flag) in expected.items():
    length = _feature_length(example, name)
    if length is None:
      raise UsageError("%s %s: records have no feature %r (not pretraining data from "
                       "create_pretraining_data.py?)" % (flag_name, path, name))
    if length != size:
      raise UsageError("%s %s: feature %s has %d values per record but %s=%d; rerun with %s=%d or recreate "
                       "the data" % (flag_name, path, name, length, flag, size, flag, length))
  nsp_length = _feature_length(example, NEXT_SENTENCE_LABELS)
  if nsp_length is None and not no_nsp:
    raise UsageError("%s %s: records have no next_sentence_labels; pass --no_nsp to train without the "
                     "next-sentence loss" % (flag_name, path))
  if nsp_length is not None and nsp_length != 1:
    raise UsageError("%s %s: feature next_sentence_labels has %d values per record, expected 1"
                     % (flag_name, path, nsp_length))
  if vocab_size is not None:
    ids = [value for name in TOKEN_ID_FEATURES if name in example.features.feature
           for value in example.features.feature[name].int64_list.value]
    if ids and max(ids) >= vocab_size:
      raise UsageError(token_ids_error(flag_name, path, max(ids), vocab_size))
  return RecordFormat(has_word_ids=has_word_ids, has_next_sentence_labels=nsp_length is not None,
                      has_masked_lm=has_masked_lm)


def check_record_files(paths, max_seq_length, max_predictions_per_seq, no_nsp=False, flag_name="--input_file",
                       vocab_size=None):
  """Checks the first record of every file (check_record_format) and that all files have one format.

  A later file that is text, empty, made with other sizes or with a larger vocabulary then fails here, before
  training, rather than mid-run.

  Args:
    paths: list of TFRecord files.
    max_seq_length, max_predictions_per_seq, no_nsp, flag_name, vocab_size: see check_record_format.

  Returns:
    The RecordFormat shared by all files.

  Raises:
    UsageError: see check_record_format; or two files of different formats (e.g. pre-masked and dynamic).
  """
  first = None
  for path in paths:
    record_format = check_record_format(path, max_seq_length, max_predictions_per_seq, no_nsp=no_nsp,
                                        flag_name=flag_name, vocab_size=vocab_size)
    if first is None:
      first = record_format
    elif record_format != first:
      raise UsageError("%s: %s and %s hold different kinds of records (%s vs %s); use files made the same way"
                       % (flag_name, paths[0], path, _describe(first), _describe(record_format)))
  return first


def _describe(record_format):
  """A few words on a RecordFormat, for messages."""
  kind = "dynamic masking (word_ids)" if record_format.has_word_ids and not record_format.has_masked_lm else (
      "pre-masked")
  return kind + (", with next_sentence_labels" if record_format.has_next_sentence_labels else ", without NSP")


def _check_token_ids(example, path, vocab_size):
  """Adds an assert that the example's token ids are below vocab_size (its message names `path`)."""
  ids = [tf.reshape(example[name], [-1]) for name in TOKEN_ID_FEATURES if name in example]
  largest = tf.reduce_max(tf.concat(ids, axis=0))
  check = tf.debugging.Assert(largest < vocab_size, [_ID_CHECK_MARKER, path, largest, vocab_size])
  with tf.control_dependencies([check]):
    example = dict(example, input_ids=tf.identity(example["input_ids"]))
  return example


def _named_files(files):
  """'a', or 'one of a, b, c (and 7 more)'."""
  if len(files) == 1:
    return files[0]
  shown = ", ".join(files[:_MAX_FILES_NAMED])
  more = " (and %d more)" % (len(files) - _MAX_FILES_NAMED) if len(files) > _MAX_FILES_NAMED else ""
  return "one of " + shown + more


def _reason_of(text):
  """The line of a TensorFlow error message that says what went wrong, without the graph-mode preamble
  ("Graph execution error", the stack of the op's definition) and node/function annotations."""
  text = text.split("\nOriginal stack trace")[0]
  text = re.sub(r"\{\{[^}]*\}\}|\[\[[^\]]*\]\]|\[Op:[^\]]*\].*", "", text)
  for line in text.splitlines():
    line = line.strip()
    if line and not line.startswith(("File ", "Graph execution error", "Detected at node", "Node:")):
      return re.sub(r"\s+", " ", line)
  return ""


def input_error_message(error, files, flag_name="--input_file"):
  """The one-line message for an error the input pipeline raised mid-run, or None if it is not one.

  Args:
    error: a tf.errors.OpError from estimator.train/evaluate.
    files: the run's input files of this pipeline.
    flag_name: flag naming them.

  Returns:
    str, or None when `error` did not come from reading the records (then it is not the user's data).
  """
  text = str(error)
  ids = _ID_CHECK_RE.search(text)
  if ids:
    return token_ids_error(flag_name, ids.group(1), int(ids.group(2)), int(ids.group(3)))
  if not isinstance(error, (tf.errors.DataLossError, tf.errors.InvalidArgumentError)):
    return None
  # Errors of the model's own ops are bugs, not data errors: only the input pipeline's are the user's.
  if isinstance(error, tf.errors.InvalidArgumentError) and "IteratorGetNext" not in text:
    return None
  reason = _reason_of(text) or type(error).__name__
  named = [path for path in files if path in reason]
  what = ("a record is corrupt or truncated" if isinstance(error, tf.errors.DataLossError)
          else "a record cannot be read as pretraining data of this --max_seq_length/--max_predictions_per_seq")
  return "%s %s: %s (%s); recreate or leave out that file" % (flag_name, _named_files(named or files), what,
                                                                reason)


def feature_spec(max_seq_length, max_predictions_per_seq, record_format, no_nsp=False):
  """The tf.io.parse_single_example spec for records of `record_format`."""
  spec = {name: tf.io.FixedLenFeature([max_seq_length], tf.int64) for name in SEQUENCE_FEATURES}
  if record_format.has_masked_lm:
    spec[schema.MASKED_LM_POSITIONS] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
    spec[schema.MASKED_LM_IDS] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64)
    spec[schema.MASKED_LM_WEIGHTS] = tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32)
  if record_format.has_word_ids:
    spec[WORD_IDS] = tf.io.FixedLenFeature([max_seq_length], tf.int64)
  if record_format.has_next_sentence_labels and not no_nsp:
    spec[NEXT_SENTENCE_LABELS] = tf.io.FixedLenFeature([1], tf.int64)
  return spec


decode_record = tfrecord_input.decode_record


def _records_with_their_file(path):
  """(serialized record, file path) pairs of one TFRecord file, so per-record errors can name the file."""
  return tf.data.TFRecordDataset(path).map(lambda record: (record, path))


def input_fn_builder(input_files, max_seq_length, max_predictions_per_seq, is_training, record_format,
                     num_cpu_threads=4, no_nsp=False, repeat_eval=True, dynamic_masking_fn=None, seed=None,
                     vocab_size=None):
  """Creates the input_fn for TPUEstimator (Google's pipeline).

  Training: files shuffled, read in parallel (sloppy interleave), examples shuffled, repeated forever.
  Evaluation: files in order; repeated (Google's behaviour, needed on TPU for fixed-step evaluation) unless
  `repeat_eval` is False, then one pass with a final partial batch (CPU/GPU evaluation of a held-out file).

  Args:
    input_files: list of TFRecord files.
    max_seq_length: sequence length of the records.
    max_predictions_per_seq: masked positions per record.
    is_training: training or evaluation pipeline.
    record_format: RecordFormat of the files (from check_record_format).
    num_cpu_threads: parallel readers/parsers.
    no_nsp: drop next_sentence_labels.
    repeat_eval: see above.
    dynamic_masking_fn: callable(dataset of parsed examples, is_training) -> dataset with the
      masked_lm_positions/ids/weights features added and input_ids masked; used for word_ids records.
    seed: shuffle seed (None: nondeterministic).
    vocab_size: the model's vocab_size: every record's token ids are checked to be below it (an assert whose
      failure input_error_message turns into one line); None: not checked.

  Returns:
    input_fn(params) -> tf.data.Dataset of feature dicts, batched with params["batch_size"].

  Raises:
    UsageError: word_ids records without masks and no dynamic_masking_fn.
  """
  spec = feature_spec(max_seq_length, max_predictions_per_seq, record_format, no_nsp)
  if record_format.has_word_ids and not record_format.has_masked_lm and dynamic_masking_fn is None:
    raise UsageError("%s has word_ids records without masks (dynamic masking data) but no dynamic masking "
                     "is configured" % input_files[0])

  def input_fn(params):
    batch_size = params["batch_size"]
    if is_training:
      # In a TF_CONFIG cluster each worker reads its own part: whole files when there are enough of them,
      # else every num_shards-th record of each file (a file's record order is fixed, so the parts are disjoint).
      num_shards, shard = distribution.training_shard()
      files = tf.data.Dataset.from_tensor_slices(tf.constant(input_files))
      shard_records = num_shards > 1 and len(input_files) < num_shards
      if num_shards > 1 and not shard_records:
        files = files.shard(num_shards, shard)

      def read(path):
        records = _records_with_their_file(path)
        return records.shard(num_shards, shard) if shard_records else records

      files = files.repeat().shuffle(buffer_size=len(input_files), seed=seed)
      # `sloppy` interleave: records arrive in whatever order the readers produce them (faster; the data
      # is shuffled anyway).
      cycle_length = min(num_cpu_threads, len(input_files))
      options = tf.data.Options()
      options.deterministic = seed is not None
      dataset = files.interleave(read, cycle_length=cycle_length,
                                 num_parallel_calls=cycle_length).with_options(options)
      dataset = dataset.shuffle(buffer_size=100, seed=seed)
    else:
      dataset = tf.data.Dataset.from_tensor_slices(tf.constant(input_files)).flat_map(_records_with_their_file)
      if repeat_eval:
        # Evaluation runs a fixed number of steps; repeating avoids running out of data (Google's code).
        dataset = dataset.repeat()

    def decode(record, path):
      example = decode_record(record, spec)
      return example if vocab_size is None else _check_token_ids(example, path, vocab_size)

    dataset = dataset.map(decode, num_parallel_calls=num_cpu_threads)
    if dynamic_masking_fn is not None and record_format.has_word_ids:
      dataset = dynamic_masking_fn(dataset, is_training)
    # TPUs need fixed shapes, hence whole batches only; a one-pass evaluation keeps the last partial batch.
    drop_remainder = is_training or repeat_eval
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)

  return input_fn
