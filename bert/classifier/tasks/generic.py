"""Generic tasks for users' own data: `tsv` (header row names the columns) and `jsonl` (one object per line).

Files: `train.tsv`/`dev.tsv`/`test.tsv` (tsv) or `train.jsonl`/`dev.jsonl`/`test.jsonl` (jsonl, `.json` also
accepted) in --data_dir, or any names with --train_file/--dev_file/--test_file. Fields are chosen with
--text_a_field, --text_b_field (optional, for sentence pairs) and --label_field. The label set is --labels
(comma separated) if given, else the sorted distinct labels of the training file (of the dev file when there is
no training file), so a later --do_predict run on the same data_dir maps ids to the same labels.
"""
from bert.errors import UsageError
from bert.classifier.tasks.base import DataProcessor, InputExample, optional_text


class _GenericProcessor(DataProcessor):
  """Shared logic of the generic tasks: configurable fields and a label set from flags or from the data."""

  def __init__(self, data_dir=None, text_a_field="text_a", text_b_field=None, label_field="label", labels=None,
               id_field=None, **kwargs):
    super().__init__(**kwargs)
    if not text_a_field:
      raise UsageError("--text_a_field must name the field/column holding the text")
    self.data_dir = data_dir
    self.text_a_field = text_a_field
    self.text_b_field = text_b_field or None
    self.label_field = label_field
    self.id_field = id_field
    self._labels = list(labels) if labels else None

  def get_labels(self):
    if self._labels is None:
      self._labels = self._labels_from_data()
    return list(self._labels)

  def _labels_from_data(self):
    """Sorted distinct labels of the training file (or the dev file when no training file exists)."""
    for split in ("train", "dev"):
      try:
        paths = self.resolve_paths(self.data_dir, split)
      except UsageError:
        continue
      found = set()
      for path in paths:
        for _, record in self._records(path, self._scratch_stats()):
          label = record.get(self.label_field)
          if label is not None and str(label).strip():
            found.add(str(label).strip())
      if found:
        return sorted(found, key=_natural_key)
    raise UsageError("task %s: cannot determine the labels: pass --labels=a,b,... or put a training file with a "
                     "%r field in --data_dir" % (self.name, self.label_field))

  def _scratch_stats(self):
    from bert.classifier.tasks.base import FileStats  # pylint: disable=import-outside-toplevel
    return FileStats()

  def _required(self):
    return [self.text_a_field] + ([self.text_b_field] if self.text_b_field else [])

  def _read_split(self, split, path, stats):
    for line, record in self._records(path, stats):
      label = record.get(self.label_field)
      label = None if label is None or not str(label).strip() else str(label)
      if label is None and split != "test":
        self.bad_row(stats, "%s:%d: no %r (label) value" % (path, line, self.label_field))
        continue
      example_id = record.get(self.id_field) if self.id_field else None
      yield InputExample("%s-%d" % (split, line), str(record[self.text_a_field]),
                         optional_text(record.get(self.text_b_field)) if self.text_b_field else None,
                         label=label, example_id=example_id if example_id is not None else str(stats.examples))


class TsvProcessor(_GenericProcessor):
  """Tab-separated files whose first row names the columns."""
  name = "tsv"
  split_files = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}

  def _records(self, path, stats):
    return self.read_tsv_with_header(path, stats, self._required())


class JsonlProcessor(_GenericProcessor):
  """JSON-lines files, one object per line."""
  name = "jsonl"
  split_files = {"train": ("train.jsonl", "train.json"), "dev": ("dev.jsonl", "dev.json"),
                 "test": ("test.jsonl", "test.json")}

  def _records(self, path, stats):
    return self.read_jsonl(path, stats, self._required())


def _natural_key(label):
  """Sorts numeric labels numerically ("2" before "10") and others alphabetically."""
  try:
    return (0, float(label), label)
  except ValueError:
    return (1, 0.0, label)
