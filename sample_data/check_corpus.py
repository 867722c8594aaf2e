"""Checks the format of a BERT pretraining text file and prints its counts.

Format: UTF-8, one sentence per line, one blank line between documents, no blank line at the start or end,
no doubled blank lines (empty documents), no leading/trailing whitespace on a line, a final newline.

Usage: python sample_data/check_corpus.py [sample_data/zh_corpus.txt]
Exits with a one-line error naming the file and line when the format is wrong.
"""
import os
import sys


def corpus_problems_and_counts(path, min_sentences=5, max_sentences=15):
  """Returns (problems, counts) for the corpus at `path`.

  Args:
    path: corpus file.
    min_sentences, max_sentences: allowed number of sentence lines per document.

  Returns:
    problems: list of "path:line: message" strings (empty when the file is well-formed).
    counts: dict with documents, sentence_lines, lines, bytes, characters, min/max sentences per document.
  """
  data = open(path, "rb").read()
  problems = []
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as e:
    return ["%s: not UTF-8 (byte offset %d)" % (path, e.start)], {}
  if not text.endswith("\n"):
    problems.append("%s: no final newline" % path)
  lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
  documents, current = [], []
  for number, line in enumerate(lines, 1):
    if line != line.strip():
      problems.append("%s:%d: leading or trailing whitespace" % (path, number))
    if "\r" in line or "\ufeff" in line:
      problems.append("%s:%d: carriage return or byte-order mark" % (path, number))
    if line.strip():
      current.append(line)
    elif current:
      documents.append((number - len(current), current))
      current = []
    else:
      problems.append("%s:%d: blank line without a document before it (empty document)" % (path, number))
  if current:
    documents.append((len(lines) - len(current) + 1, current))
  if lines and not lines[-1].strip():
    problems.append("%s:%d: blank line at the end of the file" % (path, len(lines)))
  for first_line, sentences in documents:
    if not min_sentences <= len(sentences) <= max_sentences:
      problems.append("%s:%d: document has %d sentences (expected %d-%d)" %
                      (path, first_line, len(sentences), min_sentences, max_sentences))
  sizes = [len(sentences) for _, sentences in documents]
  counts = {"documents": len(documents), "sentence_lines": sum(sizes), "lines": len(lines), "bytes": len(data),
            "characters": len(text), "min_sentences_per_document": min(sizes, default=0),
            "max_sentences_per_document": max(sizes, default=0)}
  return problems, counts


def main(argv):
  path = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "zh_corpus.txt")
  if not os.path.isfile(path):
    sys.exit("error: corpus file not found: %s" % path)
  problems, counts = corpus_problems_and_counts(path)
  if problems:
    sys.exit("error: %s (%d problems in all)" % (problems[0], len(problems)))
  print(" ".join("%s=%d" % item for item in counts.items()))


if __name__ == "__main__":
  main(sys.argv)
