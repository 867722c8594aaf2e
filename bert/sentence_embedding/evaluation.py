"""Sentence-embedding evaluation as the papers report it, and the files --do_eval / --do_predict write.

Scored sets (STS-B, ...): Spearman and Pearson correlation (scipy, through bert.metrics), times 100, between
the cosine similarity of the two embeddings and the gold score. Binary sets (AFQMC, BUSTM, NLI entailment):
accuracy with a cosine threshold (a pair is positive when its cosine is above it) and average precision
(scikit-learn; it needs no threshold), both times 100. The threshold is the one that maximises accuracy on the
dev set (reported as eval_threshold); test sets are scored with that dev threshold. All result files are
written through a temporary name and renamed.
"""
import io
import os

import numpy as np
from sklearn import metrics as sk_metrics

from bert.classifier import outputs as classifier_outputs
from bert import file_io
from bert import metrics
from bert.sentence_embedding import data


def cosine_scores(embeddings_a, embeddings_b):
  """Row-wise cosine similarity (float64) of two [n, dim] matrices (0 for an all-zero row)."""
  a = np.asarray(embeddings_a, np.float64)
  b = np.asarray(embeddings_b, np.float64)
  norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
  return np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)


def correlation_metrics(cosines, gold):
  """{"spearman", "pearson"} x100 of cosine vs gold (0 when either side is constant)."""
  return {"spearman": 100.0 * metrics.spearman(gold, cosines), "pearson": 100.0 * metrics.pearson(gold, cosines)}


def best_threshold(cosines, labels):
  """(threshold, accuracy) maximising the accuracy of "positive iff cosine > threshold" on these pairs.

  Thresholds are taken between consecutive distinct cosines (their midpoint), or just above the largest (all
  negative) / below the smallest (all positive); the first best one, from the top, wins.
  """
  cosines = np.asarray(cosines, np.float64)
  labels = np.asarray(labels, np.float64)
  order = np.argsort(-cosines, kind="stable")
  ranked, gold = cosines[order], labels[order]
  n = len(ranked)
  # Predicting the top k pairs positive, k = 0..n: correct = positives among them + negatives among the rest.
  true_positives = np.concatenate([[0.0], np.cumsum(gold)])
  false_positives = np.concatenate([[0.0], np.cumsum(1.0 - gold)])
  correct = true_positives + (n - gold.sum()) - false_positives
  valid = np.ones(n + 1, bool)
  valid[1:n] = ranked[:-1] > ranked[1:]  # a cut between equal cosines cannot be expressed by a threshold
  k = int(np.argmax(np.where(valid, correct, -1.0)))
  if k == 0:
    threshold = float(np.nextafter(ranked[0], np.inf))
  elif k == n:
    threshold = float(np.nextafter(ranked[-1], -np.inf))
  else:
    threshold = float((ranked[k - 1] + ranked[k]) / 2.0)
  return threshold, float(correct[k] / n)


def binary_metrics(cosines, labels, threshold=None):
  """{"accuracy", "average_precision"} x100 (and "threshold"); accuracy only when a threshold is known."""
  cosines = np.asarray(cosines, np.float64)
  labels = np.asarray(labels, np.int64)
  results = {}
  if labels.any():
    results["average_precision"] = 100.0 * float(sk_metrics.average_precision_score(labels, cosines))
  else:
    results["average_precision"] = 0.0  # undefined without positives
  if threshold is not None:
    results["accuracy"] = 100.0 * float(np.mean((cosines > threshold) == (labels == 1)))
    results["threshold"] = float(threshold)
  return results


def score_pairs(task, pairs, cosines, prefix, threshold=None, choose_threshold=False):
  """The metrics of one labelled pair set, keyed `<prefix><metric>`.

  Args:
    task: data.PairTask (its kind decides the metrics).
    pairs: the SentencePairs (all labelled).
    cosines: their cosine similarities.
    prefix: e.g. "eval_" or "test_".
    threshold: binary sets: the cosine threshold for accuracy (e.g. chosen on dev).
    choose_threshold: binary sets: choose the threshold on these pairs (dev).
  """
  gold = np.array([pair.score for pair in pairs], np.float64)
  cosines = np.asarray(cosines, np.float64)
  if task.kind == data.SCORED:
    results = correlation_metrics(cosines, gold)
    results["cosine_mse"] = float(np.mean((cosines - np.array([task.target(s) for s in gold])) ** 2))
  else:
    if choose_threshold:
      threshold, _ = best_threshold(cosines, gold)
    results = binary_metrics(cosines, gold.astype(np.int64), threshold)
  results["num_examples"] = len(pairs)
  return {prefix + key: value for key, value in results.items()}


def write_eval_results(output_dir, results):
  """eval_results.txt (`key = value`, run_classifier's format) and eval_results.json."""
  return classifier_outputs.write_eval_results(output_dir, results)


def write_embeddings(path, embeddings):
  """A float32 [n, dim] .npy file, written atomically."""
  buffer = io.BytesIO()
  np.save(buffer, np.asarray(embeddings, np.float32))
  file_io.write_bytes_atomically(path, buffer.getvalue())


def write_pair_scores(path, pairs, cosines):
  """TSV with a header: id, cosine (and the gold score when every pair has one), one line per pair."""
  labelled = all(pair.score is not None for pair in pairs)
  lines = ["id\tcosine" + ("\tgold" if labelled else "") + "\n"]
  for index, (pair, cosine) in enumerate(zip(pairs, cosines)):
    pair_id = pair.example_id if pair.example_id is not None else index
    lines.append("%s\t%.6f%s\n" % (pair_id, cosine, "\t%g" % pair.score if labelled else ""))
  file_io.write_text_atomically(path, "".join(lines))


def prediction_paths(output_dir, name):
  """(embeddings_a .npy, embeddings_b .npy, per-pair cosine .tsv) of the set `name` (e.g. "test")."""
  return (os.path.join(output_dir, "%s_embeddings_a.npy" % name), os.path.join(output_dir, "%s_embeddings_b.npy" % name),
          os.path.join(output_dir, "%s_results.tsv" % name))
