"""Deterministic held-out splits of a data file, for corpora and benchmarks that ship without one.

Many data sets in circulation lack a split a paper needs (a pretraining corpus has no held-out documents; the
copies of DRCD, AFQMC and OCNLI at hand have no usable train/dev pair). This module holds out every N-th unit
of a file, where the unit is what must not be shared between the two sides:
- `documents`: a pretraining corpus (one sentence per line, blank line between documents) -> whole documents,
  so no sentence of a held-out document was seen in training;
- `squad`: SQuAD-format JSON (SQuAD, CMRC 2018, DRCD) -> whole articles, so no paragraph is in both;
- `jsonl`: JSON lines (CLUE) -> rows, or groups of rows sharing `group_field` (OCNLI's `prem_id`: the three
  hypotheses written for one premise stay on one side).
The split depends only on the file and N (unit k, counted from 0, is held out when k % N == N - 1), so it is the
same on every machine and every run. Rows are copied byte for byte; JSON is re-serialised with its key order.
"""
import json
import os

from bert import file_io
from bert.errors import UsageError

FORMATS = ("documents", "squad", "jsonl")


def read_documents(path, flag_name="--input_file"):
  """Reads a pretraining-format corpus: one sentence per line, blank lines between documents.

  Args:
    path: UTF-8 text file.
    flag_name: the flag that named the file, for error messages.

  Returns:
    list of documents, each a list of non-empty, stripped lines.

  Raises:
    UsageError: the file is missing or has no text.
  """
  if not os.path.isfile(path):
    raise UsageError("%s %s does not exist" % (flag_name, path))
  documents, current = [], []
  with open(path, encoding="utf-8-sig", errors="replace") as handle:
    for line in handle:
      line = line.strip()
      if line:
        current.append(line)
      elif current:
        documents.append(current)
        current = []
  if current:
    documents.append(current)
  if not documents:
    raise UsageError("%s %s contains no text" % (flag_name, path))
  return documents


def format_documents(documents):
  """The pretraining-format text of `documents` (blank line between documents)."""
  return "\n\n".join("\n".join(doc) for doc in documents) + "\n"


def heldout_mask(keys, every):
  """Which items are held out: items whose key is the k-th distinct key seen with k % every == every - 1.

  Args:
    keys: one hashable key per item (items with equal keys stay together).
    every: hold out one unit in `every` (>= 2).

  Returns:
    list of bools, True for held-out items.
  """
  order = {}
  for key in keys:
    order.setdefault(key, len(order))
  return [order[key] % every == every - 1 for key in keys]


def _split(items, keys, every, unit, path):
  mask = heldout_mask(keys, every)
  heldout = [item for item, out in zip(items, mask) if out]
  train = [item for item, out in zip(items, mask) if not out]
  if not heldout or not train:
    raise UsageError("%s: %d %s are too few to hold out one in %d and keep some for training" %
                     (path, len(set(keys)), unit, every))
  return train, heldout


def _read_jsonl(path, group_field):
  """Returns (raw lines, group keys) of a JSON-lines file; errors name file and line."""
  lines, keys = [], []
  with open(path, "rb") as handle:
    for number, raw in enumerate(handle, 1):
      if not raw.strip():
        continue
      try:
        row = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
      except (UnicodeDecodeError, ValueError) as error:
        raise UsageError("%s line %d: not a JSON object (%s)" % (path, number, error)) from None
      if group_field is None:
        key = number
      elif not isinstance(row, dict) or group_field not in row:
        raise UsageError("%s line %d: no field %r (--group_field)" % (path, number, group_field))
      else:
        key = json.dumps(row[group_field], sort_keys=True)
      lines.append(raw if raw.endswith(b"\n") else raw + b"\n")
      keys.append(key)
  return lines, keys


def _read_squad(path):
  try:
    with open(path, encoding="utf-8-sig") as handle:
      dataset = json.load(handle)
    articles = dataset["data"]
  except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
    raise UsageError("%s: not SQuAD-format JSON with a 'data' list (%s)" % (path, error)) from None
  return dataset, articles


def split_file(path, data_format, every, train_output, heldout_output, group_field=None):
  """Splits `path` into a training file and a held-out file (both written atomically).

  Args:
    path: the input file.
    data_format: one of FORMATS.
    every: hold out one unit (document, article, row or group) in `every`.
    train_output: path of the training part.
    heldout_output: path of the held-out part.
    group_field: jsonl only: rows with equal values of this field are one unit.

  Returns:
    dict with the counts of units and items on each side.

  Raises:
    UsageError: bad arguments or input.
  """
  if data_format not in FORMATS:
    raise UsageError("--format must be one of %s, got %r" % (", ".join(FORMATS), data_format))
  if every < 2:
    raise UsageError("--heldout_every must be >= 2, got %d" % every)
  if group_field and data_format != "jsonl":
    raise UsageError("--group_field applies to --format=jsonl only")
  if not os.path.isfile(path):
    raise UsageError("--input_file %s does not exist" % path)
  for flag, output in (("--train_output", train_output), ("--heldout_output", heldout_output)):
    if not output:
      raise UsageError("%s is required" % flag)
    if os.path.abspath(output) == os.path.abspath(path):
      raise UsageError("%s %s is the input file" % (flag, output))
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
      raise UsageError("%s %s: directory %s does not exist" % (flag, output, directory))

  if data_format == "documents":
    documents = read_documents(path)
    train, heldout = _split(documents, list(range(len(documents))), every, "documents", path)
    texts = format_documents(train), format_documents(heldout)
    counts = {"unit": "documents", "train": len(train), "heldout": len(heldout)}
  elif data_format == "squad":
    dataset, articles = _read_squad(path)
    train, heldout = _split(articles, list(range(len(articles))), every, "articles", path)
    texts = tuple(json.dumps(dict(dataset, data=part), ensure_ascii=False) + "\n" for part in (train, heldout))
    counts = {"unit": "articles", "train": len(train), "heldout": len(heldout),
              "train_questions": _count_questions(train), "heldout_questions": _count_questions(heldout)}
  else:
    lines, keys = _read_jsonl(path, group_field)
    train, heldout = _split(lines, keys, every, "groups" if group_field else "rows", path)
    texts = tuple(b"".join(part).decode("utf-8-sig") for part in (train, heldout))
    counts = {"unit": "rows", "train": len(train), "heldout": len(heldout)}
  file_io.write_text_atomically(train_output, texts[0])
  file_io.write_text_atomically(heldout_output, texts[1])
  return counts


def _count_questions(articles):
  return sum(len(paragraph.get("qas", [])) for article in articles for paragraph in article.get("paragraphs", []))
