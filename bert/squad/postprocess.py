"""From start/end logits to answers: n-best spans, SQuAD 2.0 null answers, predictions.json and friends.

Same decisions as Google's `write_predictions`: for each window take the best start and end positions, keep
pairs with start <= end, length <= max_answer_length and a start at a token whose best window this is; rank by
start_logit + end_logit across windows; de-duplicate by answer text; softmax the n-best scores. For SQuAD 2.0
the null score is start_logit[CLS] + end_logit[CLS] of the window where it is smallest, and a question is
answered "" when null score - best span score > null_score_diff_threshold (the difference goes to
null_odds.json).

Differences, on purpose:
* The answer text is cut from the original context with the character offsets of the start and end tokens
  (see `bert.squad.data`), so it is exactly the original text (Chinese without inserted spaces, original
  casing and accents) with no heuristic realignment.
* The n-best start/end candidates are chosen among the context tokens of the window only (Google ranks all
  positions, so question or padding positions can crowd out valid ones).
* A question with no candidate span at all is predicted "" (Google writes the word "empty").
* Files are written atomically (temporary name, then rename), also on gs:// paths through tf.io.gfile.
"""

import collections

import numpy as np

from bert import file_io

RawResult = collections.namedtuple("RawResult", ["unique_id", "start_logits", "end_logits"])

# start/end index the window's context tokens (0 = the token at feature.doc_offset).
_Candidate = collections.namedtuple("_Candidate", ["score", "feature", "start", "end", "start_logit", "end_logit"])


def _window_candidates(feature, result, n_best_size, max_answer_length):
  """Valid spans of one window among its n best starts and n best ends, as arrays (score, start, end)."""
  offset = feature.doc_offset
  length = len(feature.char_starts)
  start_logits = np.asarray(result.start_logits[offset:offset + length], dtype=np.float64)
  end_logits = np.asarray(result.end_logits[offset:offset + length], dtype=np.float64)
  allowed_starts = np.flatnonzero(np.asarray(feature.token_is_max_context, dtype=bool))
  if allowed_starts.size == 0 or length == 0:
    return None
  starts = allowed_starts[np.argsort(-start_logits[allowed_starts], kind="stable")[:n_best_size]]
  ends = np.argsort(-end_logits, kind="stable")[:n_best_size]
  span_lengths = ends[None, :] - starts[:, None] + 1
  rows, columns = np.nonzero((span_lengths >= 1) & (span_lengths <= max_answer_length))
  if rows.size == 0:
    return None
  starts, ends = starts[rows], ends[columns]
  return start_logits[starts] + end_logits[ends], starts, ends, start_logits[starts], end_logits[ends]


def _ranked_candidates(features, results_by_id, n_best_size, max_answer_length, null):
  """Yields `_Candidate`s of all windows (and the null answer, if given) by decreasing score, lazily."""
  parts = []
  for feature in features:
    result = results_by_id.get(feature.unique_id)
    window = None if result is None else _window_candidates(feature, result, n_best_size, max_answer_length)
    if window is not None:
      parts.append((feature, window))
  if null is not None:
    parts.append((None, tuple(np.asarray([value]) for value in (null[0], 0, 0, null[1], null[2]))))
  if not parts:
    return
  scores = np.concatenate([window[0] for _, window in parts])
  owners = np.concatenate([np.full(len(window[0]), i) for i, (_, window) in enumerate(parts)])
  rows = np.concatenate([np.arange(len(window[0])) for _, window in parts])
  for index in np.argsort(-scores, kind="stable"):
    feature, window = parts[owners[index]]
    row = rows[index]
    yield _Candidate(float(window[0][row]), feature, int(window[1][row]), int(window[2][row]),
                     float(window[3][row]), float(window[4][row]))


def _softmax(scores):
  if not scores:
    return []
  values = np.asarray(scores, dtype=np.float64)
  values = np.exp(values - values.max())
  return (values / values.sum()).tolist()


def predict_example(example, features, results_by_id, n_best_size, max_answer_length, version_2_with_negative,
                    null_score_diff_threshold):
  """Answer, n-best list and null odds of one example.

  Args:
    example: SquadExample.
    features: its InputFeatures.
    results_by_id: dict unique_id -> RawResult.
    n_best_size: number of n-best answers to keep (and start/end candidates per window).
    max_answer_length: longest answer in tokens.
    version_2_with_negative: SQuAD 2.0: consider the null answer.
    null_score_diff_threshold: answer "" when null score - best span score exceeds it.

  Returns:
    (answer text, list of n-best dicts, null odds or None for SQuAD 1.1).
  """
  null = None  # (score, start_logit, end_logit) of the window with the smallest null score
  if version_2_with_negative:
    for feature in features:
      result = results_by_id.get(feature.unique_id)
      if result is None:
        continue
      null_start, null_end = float(result.start_logits[0]), float(result.end_logits[0])
      if null is None or null_start + null_end < null[0]:
        null = (null_start + null_end, null_start, null_end)

  entries = []  # (text, start_logit, end_logit)
  seen = set()
  for candidate in _ranked_candidates(features, results_by_id, n_best_size, max_answer_length, null):
    if len(entries) >= n_best_size:
      break
    if candidate.feature is None:
      text = ""
    else:
      first_char = candidate.feature.char_starts[candidate.start]
      last_char = candidate.feature.char_ends[candidate.end]
      text = example.context[first_char:last_char]
    if text in seen:
      continue
    seen.add(text)
    entries.append((text, candidate.start_logit, candidate.end_logit))
  if null is not None and "" not in seen:
    # The null answer always appears in the SQuAD 2.0 n-best list, even when it ranks below n_best_size.
    entries.append(("", null[1], null[2]))
  if not entries:
    entries.append(("", 0.0, 0.0))

  probabilities = _softmax([start + end for _, start, end in entries])
  nbest = [collections.OrderedDict([("text", text), ("probability", probability), ("start_logit", start),
                                    ("end_logit", end)])
           for (text, start, end), probability in zip(entries, probabilities)]
  if not version_2_with_negative:
    return nbest[0]["text"], nbest, None
  best_span = next((e for e in entries if e[0]), None)
  null_score = null[0] if null is not None else 0.0
  if best_span is None:
    return "", nbest, null_score
  score_diff = null_score - best_span[1] - best_span[2]
  answer = "" if score_diff > null_score_diff_threshold else best_span[0]
  return answer, nbest, score_diff


def compute_predictions(all_examples, all_features, all_results, n_best_size, max_answer_length,
                        version_2_with_negative=False, null_score_diff_threshold=0.0):
  """Answers for every example.

  Args:
    all_examples: list of SquadExample (feature.example_index indexes it).
    all_features: list of InputFeatures.
    all_results: iterable of RawResult (logits over the whole sequence).
    n_best_size, max_answer_length, version_2_with_negative, null_score_diff_threshold: see `predict_example`.

  Returns:
    (predictions, nbest, null_odds): OrderedDicts keyed by question id (null_odds empty for SQuAD 1.1).
  """
  results_by_id = {result.unique_id: result for result in all_results}
  features_of = collections.defaultdict(list)
  for feature in all_features:
    features_of[feature.example_index].append(feature)
  predictions = collections.OrderedDict()
  nbest_json = collections.OrderedDict()
  null_odds = collections.OrderedDict()
  for index, example in enumerate(all_examples):
    answer, nbest, odds = predict_example(example, features_of.get(index, []), results_by_id, n_best_size,
                                          max_answer_length, version_2_with_negative, null_score_diff_threshold)
    predictions[example.qas_id] = answer
    nbest_json[example.qas_id] = nbest
    if odds is not None:
      null_odds[example.qas_id] = odds
  return predictions, nbest_json, null_odds


def write_predictions(all_examples, all_features, all_results, n_best_size, max_answer_length,
                      output_prediction_file, output_nbest_file, output_null_log_odds_file=None,
                      version_2_with_negative=False, null_score_diff_threshold=0.0):
  """Computes the answers and writes predictions.json, nbest_predictions.json (and null_odds.json for v2).

  Args:
    all_examples, all_features, all_results, n_best_size, max_answer_length, version_2_with_negative,
      null_score_diff_threshold: see `compute_predictions`.
    output_prediction_file: {id: answer}.
    output_nbest_file: {id: [{"text", "probability", "start_logit", "end_logit"}, ...]}.
    output_null_log_odds_file: {id: null score - best span score} (written only for SQuAD 2.0).

  Returns:
    The predictions dict.
  """
  predictions, nbest, null_odds = compute_predictions(all_examples, all_features, all_results, n_best_size,
                                                      max_answer_length, version_2_with_negative,
                                                      null_score_diff_threshold)
  file_io.write_json_atomically(output_prediction_file, predictions, sort_keys=False)
  file_io.write_json_atomically(output_nbest_file, nbest, indent=None, sort_keys=False)
  if version_2_with_negative and output_null_log_odds_file:
    file_io.write_json_atomically(output_null_log_odds_file, null_odds, sort_keys=False)
  return predictions
