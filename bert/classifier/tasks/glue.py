"""GLUE tasks (and XNLI), reading the official GLUE layout plus the layouts in ../shared/data/glue_en.

Official layout: `train.tsv`, `dev.tsv`, `test.tsv` with GLUE's columns (download_glue_data.py output).
Adapters, chosen automatically when the official files are absent:
- CoLA raw public release: `in_domain_train.tsv` (train) and `in_domain_dev.tsv`+`out_of_domain_dev.tsv` (the
  1,043 rows of GLUE CoLA dev); same four columns as GLUE's train.tsv.
- SST-2 re-split by ALPS: `alps_train.tsv`+`alps_dev.tsv` (= GLUE train, 67,349) and `alps_test.tsv`
  (= GLUE dev, 872).
- STS Benchmark `stsbenchmark.tsv.gz` (one file, a `split` column; the test scores are included).
- RTE exported by Hugging Face datasets (`sentence1 sentence2 label idx`, 0 = entailment, 1 = not_entailment,
  test label -1).
"""
from bert.errors import UsageError
from bert.classifier.tasks.base import DataProcessor, InputExample

_NLI_LABELS = ["contradiction", "entailment", "neutral"]


class _HeaderTsvProcessor(DataProcessor):
  """A GLUE task whose TSV files start with a header naming the columns.

  Subclasses name the columns: text_a_column, text_b_column (None for single sentences), label_column,
  index_column (the submission id of test rows).
  """
  text_a_column = None
  text_b_column = None
  label_column = "label"
  index_column = "index"

  def _read_split(self, split, path, stats):
    required = [self.text_a_column] + ([self.text_b_column] if self.text_b_column else [])
    for line, row in self.read_tsv_with_header(path, stats, required):
      yield InputExample(
          guid="%s-%d" % (split, line - 1), text_a=row[self.text_a_column],
          text_b=row[self.text_b_column] if self.text_b_column else None,
          label=row.get(self.label_column) if split != "test" else None,
          example_id=row.get(self.index_column, str(line - 2)))


class ColaProcessor(DataProcessor):
  """CoLA: single sentence acceptability, Matthews correlation. GLUE train/dev have no header."""
  name = "cola"
  split_files = {
      "train": ("train.tsv", "in_domain_train.tsv"),
      "dev": ("dev.tsv", ("in_domain_dev.tsv", "out_of_domain_dev.tsv")),
      "test": ("test.tsv",),
  }
  metric_names = ("mcc", "accuracy")
  submission = ("glue", "CoLA")

  def get_labels(self):
    return ["0", "1"]

  def _read_split(self, split, path, stats):
    if split == "test":
      for line, row in self.read_tsv_with_header(path, stats, ["index", "sentence"]):
        yield InputExample("test-%d" % (line - 1), row["sentence"], example_id=row["index"])
      return
    # Columns: source, label, original mark, sentence.
    for line, fields in self.read_tsv(path, stats, num_columns=4):
      yield InputExample("%s-%s-%d" % (split, _basename(path), line), fields[3], label=fields[1])


class Sst2Processor(_HeaderTsvProcessor):
  """SST-2: movie review sentiment, accuracy."""
  name = "sst2"
  split_files = {
      "train": ("train.tsv", ("alps_train.tsv", "alps_dev.tsv")),
      "dev": ("dev.tsv", "alps_test.tsv"),
      "test": ("test.tsv",),
  }
  text_a_column = "sentence"
  submission = ("glue", "SST-2")

  def get_labels(self):
    return ["0", "1"]

  def _read_split(self, split, path, stats):
    for example in super()._read_split(split, path, stats):
      # Each SST-2 sentence ends with a space before the tab; it means nothing.
      example.text_a = example.text_a.strip()
      example.guid = "%s-%s" % (_basename(path), example.guid)
      yield example


class MrpcProcessor(DataProcessor):
  """MRPC: paraphrase, F1 and accuracy. Columns Quality, #1 ID, #2 ID, #1 String, #2 String (test: index)."""
  name = "mrpc"
  split_files = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}
  metric_names = ("f1", "accuracy")
  submission = ("glue", "MRPC")

  def get_labels(self):
    return ["0", "1"]

  def _read_split(self, split, path, stats):
    first = True
    for line, fields in self.read_tsv(path, stats, num_columns=5):
      if first:  # header
        first = False
        continue
      yield InputExample("%s-%d" % (split, line - 1), fields[3], fields[4],
                         label=None if split == "test" else fields[0], example_id=fields[0])


class StsbProcessor(DataProcessor):
  """STS-B: similarity score 0-5, regression (MSE), Pearson and Spearman correlation.

  GLUE layout: header with sentence1, sentence2, score (test: no score). STS Benchmark layout: one
  `stsbenchmark.tsv.gz` with columns split genre dataset year sid score sentence1 sentence2.
  """
  name = "stsb"
  split_files = {
      "train": ("train.tsv", "stsbenchmark.tsv.gz"),
      "dev": ("dev.tsv", "stsbenchmark.tsv.gz"),
      "test": ("test.tsv", "stsbenchmark.tsv.gz"),
  }
  metric_names = ("pearson", "spearman")
  is_regression = True
  submission = ("glue", "STS-B")

  def get_labels(self):
    return [None]

  def _read_split(self, split, path, stats):
    benchmark = path.endswith(".gz")
    for line, row in self.read_tsv_with_header(path, stats, ["sentence1", "sentence2"]):
      if benchmark:
        if row.get("split") != split:
          continue
        example_id = str(stats.examples)
        label = row.get("score")
      else:
        example_id = row.get("index", str(line - 2))
        label = None if split == "test" else row.get("score")
      yield InputExample("%s-%d" % (split, line - 1), row["sentence1"], row["sentence2"], label=label,
                         example_id=example_id)


class QqpProcessor(_HeaderTsvProcessor):
  """QQP: duplicate questions, F1 and accuracy. Columns id qid1 qid2 question1 question2 is_duplicate."""
  name = "qqp"
  split_files = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}
  text_a_column = "question1"
  text_b_column = "question2"
  label_column = "is_duplicate"
  index_column = "id"
  metric_names = ("f1", "accuracy")
  submission = ("glue", "QQP")

  def get_labels(self):
    return ["0", "1"]


class MnliProcessor(_HeaderTsvProcessor):
  """MNLI: accuracy on the matched and on the mismatched dev sets (two evaluation sets)."""
  name = "mnli"
  split_files = {
      "train": ("train.tsv",),
      "dev": ("dev_matched.tsv",),
      "dev_matched": ("dev_matched.tsv",),
      "dev_mismatched": ("dev_mismatched.tsv",),
      "test": ("test_matched.tsv",),
      "test_matched": ("test_matched.tsv",),
      "test_mismatched": ("test_mismatched.tsv",),
  }
  text_a_column = "sentence1"
  text_b_column = "sentence2"
  label_column = "gold_label"
  submission = ("glue", "MNLI")

  def get_labels(self):
    return list(_NLI_LABELS)

  def dev_sets(self, data_dir):
    return [("matched", self.get_examples(data_dir, "dev_matched")),
            ("mismatched", self.get_examples(data_dir, "dev_mismatched"))]

  def test_sets(self, data_dir):
    return [("matched", self.get_examples(data_dir, "test_matched")),
            ("mismatched", self.get_examples(data_dir, "test_mismatched"))]

  def _read_split(self, split, path, stats):
    test = split.startswith("test")
    for example in super()._read_split("test" if test else split, path, stats):
      example.guid = "%s-%s" % (split, example.guid.split("-", 1)[1])
      yield example


class QnliProcessor(_HeaderTsvProcessor):
  """QNLI: question/sentence entailment, accuracy."""
  name = "qnli"
  split_files = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}
  text_a_column = "question"
  text_b_column = "sentence"
  submission = ("glue", "QNLI")

  def get_labels(self):
    return ["entailment", "not_entailment"]


class RteProcessor(_HeaderTsvProcessor):
  """RTE: entailment, accuracy. GLUE layout (index, string labels) or Hugging Face layout (idx, 0/1)."""
  name = "rte"
  split_files = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}
  text_a_column = "sentence1"
  text_b_column = "sentence2"
  submission = ("glue", "RTE")
  _HF_LABELS = {"0": "entailment", "1": "not_entailment"}

  def get_labels(self):
    return ["entailment", "not_entailment"]

  def _read_split(self, split, path, stats):
    for line, row in self.read_tsv_with_header(path, stats, ["sentence1", "sentence2"]):
      hugging_face = "idx" in row
      label = row.get("label")
      if hugging_face and label is not None:
        label = self._HF_LABELS.get(label.strip(), label)
      yield InputExample("%s-%d" % (split, line - 1), row["sentence1"], row["sentence2"],
                         label=None if split == "test" else label,
                         example_id=row.get("idx" if hugging_face else "index", str(line - 2)))


class WnliProcessor(_HeaderTsvProcessor):
  """WNLI: accuracy."""
  name = "wnli"
  split_files = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}
  text_a_column = "sentence1"
  text_b_column = "sentence2"
  submission = ("glue", "WNLI")

  def get_labels(self):
    return ["0", "1"]


class XnliProcessor(DataProcessor):
  """XNLI in one language (default zh), accuracy.

  Layouts: ERNIE's preprocessed per-language folder (`train.tsv`/`dev.tsv`/`test.tsv` with header
  text_a text_b label, as in ../shared/data/xnli_zh), or Google's: `XNLI-MT-1.0/multinli/multinli.train.<lang>.tsv`
  (premise hypo label) and `XNLI-1.0/xnli.{dev,test}.tsv` (all languages; rows of `language` are kept).
  """
  name = "xnli"
  metric_names = ("accuracy",)

  def __init__(self, language="zh", **kwargs):
    super().__init__(**kwargs)
    self.language = language
    self.split_files = {
        "train": ("train.tsv", "XNLI-MT-1.0/multinli/multinli.train.%s.tsv" % language),
        "dev": ("dev.tsv", "XNLI-1.0/xnli.dev.tsv"),
        "test": ("test.tsv", "XNLI-1.0/xnli.test.tsv"),
    }

  def get_labels(self):
    return list(_NLI_LABELS)

  def _read_split(self, split, path, stats):
    for line, row in self.read_tsv_with_header(path, stats, []):
      if "language" in row:  # Google's multi-language dev/test files
        if row["language"] != self.language:
          continue
        text_a, text_b, label = row.get("sentence1"), row.get("sentence2"), row.get("gold_label")
      elif "premise" in row:  # XNLI-MT training file
        text_a, text_b, label = row.get("premise"), row.get("hypo"), row.get("label")
      else:
        text_a, text_b, label = row.get("text_a"), row.get("text_b"), row.get("label")
      if text_a is None or text_b is None:
        raise UsageError("%s:1: unrecognised XNLI header (expected text_a/text_b/label, premise/hypo/label or "
                         "the XNLI-1.0 columns)" % path)
      if label == "contradictory":  # the machine-translated training data spells it this way
        label = "contradiction"
      yield InputExample("%s-%d" % (split, line - 1), text_a, text_b, label=label, example_id=str(line - 2))


def _basename(path):
  return path.replace("\\", "/").rsplit("/", 1)[-1]
