"""Task data for sentence (pair) classification: examples, processors and robust file readers.

Google's run_classifier API is kept (`InputExample(guid, text_a, text_b, label)`, `PaddingInputExample`,
`DataProcessor.get_train_examples(data_dir)` ...). What this module adds:
- readers that name the file and line of a malformed row (or skip and count it with `skip_bad_rows`), accept
  a UTF-8 BOM, CRLF line endings and gzip, and refuse empty files; a line with invalid UTF-8 is such a
  malformed row (an error naming file, line and byte, never silently replaced, because it is labelled data), and a
  truncated or corrupt .gz is an error naming the file;
- label checking: an unknown label is an error naming the file, the line, the label and the allowed labels;
- labels that mean "no gold label" (OCNLI/CMNLI `-`) are dropped and counted in `DataProcessor.stats`;
- per-task split layouts: a processor lists candidate file names per split, so the official layout and the
  layouts of ../shared/data both work, and `--train_file/--dev_file/--test_file` can override them.

No TensorFlow here (only for remote paths such as gs://), so tests of the readers are fast.
"""
import collections
import csv
import gzip
import io
import json
import os
import re
import sys
import zlib

from bert.errors import UsageError

# Rows of a few data sets have very long fields (MNLI parses); the csv default limit of 128 KiB is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class InputExample(object):
  """One text, or text pair, to classify, with its id and label (Google's class).

  Attributes:
    guid: unique id of the example, e.g. "train-12".
    text_a: the first sequence (untokenized text).
    text_b: optional second sequence (sentence-pair tasks).
    label: the label string (a float for regression); None for unlabelled test examples.
    example_id: the id the benchmark's submission file uses for this example (GLUE `index`, CLUE `id`).
  """

  def __init__(self, guid, text_a, text_b=None, label=None, example_id=None):
    self.guid = guid
    self.text_a = text_a
    self.text_b = text_b
    self.label = label
    self.example_id = example_id

  def __repr__(self):
    return "InputExample(guid=%r, text_a=%r, text_b=%r, label=%r)" % (self.guid, self.text_a, self.text_b,
                                                                       self.label)


class PaddingInputExample(object):
  """Filler that pads an example list to whole batches (TPU batches have a fixed size).

  Its features are all zeros with is_real_example=0, so it is left out of metrics and outputs.
  """


def open_text(path, errors="strict"):
  """Opens a text file for reading as UTF-8 (BOM removed, newlines kept for csv); .gz is decompressed.

  Remote paths (gs://...) go through tf.io.gfile, imported only then. The readers of this module read through
  `text_lines`, which turns undecodable bytes and corrupt gzip data into UsageErrors naming file and line.

  Args:
    path: local or remote path.
    errors: the codec's error handler ("strict": a UnicodeDecodeError while reading).

  Returns:
    A text file object.

  Raises:
    UsageError: the file does not exist.
  """
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    if not tf.io.gfile.exists(path):
      raise UsageError("%s: file not found" % path)
    raw = tf.io.gfile.GFile(path, "rb")
  else:
    if not os.path.isfile(path):
      raise UsageError("%s: file not found" % path)
    raw = open(path, "rb")
  if path.endswith(".gz"):
    raw = gzip.GzipFile(fileobj=raw)
  return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors=errors)


# Bytes that are not UTF-8 come through the "surrogateescape" handler as U+DC80..U+DCFF; strict UTF-8 never
# decodes to these code points, so finding one means the line had invalid bytes.
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def invalid_utf8(line):
  """None if `line` (read by `text_lines`) decoded cleanly, else a description such as "invalid UTF-8 (byte
  0xff at column 3)"."""
  match = _ESCAPED_BYTE.search(line)
  if match is None:
    return None
  return "invalid UTF-8 (byte 0x%02x at column %d)" % (ord(match.group()) - 0xDC00, match.start() + 1)


def text_lines(path):
  """Yields (line_number, line) of a text file (see open_text), line endings kept, line numbers from 1.

  Invalid UTF-8 does not stop the reading: its bytes are escaped (check each line with `invalid_utf8`), so the
  caller can name the line, or skip it and go on.

  Raises:
    UsageError: the file does not exist, cannot be read, or is a truncated or corrupt gzip file.
  """
  handle = open_text(path, errors="surrogateescape")
  number = 0
  with handle:
    while True:
      try:
        line = handle.readline()
      except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise UsageError("%s: truncated or corrupt gzip file, unreadable after line %d (%s)"
                         % (path, number, error)) from None
      except OSError as error:
        raise UsageError("%s: cannot be read after line %d (%s)" % (path, number, error)) from None
      if not line:
        return
      number += 1
      yield number, line


class FileStats(object):
  """Counts of what happened to the rows of one file."""

  def __init__(self):
    self.examples = 0
    self.skipped_bad_rows = 0
    self.dropped_no_gold_label = 0
    # Line number of the row read last (set by read_tsv/read_jsonl), so label errors can name the line.
    self.line = None

  def as_dict(self):
    return {"examples": self.examples, "skipped_bad_rows": self.skipped_bad_rows,
            "dropped_no_gold_label": self.dropped_no_gold_label}


class DataProcessor(object):
  """A classification task: reads its data set's files into InputExamples and knows its label set.

  Subclasses set the class attributes and implement `_read_split(split, path)` (a generator of InputExample;
  labels are checked by the base class) and `get_labels()`.

  Class attributes:
    name: the --task_name.
    split_files: dict split -> tuple of candidate file names, in order of preference (official layout first).
    metric_names: metrics reported by --do_eval (names understood by bert.metrics).
    is_regression: True for a real-valued target (one output, mean squared error loss).
    no_gold_labels: label values meaning "annotators did not agree" (dropped, counted).
    submission: ("glue", "SST-2") / ("clue", "tnews") / None — which benchmark submission file --do_predict
      writes (bert.classifier.outputs).
  """
  name = None
  split_files = {}
  metric_names = ("accuracy",)
  is_regression = False
  no_gold_labels = ()
  submission = None

  def __init__(self, skip_bad_rows=False, split_file_overrides=None):
    """Args:
      skip_bad_rows: skip (and count) malformed rows instead of raising UsageError.
      split_file_overrides: optional dict split -> file name (relative to data_dir) or path.
    """
    self.skip_bad_rows = skip_bad_rows
    self.split_file_overrides = {k: v for k, v in (split_file_overrides or {}).items() if v}
    self.stats = collections.OrderedDict()

  # ---- Google's API -------------------------------------------------------------------------------------------
  def get_train_examples(self, data_dir):
    """The training split as InputExamples."""
    return self.get_examples(data_dir, "train")

  def get_dev_examples(self, data_dir):
    """The development (evaluation) split as InputExamples."""
    return self.get_examples(data_dir, "dev")

  def get_test_examples(self, data_dir):
    """The test (prediction) split as InputExamples."""
    return self.get_examples(data_dir, "test")

  def get_labels(self):
    """The task's labels in label-id order (for regression: a single placeholder)."""
    raise NotImplementedError()

  @classmethod
  def _read_tsv(cls, input_file, quotechar=None):
    """Google's helper for custom processors: every row of a tab-separated file, as lists of strings.

    quotechar=None (Google's default) reads quotes as ordinary characters.

    Raises:
      UsageError: missing or unreadable file, invalid UTF-8 or a malformed row (naming file and line).
    """
    lines = strict_text_lines(input_file)
    if quotechar is None:
      reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
      reader = csv.reader(lines, delimiter="\t", quotechar=quotechar)
    try:
      return [row for row in reader]
    except csv.Error as error:
      raise UsageError("%s:%d: %s" % (input_file, reader.line_num, error)) from None

  # ---- evaluation/prediction sets ----------------------------------------------------------------------------
  def dev_sets(self, data_dir):
    """The evaluation sets: list of (name, examples). One ("", dev) unless the task has several (MNLI)."""
    return [("", self.get_dev_examples(data_dir))]

  def test_sets(self, data_dir):
    """The prediction sets: list of (name, examples), like dev_sets."""
    return [("", self.get_test_examples(data_dir))]

  # ---- reading ------------------------------------------------------------------------------------------------
  def get_examples(self, data_dir, split):
    """Reads split `split` ("train", "dev", "test", or a task's extra split such as "dev_matched").

    Returns:
      list of InputExample.

    Raises:
      UsageError: missing or empty file, malformed row, unknown label.
    """
    paths = self.resolve_paths(data_dir, split)
    examples = []
    for path in paths:
      stats = FileStats()
      self.stats[path] = stats
      for example in self._read_split(split, path, stats):
        if example.label is not None:
          if not self.is_regression and example.label in self.no_gold_labels:
            stats.dropped_no_gold_label += 1
            continue
          example.label = self._checked_label(example.label, _where(path, stats.line, example.guid), split)
        examples.append(example)
        stats.examples += 1
    if not examples:
      raise UsageError("%s: no %s examples in %s" % (self.name, split, ", ".join(paths)))
    return examples

  def resolve_paths(self, data_dir, split):
    """The file(s) of a split: the override if given, else the first existing candidate of split_files.

    A candidate may be a tuple of names whose contents are concatenated (e.g. CoLA's in- and out-of-domain dev).

    Raises:
      UsageError: none of the candidates exists (the message lists them).
    """
    override = self.split_file_overrides.get(split)
    if override:
      path = override if os.path.isabs(override) or "://" in override else os.path.join(data_dir or "", override)
      if not _exists(path):
        raise UsageError("--%s_file %s: file not found" % (split, path))
      return [path]
    candidates = self.split_files.get(split)
    if not candidates:
      raise UsageError("task %s has no %s split" % (self.name, split))
    if not data_dir:
      raise UsageError("--data_dir is required to read the %s %s files" % (self.name, split))
    tried = []
    for candidate in candidates:
      names = candidate if isinstance(candidate, tuple) else (candidate,)
      paths = [os.path.join(data_dir, name) for name in names]
      if all(_exists(p) for p in paths):
        return paths
      tried.append("+".join(names))
    raise UsageError("%s: no %s file in --data_dir %s (looked for %s; or pass --%s_file)"
                     % (self.name, split, data_dir, ", ".join(tried), split))

  def _read_split(self, split, path, stats):
    """Yields the InputExamples of one file (labels unchecked). Implemented by each task."""
    raise NotImplementedError()

  def _checked_label(self, label, where, split):
    """Returns the label normalised (str, or float for regression); UsageError if it is not allowed.

    `where` names the row in errors ("train.tsv:9").
    """
    if self.is_regression:
      try:
        return float(label)
      except (TypeError, ValueError):
        raise UsageError("%s: score %r is not a number" % (where, label)) from None
    label = str(label).strip()
    allowed = self.get_labels()
    if label not in allowed:
      if split == "test":
        # Unlabelled test files carry placeholders (GLUE RTE's -1); prediction does not need a label.
        return None
      shown = ", ".join(allowed[:30]) + (" ..." if len(allowed) > 30 else "")
      raise UsageError("%s: unknown label %r for task %s; allowed labels: %s" % (where, label, self.name, shown))
    return label

  # ---- helpers for subclasses ---------------------------------------------------------------------------------
  def bad_row(self, stats, message):
    """Raises UsageError(message), or counts the row as skipped when skip_bad_rows."""
    if self.skip_bad_rows:
      stats.skipped_bad_rows += 1
      return
    raise UsageError(message + " (pass --skip_bad_rows to skip such rows)")

  def read_tsv(self, path, stats, num_columns=None, header=False):
    """Yields (line_number, fields) of a tab-separated file (no quoting, as Google's _read_tsv).

    Args:
      path: the file.
      stats: FileStats of the file (skipped rows are counted there).
      num_columns: expected column count; None means "as many as the header" (header=True) or any.
      header: the first row is a header; it is yielded too, as line 1, and sets num_columns.

    Raises:
      UsageError: empty, unreadable or corrupt (.gz) file; a row with invalid UTF-8 or the wrong column count
        (unless skip_bad_rows).
    """
    reader = csv.reader(self._checked_lines(path, stats), delimiter="\t", quoting=csv.QUOTE_NONE)
    seen_any = False
    while True:
      try:
        fields = next(reader)
      except StopIteration:
        break
      except csv.Error as error:  # e.g. a NUL character
        self.bad_row(stats, "%s:%d: %s" % (path, reader.line_num, error))
        continue
      line = reader.line_num
      if not fields or (len(fields) == 1 and not fields[0].strip()):
        continue  # blank line (e.g. a trailing newline)
      if header and not seen_any:
        num_columns = len(fields)
        seen_any = True
        stats.line = line
        yield line, fields
        continue
      seen_any = True
      if num_columns is not None and len(fields) != num_columns:
        self.bad_row(stats, "%s:%d: expected %d tab-separated columns, found %d"
                     % (path, line, num_columns, len(fields)))
        continue
      stats.line = line
      yield line, fields
    if not seen_any:
      raise UsageError("%s: the file is empty" % path)

  def read_tsv_with_header(self, path, stats, required):
    """Yields (line_number, {column name: value}) of a TSV whose first row names the columns.

    Args:
      required: column names that must be in the header (others are optional, read with .get()).

    Raises:
      UsageError: a required column is missing from the header, or as read_tsv.
    """
    columns = None
    for line, fields in self.read_tsv(path, stats, header=True):
      if columns is None:
        columns = [name.strip() for name in fields]
        missing = [name for name in required if name not in columns]
        if missing:
          raise UsageError("%s:1: header [%s] lacks column(s) %s" % (path, ", ".join(columns), ", ".join(missing)))
        continue
      yield line, dict(zip(columns, fields))

  def read_jsonl(self, path, stats, required):
    """Yields (line_number, record) of a JSON-lines file (CRLF and BOM tolerated).

    Args:
      required: keys every record must have.

    Raises:
      UsageError: empty, unreadable or corrupt (.gz) file; a line with invalid UTF-8, that is not a JSON object
        or lacks a required key (unless skip_bad_rows).
    """
    seen_any = False
    for line_number, line in text_lines(path):
      line = line.strip()
      if not line:
        continue
      seen_any = True
      problem = invalid_utf8(line)
      if problem:
        self.bad_row(stats, "%s:%d: %s" % (path, line_number, problem))
        continue
      try:
        record = json.loads(line)
      except ValueError as error:
        self.bad_row(stats, "%s:%d: not valid JSON (%s)" % (path, line_number, error))
        continue
      if not isinstance(record, dict):
        self.bad_row(stats, "%s:%d: expected a JSON object, found %s" % (path, line_number,
                                                                        type(record).__name__))
        continue
      missing = [key for key in required if key not in record]
      if missing:
        self.bad_row(stats, "%s:%d: missing field(s) %s" % (path, line_number, ", ".join(missing)))
        continue
      stats.line = line_number
      yield line_number, record
    if not seen_any:
      raise UsageError("%s: the file is empty" % path)

  def _checked_lines(self, path, stats):
    """The lines of `path` for csv.reader; a line with invalid UTF-8 is a bad row (with skip_bad_rows it is
    counted and replaced by an empty line, so csv's line numbers stay those of the file)."""
    for number, line in text_lines(path):
      problem = invalid_utf8(line)
      if problem:
        self.bad_row(stats, "%s:%d: %s" % (path, number, problem))
        line = "\n"
      yield line


def strict_text_lines(path):
  """The lines of `path`; UsageError naming file and line at the first invalid UTF-8."""
  for number, line in text_lines(path):
    problem = invalid_utf8(line)
    if problem:
      raise UsageError("%s:%d: %s" % (path, number, problem))
    yield line


def _where(path, line, guid):
  """How an error names a row: "file:line" when the reader recorded the line, else "file (guid)"."""
  return "%s:%d" % (path, line) if line else "%s (%s)" % (path, guid)


def _exists(path):
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return tf.io.gfile.exists(path)
  return os.path.isfile(path)


def optional_text(value):
  """A field value as text, or None when it is empty/missing (for optional second sentences)."""
  if value is None:
    return None
  value = str(value)
  return value if value.strip() else None
