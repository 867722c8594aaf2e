"""Chinese classification tasks: CLUE / FewCLUE (JSON lines) and the common TSV sentiment/matching sets.

File layouts (first existing candidate wins; --train_file/--dev_file/--test_file override):
- CLUE tasks read the official CLUE names `train.json`, `dev.json`, `test.json` (test unlabelled, with `id`),
  then the FewCLUE names `train_few_all.json`, `dev_few_all.json`, `test_public.json` (test labelled).
- OCNLI's training file may be `train.json` (CLUE), `train.50k.json`, `train.30k.json`, `train.10k.json` or
  `train.3k.json` (the OCNLI repository's subsets). Rows labelled "-" (no majority) are dropped and counted,
  as the OCNLI authors do; CMNLI likewise.
- TSV sets (ChnSentiCorp, Douban book reviews, SMP2020-EWECT, LCQMC, BQ) read `train.tsv`, `dev.tsv`, `test.tsv`
  with a header (`label text_a [text_b]`, ERNIE / Chinese-BERT-wwm / UER style); LCQMC and BQ also accept the
  original header-less `text_a text_b label` files. THUCNews titles read `train.txt`, `dev.txt`, `test.txt`
  (`title<TAB>label_id`, no header) with `class.txt` naming the classes.
"""
import os

from bert.errors import UsageError
from bert.classifier.tasks.base import DataProcessor, InputExample, optional_text, strict_text_lines

_CLUE_FILES = {
    "train": ("train.json", "train_few_all.json"),
    "dev": ("dev.json", "dev_few_all.json"),
    "test": ("test.json", "test_public.json"),
}
_TSV_FILES = {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)}
_NLI_LABELS = ["contradiction", "entailment", "neutral"]


class _LabelTextTsvProcessor(DataProcessor):
  """TSV with a header naming `label`, `text_a` and optionally `text_b` (and `qid` as the example id)."""
  split_files = _TSV_FILES
  labels = ["0", "1"]
  pair = False

  def get_labels(self):
    return list(self.labels)

  def _read_split(self, split, path, stats):
    required = ["text_a"] + (["text_b"] if self.pair else [])
    for line, row in self.read_tsv_with_header(path, stats, required):
      yield InputExample("%s-%d" % (split, line - 1), row["text_a"], optional_text(row.get("text_b")),
                         label=row.get("label"), example_id=row.get("qid", str(line - 2)))


class ChnSentiCorpProcessor(_LabelTextTsvProcessor):
  """ChnSentiCorp hotel/book/computer review sentiment (0 negative, 1 positive), accuracy."""
  name = "chnsenticorp"


class DoubanBookReviewProcessor(_LabelTextTsvProcessor):
  """Douban book review sentiment (UER-py's book_review), accuracy."""
  name = "douban_book_review"


class Smp2020EwectProcessor(_LabelTextTsvProcessor):
  """SMP2020-EWECT Weibo emotion, 6 classes (0 neutral, 1 angry, 2 happy, 3 sad, 4 fear, 5 surprise).

  --data_dir is the `usual` or the `virus` folder. Accuracy and macro F1 (the competition's metric).
  """
  name = "smp2020_ewect"
  labels = [str(i) for i in range(6)]
  metric_names = ("accuracy", "macro_f1")


class _SentencePairTsvProcessor(DataProcessor):
  """LCQMC/BQ: `text_a text_b label` with a header (ERNIE / Chinese-BERT-wwm) or without (original)."""
  split_files = _TSV_FILES

  def get_labels(self):
    return ["0", "1"]

  def _read_split(self, split, path, stats):
    header = None
    for line, fields in self.read_tsv(path, stats):
      if header is None and line == 1 and "text_a" in fields:
        header = fields
        continue
      if header is not None:
        if len(fields) != len(header):
          self.bad_row(stats, "%s:%d: expected %d tab-separated columns, found %d"
                       % (path, line, len(header), len(fields)))
          continue
        row = dict(zip(header, fields))
        text_a, text_b, label, example_id = row["text_a"], row.get("text_b"), row.get("label"), row.get("qid")
      else:
        if len(fields) not in (2, 3):
          self.bad_row(stats, "%s:%d: expected 3 tab-separated columns (text_a, text_b, label), found %d"
                       % (path, line, len(fields)))
          continue
        text_a, text_b = fields[0], fields[1]
        label, example_id = (fields[2] if len(fields) == 3 else None), None
      yield InputExample("%s-%d" % (split, line), text_a, text_b, label=label,
                         example_id=example_id or str(stats.examples))


class LcqmcProcessor(_SentencePairTsvProcessor):
  """LCQMC question matching, accuracy."""
  name = "lcqmc"


class BqProcessor(_SentencePairTsvProcessor):
  """BQ corpus (bank question matching), accuracy."""
  name = "bq"


class ThucnewsProcessor(DataProcessor):
  """THUCNews titles, `title<TAB>label_id` without header; class.txt gives the class names (10 by default)."""
  name = "thucnews"
  split_files = {"train": ("train.txt",), "dev": ("dev.txt",), "test": ("test.txt",)}

  def __init__(self, data_dir=None, **kwargs):
    super().__init__(**kwargs)
    self.class_names = _read_class_names(data_dir)

  def get_labels(self):
    return [str(i) for i in range(len(self.class_names))]

  def _read_split(self, split, path, stats):
    for line, fields in self.read_tsv(path, stats, num_columns=2):
      yield InputExample("%s-%d" % (split, line), fields[0], label=fields[1], example_id=str(line - 1))


def _read_class_names(data_dir):
  """Names from data_dir/class.txt (one per line), or the 10 THUCNews classes when the file is absent."""
  default = ["finance", "realty", "stocks", "education", "science", "society", "politics", "sports", "game",
             "entertainment"]
  if not data_dir or not os.path.isfile(os.path.join(data_dir, "class.txt")):
    return default
  names = [name.strip() for name in strict_text_lines(os.path.join(data_dir, "class.txt")) if name.strip()]
  if not names:
    raise UsageError("%s: the file is empty" % os.path.join(data_dir, "class.txt"))
  return names


class _ClueJsonProcessor(DataProcessor):
  """A CLUE/FewCLUE JSON-lines task. Subclasses give text fields and labels; ids come from `id` or `idx`."""
  split_files = _CLUE_FILES
  submission_name = None
  text_a_field = "sentence"
  text_b_field = None
  labels = ["0", "1"]

  @property
  def submission(self):
    return ("clue", self.submission_name or self.name)

  def get_labels(self):
    return list(self.labels)

  def texts(self, record):
    """(text_a, text_b) of one record."""
    return record[self.text_a_field], (record[self.text_b_field] if self.text_b_field else None)

  def required_fields(self):
    return [self.text_a_field] + ([self.text_b_field] if self.text_b_field else [])

  def _string_texts(self, record):
    """(text_a, text_b), or None when a text field is null or not a string."""
    if any(record[field] is None for field in self.required_fields()):
      return None
    text_a, text_b = self.texts(record)
    if not isinstance(text_a, str) or not (text_b is None or isinstance(text_b, str)):
      return None
    return text_a, text_b

  def _read_split(self, split, path, stats):
    for line, record in self.read_jsonl(path, stats, self.required_fields()):
      texts = self._string_texts(record)
      if texts is None:
        self.bad_row(stats, "%s:%d: the text fields must be strings" % (path, line))
        continue
      text_a, text_b = texts
      example_id = record.get("id", record.get("idx", line - 1))
      label = record.get("label")
      yield InputExample("%s-%d" % (split, line), text_a, text_b,
                         label=None if label is None else str(label), example_id=example_id)


class TnewsProcessor(_ClueJsonProcessor):
  """TNEWS news title classification, 15 classes (ids 100-116 without 105 and 111), accuracy."""
  name = "tnews"
  labels = [str(i) for i in range(100, 117) if i not in (105, 111)]


class IflytekProcessor(_ClueJsonProcessor):
  """IFLYTEK app description classification, 119 classes (0-118), accuracy."""
  name = "iflytek"
  labels = [str(i) for i in range(119)]


class AfqmcProcessor(_ClueJsonProcessor):
  """AFQMC question matching (sentence1, sentence2, label 0/1), accuracy."""
  name = "afqmc"
  text_a_field = "sentence1"
  text_b_field = "sentence2"


class BustmProcessor(AfqmcProcessor):
  """BUSTM (FewCLUE) dialogue short-text matching, accuracy."""
  name = "bustm"


class OcnliProcessor(_ClueJsonProcessor):
  """OCNLI natural language inference, accuracy; "-" labels (no majority) are dropped and counted."""
  name = "ocnli"
  split_files = {
      "train": ("train.json", "train.50k.json", "train.30k.json", "train.10k.json", "train.3k.json"),
      "dev": ("dev.json",),
      "test": ("test.json",),
  }
  text_a_field = "sentence1"
  text_b_field = "sentence2"
  labels = _NLI_LABELS
  no_gold_labels = ("-",)
  submission_name = "ocnli_50k"


class CmnliProcessor(OcnliProcessor):
  """CMNLI (CLUE's Chinese MNLI/XNLI), accuracy; "-" labels dropped and counted."""
  name = "cmnli"
  split_files = _CLUE_FILES
  submission_name = "cmnli"


class CslProcessor(_ClueJsonProcessor):
  """CSL: do the keywords belong to the paper abstract? text_a = keywords joined by spaces, text_b = abstract."""
  name = "csl"

  def required_fields(self):
    return ["abst", "keyword"]

  def texts(self, record):
    keywords = record["keyword"]
    if isinstance(keywords, list):
      keywords = " ".join(str(k) for k in keywords)
    return keywords, record["abst"]


class EprstmtProcessor(_ClueJsonProcessor):
  """EPRSTMT (FewCLUE) e-commerce review sentiment, Positive/Negative, accuracy."""
  name = "eprstmt"
  labels = ["Negative", "Positive"]


class ClueWscProcessor(_ClueJsonProcessor):
  """CLUEWSC2020 coreference: is the pronoun (span2) the candidate (span1)? Labels true/false, accuracy.

  The text is given with both spans marked in place (span1 in [], span2 in __), so a sentence classifier can
  see which mention is meant, as CLUE's baseline does.
  """
  name = "cluewsc"
  labels = ["true", "false"]
  submission_name = "cluewsc2020"

  def required_fields(self):
    return ["text", "target"]

  def texts(self, record):
    return mark_spans(record["text"], record["target"]), None


def mark_spans(text, target):
  """Marks target.span1 with [ ] and target.span2 with _ _ in `text` (character offsets from the data).

  When an offset does not point at the span text (it happens in CLUEWSC), the first occurrence is used.

  Args:
    text: the passage.
    target: dict with span1_text, span1_index, span2_text, span2_index.

  Returns:
    the marked text.
  """
  spans = []
  for key, (left, right) in (("span1", ("[", "]")), ("span2", ("_", "_"))):
    span_text = str(target.get(key + "_text", ""))
    index = target.get(key + "_index")
    if not span_text:
      continue
    if not isinstance(index, int) or text[index:index + len(span_text)] != span_text:
      index = text.find(span_text)
      if index < 0:
        continue
    spans.append((index, index + len(span_text), left, right))
  # Insert from the end so earlier offsets stay valid.
  for start, end, left, right in sorted(spans, reverse=True):
    text = text[:start] + left + text[start:end] + right + text[end:]
  return text

