"""Speed of the SQuAD/CMRC/DRCD data path (no model): reading, windows, post-processing, scoring, and the
oracle scores (gold positions as one-hot logits -> predictions -> official-rule scores).

The feature conversion is compared with a baseline measured in the same run: the same code with its caches
disabled, so that every question re-tokenises its context, which is how Google's reader spends its time. The
machines are shared and noisy, so read the ratio, not the absolute numbers. Prints a table and writes JSON;
there are no timed asserts.

  .venv/bin/python benchmarks/bench_squad.py                      # CMRC 2018 dev + DRCD test, ~30 s
  .venv/bin/python benchmarks/bench_squad.py --limit=200 --smoke  # seconds: checks the script runs
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tokenization  # noqa: E402  pylint: disable=wrong-import-position
from bert import file_io  # noqa: E402  pylint: disable=wrong-import-position
from bert.squad import data as squad_data  # noqa: E402  pylint: disable=wrong-import-position
from bert.squad import postprocess as squad_postprocess  # noqa: E402  pylint: disable=wrong-import-position
from bert.squad import scoring as squad_scoring  # noqa: E402  pylint: disable=wrong-import-position

SHARED = os.environ.get("BERT_SHARED_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))
DATASETS = {
    "cmrc2018": os.path.join(SHARED, "cmrc2018", "cmrc2018_dev.json"),
    "drcd": os.path.join(SHARED, "drcd", "DRCD_test.json"),
}


class _UncachedContextTokenizer(squad_data.ContextTokenizer):
  """The baseline: no per-unit memo and no per-paragraph reuse."""

  def tokenize_unit(self, unit):
    return self._align(unit, self.tokenizer.tokenize(unit))

  def tokenize_context(self, context, doc_key=None):
    return super().tokenize_context(context, None)


def limited(dataset, limit):
  """The first `limit` questions of a SQuAD-format object (all when limit is 0)."""
  if not limit:
    return dataset
  kept, count = [], 0
  for article in dataset["data"]:
    paragraphs = []
    for paragraph in article["paragraphs"]:
      if count >= limit:
        break
      qas = paragraph["qas"][:limit - count]
      count += len(qas)
      paragraphs.append(dict(paragraph, qas=qas))
    if paragraphs:
      kept.append(dict(article, paragraphs=paragraphs))
  return dict(dataset, data=kept)


def timed(function, *args, **kwargs):
  start = time.perf_counter()
  value = function(*args, **kwargs)
  return value, time.perf_counter() - start


def bench_one(name, path, tokenizer, args, work_dir):
  """Measures every phase on one data set; returns a dict of numbers."""
  with open(path, encoding="utf-8") as handle:
    dataset = limited(json.load(handle), args.limit)
  data_file = os.path.join(work_dir, "%s.json" % name)
  with open(data_file, "w", encoding="utf-8") as handle:
    json.dump(dataset, handle, ensure_ascii=False)
  (examples, stats), read_s = timed(squad_data.read_squad_examples, data_file, False)
  convert = lambda context_tokenizer: squad_data.convert_examples_to_features(  # noqa: E731
      examples, tokenizer, args.max_seq_length, args.doc_stride, args.max_query_length, False,
      context_tokenizer=context_tokenizer)
  features, convert_s = timed(convert, squad_data.ContextTokenizer(tokenizer))
  baseline_features, baseline_s = timed(convert, _UncachedContextTokenizer(tokenizer))
  assert [f.input_ids for f in baseline_features] == [f.input_ids for f in features]
  results = []
  for feature in features:
    start = np.zeros(args.max_seq_length, np.float32)
    end = np.zeros(args.max_seq_length, np.float32)
    if feature.answer_in_window:
      start[feature.start_position] = end[feature.end_position] = 1.0
    results.append(squad_postprocess.RawResult(feature.unique_id, start, end))
  paths = [os.path.join(work_dir, "%s_%s.json" % (name, kind)) for kind in ("pred", "nbest", "null")]
  _, post_s = timed(squad_postprocess.write_predictions, examples, features, results, args.n_best_size,
                    args.max_answer_length, *paths)
  scores, score_s = timed(squad_scoring.evaluate_files, data_file, paths[0], name)
  questions = len(examples)
  return {
      "dataset": name, "questions": questions, "windows": len(features),
      "answers_repaired": stats.answers_repaired, "answers_unrecoverable": stats.answers_unrecoverable,
      "read_questions_per_s": questions / read_s,
      "convert_questions_per_s": questions / convert_s,
      "baseline_convert_questions_per_s": questions / baseline_s,
      "convert_speedup_vs_baseline": baseline_s / convert_s,
      "postprocess_questions_per_s": questions / post_s,
      "score_questions_per_s": questions / score_s,
      "oracle_em": scores["EM"], "oracle_f1": scores["F1"],
  }


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--limit", type=int, default=0, help="questions per data set (0: all)")
  parser.add_argument("--max_seq_length", type=int, default=384)
  parser.add_argument("--doc_stride", type=int, default=128)
  parser.add_argument("--max_query_length", type=int, default=64)
  parser.add_argument("--n_best_size", type=int, default=20)
  parser.add_argument("--max_answer_length", type=int, default=100)
  parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "bench_squad.json"),
                      help="JSON output path")
  parser.add_argument("--smoke", action="store_true", help="only check that the script runs (no JSON written)")
  args = parser.parse_args()
  tokenizer = tokenization.FullTokenizer(os.path.join(ROOT, "vocab", "zh_vocab.txt"), do_lower_case=True)
  tokenizer.tokenize("预热")  # builds the tokenizer's one-off tables outside the timings
  rows = []
  with tempfile.TemporaryDirectory() as work_dir:
    for name, path in DATASETS.items():
      if not os.path.exists(path):
        print("skipping %s: %s is absent" % (name, path))
        continue
      rows.append(bench_one(name, path, tokenizer, args, work_dir))
  header = ("dataset", "questions", "windows", "read q/s", "convert q/s", "baseline q/s", "speedup", "post q/s",
            "score q/s", "oracle EM", "oracle F1")
  print(" | ".join(header))
  for row in rows:
    print(" | ".join([row["dataset"], str(row["questions"]), str(row["windows"])] + [
        "%.0f" % row[key] for key in ("read_questions_per_s", "convert_questions_per_s",
                                      "baseline_convert_questions_per_s")] + [
        "%.1fx" % row["convert_speedup_vs_baseline"], "%.0f" % row["postprocess_questions_per_s"],
        "%.0f" % row["score_questions_per_s"], "%.2f" % row["oracle_em"], "%.2f" % row["oracle_f1"]]))
  if not args.smoke:
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    file_io.write_json_atomically(args.output, {"settings": vars(args), "results": rows})
    print("wrote %s" % args.output)


if __name__ == "__main__":
  main()
