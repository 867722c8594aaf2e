"""Sentence pairs for Sentence-BERT: read through bert.classifier.tasks, checked, tokenized per side, stored as TFRecords.

Every pair task of bert.classifier.tasks can be read (`--task_name`):
- scored sets, a similarity score in [--score_min, --score_max]: `stsb` (STS Benchmark gz file or GLUE's
  train/dev/test.tsv, default range 0..5), and the generic `tsv`/`jsonl` tasks with --text_a_field,
  --text_b_field and --label_field naming the columns (default range 0..1);
- binary sets, a positive label: paraphrase/matching sets (`afqmc`, `bustm`, `lcqmc`, `bq`, `mrpc`, `qqp`,
  label "1") and NLI sets (`ocnli`, `cmnli`, `xnli`, `mnli`, `rte`, `qnli`), where an entailment pair is a
  positive and every other pair a negative. NLI rows without a gold label (OCNLI's "-") are dropped.
The gold value of a pair, `score`, is the raw score (scored sets) or 1.0/0.0 (binary sets); `target()` scales it
to [0, 1], the cosine similarity the cosine-MSE loss aims at. The MNRL loss trains on the positive pairs only:
binary positives, or scored pairs whose scaled score is at least `mnrl_min_score`.

Bad input is one error naming the file and line: a pair without one of its sentences, a score that is not a
number, an unknown label (such rows are skipped and counted with skip_bad_rows); a score outside the declared
range names the flags; a split without any (usable) pair is an error too.

Each side is tokenized on its own as `[CLS] tokens [SEP]`, truncated to max_seq_length and padded; token type
ids are all 0, as sentence-transformers feeds a single sentence.
"""
import collections
import dataclasses
import math
import os

import tensorflow as tf

import tokenization
from bert import file_io
from bert.classifier import tasks
from bert import tfrecord_input
from bert.errors import UsageError
from bert.classifier.tasks.base import FileStats

SCORED = "scored"
BINARY = "binary"
# Binary pair tasks and the label that makes a pair a positive.
POSITIVE_LABELS = {
    "afqmc": "1", "bustm": "1", "lcqmc": "1", "bq": "1", "mrpc": "1", "qqp": "1",
    "ocnli": "entailment", "cmnli": "entailment", "xnli": "entailment", "mnli": "entailment", "rte": "entailment",
    "qnli": "entailment",
}
# Scored pair tasks and their default score range (--score_min, --score_max).
DEFAULT_SCORE_RANGES = {"stsb": (0.0, 5.0), "tsv": (0.0, 1.0), "jsonl": (0.0, 1.0)}


def pair_task_names():
  """Sorted --task_name values this stage accepts."""
  return sorted(set(POSITIVE_LABELS) | set(DEFAULT_SCORE_RANGES))


@dataclasses.dataclass
class SentencePair:
  """One pair: its two sentences, the gold value (raw score, or 1.0/0.0; None when unlabelled) and origin."""
  guid: str
  text_a: str
  text_b: str
  score: float = None
  example_id: object = None
  path: str = None
  line: int = None


class PairTask(object):
  """A bert.classifier.tasks processor read as sentence pairs.

  Attributes:
    name: the canonical task name.
    kind: SCORED or BINARY.
    score_min, score_max: the range of scored sets (0 and 1 for binary sets).
    processor: the bert.classifier.tasks DataProcessor (its `stats` count kept, skipped and dropped rows per file).
  """

  def __init__(self, processor, score_min=None, score_max=None):
    self.processor = processor
    self.name = processor.name
    if self.name in POSITIVE_LABELS:
      self.kind = BINARY
      if score_min is not None or score_max is not None:
        raise UsageError("--score_min/--score_max apply to scored tasks (%s); task %s has binary labels"
                         % (", ".join(sorted(DEFAULT_SCORE_RANGES)), self.name))
      self.positive_label = POSITIVE_LABELS[self.name]
      self.score_min, self.score_max = 0.0, 1.0
    elif self.name in DEFAULT_SCORE_RANGES:
      self.kind = SCORED
      self.positive_label = None
      default_min, default_max = DEFAULT_SCORE_RANGES[self.name]
      self.score_min = default_min if score_min is None else float(score_min)
      self.score_max = default_max if score_max is None else float(score_max)
      if not self.score_min < self.score_max:
        raise UsageError("--score_min=%g must be smaller than --score_max=%g" % (self.score_min, self.score_max))
    else:
      raise UsageError("--task_name %s is not a sentence-pair task; pair tasks: %s"
                       % (self.name, ", ".join(pair_task_names())))

  def target(self, score):
    """The gold value scaled to [0, 1] (the cosine similarity the cosine-MSE loss aims at)."""
    return (float(score) - self.score_min) / (self.score_max - self.score_min)

  def read(self, data_dir, split, labelled=True):
    """Reads split `split` ("train", "dev", "test") as SentencePairs.

    Args:
      data_dir: the task's data folder.
      split: which split.
      labelled: every pair must have its score/label (False for test sets, which may be unlabelled).

    Returns:
      list of SentencePair.

    Raises:
      UsageError: missing/empty file, malformed row (file:line), score out of range, no pair at all.
    """
    processor = self.processor
    paths = processor.resolve_paths(data_dir, split)
    pairs = []
    for path in paths:
      stats = FileStats()
      processor.stats[path] = stats
      # The processor's own row reader (it records the line of the row it read last in stats.line); labels
      # are checked here, with that line in the message.
      for example in processor._read_split(split, path, stats):  # pylint: disable=protected-access
        line = stats.line
        pair = self._pair(example, "%s:%s" % (path, line), stats, labelled)
        if pair is not None:
          pair.path, pair.line = path, line
          pairs.append(pair)
          stats.examples += 1
    if not pairs:
      raise UsageError("%s: no %s sentence pairs in %s" % (self.name, split, ", ".join(paths)))
    return pairs

  def _pair(self, example, where, stats, labelled):
    """The SentencePair of one example, or None when it is skipped (bad row with skip_bad_rows, no gold)."""
    for side, text in (("first", example.text_a), ("second", example.text_b)):
      if text is None or not str(text).strip():
        self.processor.bad_row(stats, "%s: the pair has no %s sentence" % (where, side))
        return None
    label = example.label
    if label is not None and not str(label).strip():
      label = None
    if label is None:
      if labelled:
        self.processor.bad_row(stats, "%s: the pair has no %s" % (where, "score" if self.kind == SCORED else "label"))
        return None
      score = None
    elif self.kind == BINARY:
      label = str(label).strip()
      if label in self.processor.no_gold_labels:
        stats.dropped_no_gold_label += 1
        return None
      allowed = self.processor.get_labels()
      if label not in allowed:
        if not labelled:  # unlabelled test files carry placeholders (GLUE RTE's -1)
          score = None
        else:
          self.processor.bad_row(stats, "%s: unknown label %r for task %s; allowed labels: %s"
                                 % (where, label, self.name, ", ".join(allowed)))
          return None
      else:
        score = 1.0 if label == self.positive_label else 0.0
    else:
      try:
        score = float(label)
      except (TypeError, ValueError):
        score = None
      if score is None or not math.isfinite(score):
        self.processor.bad_row(stats, "%s: score %r is not a number" % (where, label))
        return None
      if not self.score_min <= score <= self.score_max:
        raise UsageError("%s: score %g is outside the declared range [%g, %g] (--score_min/--score_max)"
                         % (where, score, self.score_min, self.score_max))
    return SentencePair(example.guid, str(example.text_a), str(example.text_b), score, example.example_id)

  def positive_pairs(self, pairs, mnrl_min_score):
    """The (anchor, positive) pairs of `pairs` for the MNRL loss (UsageError when there is none)."""
    if self.kind == BINARY:
      positives = [pair for pair in pairs if pair.score == 1.0]
      rule = "label %s" % self.positive_label
    else:
      positives = [pair for pair in pairs if self.target(pair.score) >= mnrl_min_score]
      rule = "scaled score >= --mnrl_min_score=%g" % mnrl_min_score
    if not positives:
      raise UsageError("%s: --loss=mnrl trains on positive pairs (%s), and the training set has none"
                       % (self.name, rule))
    return positives


def build_task(task_name, data_dir=None, skip_bad_rows=False, train_file=None, dev_file=None, test_file=None,
               xnli_language="zh", text_a_field="text_a", text_b_field="text_b", label_field="label",
               id_field=None, score_min=None, score_max=None):
  """The PairTask for `task_name` (case-insensitive, GLUE/CLUE aliases such as STS-B accepted)."""
  # Generic tasks get their label set from the data when none is given; scores have none, so pass one.
  processor = tasks.get_processor(
      task_name, data_dir=data_dir, skip_bad_rows=skip_bad_rows, train_file=train_file, dev_file=dev_file,
      test_file=test_file, xnli_language=xnli_language, text_a_field=text_a_field, text_b_field=text_b_field,
      label_field=label_field, labels=["score"], id_field=id_field)
  return PairTask(processor, score_min=score_min, score_max=score_max)


# ---- features ------------------------------------------------------------------------------------------------

SideFeatures = collections.namedtuple("SideFeatures", ["input_ids", "input_mask"])


def encode_sentence(text, tokenizer, max_seq_length):
  """`[CLS] tokens [SEP]` of one sentence, truncated to max_seq_length and zero-padded."""
  tokens = [tokenization.CLS_TOKEN] + tokenizer.tokenize(text)[:max_seq_length - 2] + [tokenization.SEP_TOKEN]
  ids = tokenizer.convert_tokens_to_ids(tokens)
  padding = max_seq_length - len(ids)
  return SideFeatures(ids + [0] * padding, [1] * len(ids) + [0] * padding)


def _int_feature(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def write_pair_records(pairs, tokenizer, max_seq_length, output_file, target_fn, pad_to_multiple=None):
  """Writes the pairs' features as TFRecords (atomically).

  Features: input_ids_a, input_mask_a, input_ids_b, input_mask_b (int, max_seq_length each), target (float,
  the gold value scaled to [0, 1]; 0 when unlabelled) and is_real_example.

  Args:
    pairs: list of SentencePair.
    tokenizer: tokenization.FullTokenizer.
    max_seq_length: padded length of each side.
    output_file: TFRecord path.
    target_fn: score -> training target in [0, 1].
    pad_to_multiple: append all-zero records (is_real_example 0) up to a multiple of this (TPU batches).

  Returns:
    The number of records written.
  """
  count = len(pairs)
  if pad_to_multiple:
    count += -count % pad_to_multiple
  empty = SideFeatures([0] * max_seq_length, [0] * max_seq_length)
  with file_io.atomic_output(output_file) as temporary:
    with tf.io.TFRecordWriter(temporary) as writer:
      for index in range(count):
        if index < len(pairs):
          pair = pairs[index]
          side_a = encode_sentence(pair.text_a, tokenizer, max_seq_length)
          side_b = encode_sentence(pair.text_b, tokenizer, max_seq_length)
          target, real = (0.0 if pair.score is None else target_fn(pair.score)), 1
        else:
          side_a = side_b = empty
          target, real = 0.0, 0
        features = collections.OrderedDict([
            ("input_ids_a", _int_feature(side_a.input_ids)), ("input_mask_a", _int_feature(side_a.input_mask)),
            ("input_ids_b", _int_feature(side_b.input_ids)), ("input_mask_b", _int_feature(side_b.input_mask)),
            ("target", tf.train.Feature(float_list=tf.train.FloatList(value=[target]))),
            ("is_real_example", _int_feature([real]))])
        writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())
  return count


def input_fn_builder(input_file, max_seq_length, is_training, drop_remainder, seed=None):
  """TPUEstimator input_fn over write_pair_records' file (training: repeated and shuffled)."""
  spec = {name: tf.io.FixedLenFeature([max_seq_length], tf.int64)
          for name in ("input_ids_a", "input_mask_a", "input_ids_b", "input_mask_b")}
  spec["target"] = tf.io.FixedLenFeature([], tf.float32)
  spec["is_real_example"] = tf.io.FixedLenFeature([], tf.int64)
  return tfrecord_input.single_file_input_fn_builder(input_file, spec, is_training, drop_remainder, seed=seed)


def records_file(output_dir, name):
  """Path of a pair-record cache in output_dir, e.g. pairs_train.tf_record."""
  return os.path.join(output_dir, "pairs_%s.tf_record" % name)
