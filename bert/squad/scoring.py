"""Built-in scorers for extractive question answering: SQuAD v1.1, SQuAD v2.0, CMRC 2018 and DRCD.

The numbers are meant to be comparable with the official evaluation scripts, re-implemented here so that no
NLTK (and no data download) is needed:

* SQuAD v1.1: lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace; EM is string
  equality, F1 the bag-of-tokens overlap; maximum over the references; unanswered questions score 0.
* SQuAD v2.0: the same normalisation; a question whose references are all empty is unanswerable and only the
  empty prediction is right (F1 = EM there); HasAns/NoAns breakdown; with the null-odds file, the thresholds
  on the null-odds that maximise EM and F1 (`best_exact`, `best_f1`).
* CMRC 2018 and DRCD (the same rules): lower-case and strip; remove the characters of `CMRC_PUNCTUATION`;
  EM is string equality with any reference; F1 uses "mixed segmentation" (every character in U+4E00-U+9FA5 is
  a token, the runs of other characters are word-tokenised) and the longest common *contiguous* token run;
  the score is the maximum over the references; EM, F1 and AVERAGE = (EM + F1) / 2 are percentages over all
  questions; questions without a prediction score 0 and are counted as SKIP. (Extension: a question without
  reference answers, e.g. SQuAD 2.0-style Chinese data, scores 1 for an empty prediction, else 0.)

The official CMRC script tokenises the non-CJK runs with NLTK's `word_tokenize` (Penn-Treebank rules after
Punkt sentence splitting). `treebank_word_tokenize` below implements the Treebank rules that matter for answer
strings: quotes, the comma (kept inside numbers such as 1,000), ; @ # $ % & ? ! and brackets split off,
contractions ('s 'll n't ... and cannot/gonna/wanna) split, the final period of the run split off ("u.s." ->
"u.s" "."), runs of periods as one token. Approximation: NLTK's Punkt sentence splitter is not reproduced,
so a period *inside* a run ("mr. smith") stays attached to its word, where NLTK may split the sentence there
and detach it. CMRC removes most punctuation before tokenising, so this only affects rare answers.

Another faithful quirk: the official punctuation list holds the two-character string "……", but it is compared
with single characters, so a lone "…" is never removed. The same is done here.

Usage:
  python -m bert.squad.scoring --dataset cmrc2018 cmrc2018_dev.json predictions.json
  python -m bert.squad.scoring --dataset squad --na_prob_file null_odds.json dev-v2.0.json predictions.json
"""

import argparse
import collections
import json
import re
import string
import sys

from bert.errors import UsageError

DATASETS = ("squad", "cmrc2018", "drcd", "auto")

# Characters the CMRC 2018 evaluation removes before EM and F1 (ASCII then full-width), "……" not included:
# see the module docstring.
CMRC_PUNCTUATION = frozenset("-:_*^/\\~`+=" "，。：？！“”；’《》·、「」（）－～『』")

_CMRC_CJK_RE = re.compile("[\u4e00-\u9fa5]")
_CJK_ANY_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# ---------------------------------------------------------------------------------------------------------------
# Treebank-style word tokenizer (the part of NLTK's word_tokenize that answer strings exercise).
# ---------------------------------------------------------------------------------------------------------------

# Multi-word contractions NLTK splits in two ("cannot" -> "can" "not").
_SPLIT_WORDS = (
    (re.compile(r"(?i)\b(can)(not)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(gon|wan)(na)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(got)(ta)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(gim|lem)(me)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(d)('ye)\b"), r" \1 \2 "),
    (re.compile(r"(?i)\b(more)('n)\b"), r" \1 \2 "),
    (re.compile(r"(?i) ('t)(is|was)\b"), r" \1 \2 "),
)

_TREEBANK_RULES = (
    # Opening double quotes become ``; closing ones ''.
    (re.compile(r'^"'), r" `` "),
    (re.compile(r'(?<=[\s(\[{<])"'), r" `` "),
    (re.compile(r'"'), r" '' "),
    (re.compile(r"([«“‘„»”’])"), r" \1 "),
    # Ellipsis before the single-period rule so "..." stays one token.
    (re.compile(r"\.{2,}|…"), r" \g<0> "),
    # A comma or colon is split off unless a digit follows it (1,000 and 10:30 stay whole).
    (re.compile(r"([:,])(?!\d)"), r" \1 "),
    (re.compile(r"[;@#$%&?!]"), r" \g<0> "),
    (re.compile(r"[\]\[(){}<>]"), r" \g<0> "),
    (re.compile(r"--"), r" -- "),
    # The final period of the text (possibly followed by closing brackets/quotes) is its own token.
    (re.compile(r"(?<!\.)\.(?=[\])}>\"' ]*\s*$)"), r" . "),
)

# Contractions split from the end of a word: "john's" -> "john" "'s", "don't" -> "do" "n't".
_CONTRACTION_RE = re.compile(r"(?i)^(.+?)(n't|'s|'m|'d|'ll|'re|'ve)$")


def treebank_word_tokenize(text):
  """Tokenises a non-CJK run the way NLTK's `word_tokenize` does on typical answer strings.

  Args:
    text: a string without CJK characters (already lower-cased by the caller, like the official script).

  Returns:
    A list of token strings.
  """
  text = " %s " % text
  for pattern, replacement in _TREEBANK_RULES:
    text = pattern.sub(replacement, text)
  for pattern, replacement in _SPLIT_WORDS:
    text = pattern.sub(replacement, text)
  tokens = []
  for word in text.split():
    match = _CONTRACTION_RE.match(word)
    if match and match.group(1) not in ("'", "`"):
      tokens.extend([match.group(1), match.group(2)])
    elif len(word) > 1 and word.endswith("'") and not word.endswith("''"):
      # A trailing apostrophe (plural possessive "students'") is split off.
      tokens.extend([word[:-1], "'"])
    else:
      tokens.append(word)
  return tokens


# ---------------------------------------------------------------------------------------------------------------
# CMRC 2018 / DRCD
# ---------------------------------------------------------------------------------------------------------------


def cmrc_remove_punctuation(text):
  """Lower-cases, strips and removes the CMRC punctuation characters (the EM normalisation)."""
  return "".join(ch for ch in text.lower().strip() if ch not in CMRC_PUNCTUATION)


def cmrc_mixed_segmentation(text, remove_punctuation=True):
  """Splits text into CMRC tokens: each U+4E00-U+9FA5 character alone, other runs word-tokenised.

  Args:
    text: the answer string.
    remove_punctuation: drop the CMRC punctuation characters first (the F1 setting). When False, they are kept
      as one-character tokens, as the official script does.

  Returns:
    A list of tokens.
  """
  tokens = []
  pending = []
  for ch in text.lower().strip():
    if ch in CMRC_PUNCTUATION and remove_punctuation:
      continue
    if _CMRC_CJK_RE.match(ch) or ch in CMRC_PUNCTUATION:
      if pending:
        tokens.extend(treebank_word_tokenize("".join(pending)))
        pending = []
      tokens.append(ch)
    else:
      pending.append(ch)
  if pending:
    tokens.extend(treebank_word_tokenize("".join(pending)))
  return tokens


def longest_common_substring_length(first, second):
  """Length of the longest common contiguous run of equal items of two sequences (dynamic programming)."""
  if not first or not second:
    return 0
  best = 0
  previous = [0] * (len(second) + 1)
  for item in first:
    current = [0] * (len(second) + 1)
    for j, other in enumerate(second):
      if item == other:
        current[j + 1] = previous[j] + 1
        if current[j + 1] > best:
          best = current[j + 1]
    previous = current
  return best


def cmrc_f1(references, prediction):
  """Best CMRC F1 (a fraction in [0, 1]) of a prediction over its references."""
  prediction_tokens = cmrc_mixed_segmentation(prediction)
  best = 0.0
  for reference in references:
    reference_tokens = cmrc_mixed_segmentation(reference)
    common = longest_common_substring_length(reference_tokens, prediction_tokens)
    if common == 0:
      continue
    precision = common / len(prediction_tokens)
    recall = common / len(reference_tokens)
    best = max(best, 2 * precision * recall / (precision + recall))
  return best


def cmrc_exact_match(references, prediction):
  """1 if the normalised prediction equals a normalised reference, else 0."""
  normalized = cmrc_remove_punctuation(prediction)
  return int(any(cmrc_remove_punctuation(reference) == normalized for reference in references))


def evaluate_cmrc(questions, predictions):
  """Scores predictions with the CMRC 2018 rules (also used for DRCD).

  Args:
    questions: list of `GoldQuestion`.
    predictions: dict question id -> predicted answer string.

  Returns:
    OrderedDict with AVERAGE, F1, EM (percentages), TOTAL and SKIP (question counts), like the official script.
  """
  f1_sum = em_sum = 0.0
  skipped = 0
  for question in questions:
    qid = question.qid.strip()
    if qid not in predictions:
      skipped += 1
      continue
    prediction = str(predictions[qid])
    if not question.answers:
      # Not in the official script (CMRC has no unanswerable questions): like SQuAD 2.0, only "" is right.
      correct = float(not cmrc_remove_punctuation(prediction))
      f1_sum += correct
      em_sum += correct
      continue
    f1_sum += cmrc_f1(question.answers, prediction)
    em_sum += cmrc_exact_match(question.answers, prediction)
  total = len(questions)
  f1 = 100.0 * f1_sum / total if total else 0.0
  em = 100.0 * em_sum / total if total else 0.0
  return collections.OrderedDict([("AVERAGE", (em + f1) * 0.5), ("F1", f1), ("EM", em), ("TOTAL", total),
                                  ("SKIP", skipped)])


# ---------------------------------------------------------------------------------------------------------------
# SQuAD v1.1 / v2.0
# ---------------------------------------------------------------------------------------------------------------

_ARTICLES_RE = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def squad_normalize_answer(text):
  """SQuAD normalisation: lower-case, drop punctuation and articles, collapse whitespace."""
  text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
  text = _ARTICLES_RE.sub(" ", text)
  return " ".join(text.split())


def squad_tokens(text):
  """Tokens of the normalised text (the empty string has none)."""
  return squad_normalize_answer(text).split() if text else []


def squad_exact(reference, prediction):
  return int(squad_normalize_answer(reference) == squad_normalize_answer(prediction))


def squad_f1(reference, prediction, empty_matches_empty):
  """Bag-of-tokens F1 of one prediction against one reference.

  Args:
    reference: reference answer string.
    prediction: predicted answer string.
    empty_matches_empty: the v2.0 rule: if either side has no tokens, F1 is 1 when both are empty, else 0.
      v1.1 scores an empty side as 0.

  Returns:
    F1 as a fraction.
  """
  reference_tokens = squad_tokens(reference)
  prediction_tokens = squad_tokens(prediction)
  if empty_matches_empty and (not reference_tokens or not prediction_tokens):
    return float(reference_tokens == prediction_tokens)
  common = collections.Counter(reference_tokens) & collections.Counter(prediction_tokens)
  overlap = sum(common.values())
  if overlap == 0:
    return 0.0
  precision = overlap / len(prediction_tokens)
  recall = overlap / len(reference_tokens)
  return 2 * precision * recall / (precision + recall)


def evaluate_squad_v1(questions, predictions):
  """SQuAD v1.1 scores: {"exact_match", "f1"} in percent over all questions (missing predictions score 0)."""
  exact_sum = f1_sum = 0.0
  for question in questions:
    if question.qid not in predictions:
      continue
    prediction = predictions[question.qid]
    exact_sum += max((squad_exact(reference, prediction) for reference in question.answers), default=0)
    f1_sum += max((squad_f1(reference, prediction, empty_matches_empty=False) for reference in question.answers),
                  default=0.0)
  total = len(questions)
  return collections.OrderedDict([("exact_match", 100.0 * exact_sum / total if total else 0.0),
                                  ("f1", 100.0 * f1_sum / total if total else 0.0)])


def _squad_v2_raw_scores(questions, predictions):
  """Per-question EM and F1 (fractions) with the v2.0 rules; questions without prediction are left out."""
  exact, f1 = {}, {}
  for question in questions:
    if question.qid not in predictions:
      continue
    references = [a for a in question.answers if squad_normalize_answer(a)] or [""]
    prediction = predictions[question.qid]
    exact[question.qid] = max(squad_exact(reference, prediction) for reference in references)
    f1[question.qid] = max(squad_f1(reference, prediction, empty_matches_empty=True) for reference in references)
  return exact, f1


def _best_threshold(questions, predictions, scores, na_probs):
  """Threshold on the null odds that maximises the total score, and that score in percent.

  Predicting "no answer" for every question with na_prob > threshold: start from all questions answered
  "no answer" (score = number of unanswerable ones) and walk the questions by increasing null odds, switching
  each to its real prediction.
  """
  has_answer = {q.qid: bool([a for a in q.answers if squad_normalize_answer(a)]) for q in questions}
  current = best = float(sum(1 for q in questions if not has_answer[q.qid]))
  best_threshold = 0.0
  for qid in sorted(na_probs, key=lambda k: na_probs[k]):
    if qid not in scores:
      continue
    if has_answer[qid]:
      current += scores[qid]
    elif predictions[qid]:
      current -= 1
    if current > best:
      best = current
      best_threshold = na_probs[qid]
  return 100.0 * best / len(scores), best_threshold


def evaluate_squad_v2(questions, predictions, na_probs=None, na_prob_thresh=1.0):
  """SQuAD v2.0 scores with HasAns/NoAns splits and, given null odds, the best thresholds.

  Args:
    questions: list of `GoldQuestion`.
    predictions: dict id -> answer ("" means no answer).
    na_probs: optional dict id -> null odds (e.g. null_odds.json); missing means 0 for every question.
    na_prob_thresh: questions with na_prob above it are scored as predicted "no answer".

  Returns:
    OrderedDict with exact, f1, total, HasAns_*, NoAns_* and, with na_probs, best_exact(_thresh), best_f1(_thresh).
  """
  exact_raw, f1_raw = _squad_v2_raw_scores(questions, predictions)
  probs = na_probs if na_probs is not None else {q.qid: 0.0 for q in questions}

  def thresholded(raw):
    out = {}
    for question in questions:
      if question.qid not in raw:
        out[question.qid] = 0.0
        continue
      if probs.get(question.qid, 0.0) > na_prob_thresh:
        has_answer = any(squad_normalize_answer(a) for a in question.answers)
        out[question.qid] = float(not has_answer)
      else:
        out[question.qid] = raw[question.qid]
    return out

  exact = thresholded(exact_raw)
  f1 = thresholded(f1_raw)
  result = collections.OrderedDict()

  def add_split(prefix, qids):
    result[prefix + "exact"] = 100.0 * sum(exact[k] for k in qids) / len(qids)
    result[prefix + "f1"] = 100.0 * sum(f1[k] for k in qids) / len(qids)
    result[prefix + "total"] = len(qids)

  all_ids = [q.qid for q in questions]
  if not all_ids:
    return collections.OrderedDict([("exact", 0.0), ("f1", 0.0), ("total", 0)])
  add_split("", all_ids)
  has_ids = [q.qid for q in questions if any(squad_normalize_answer(a) for a in q.answers)]
  no_ids = [q.qid for q in questions if not any(squad_normalize_answer(a) for a in q.answers)]
  if has_ids:
    add_split("HasAns_", has_ids)
  if no_ids:
    add_split("NoAns_", no_ids)
  if na_probs is not None:
    full_predictions = {k: predictions.get(k, "") for k in all_ids}
    exact_full = {k: exact_raw.get(k, 0.0) for k in all_ids}
    f1_full = {k: f1_raw.get(k, 0.0) for k in all_ids}
    probs_full = {k: probs.get(k, 0.0) for k in all_ids}
    result["best_exact"], result["best_exact_thresh"] = _best_threshold(questions, full_predictions, exact_full,
                                                                        probs_full)
    result["best_f1"], result["best_f1_thresh"] = _best_threshold(questions, full_predictions, f1_full, probs_full)
  return result


# ---------------------------------------------------------------------------------------------------------------
# Data loading, dataset detection, entry points
# ---------------------------------------------------------------------------------------------------------------

GoldQuestion = collections.namedtuple("GoldQuestion", ["qid", "answers", "is_impossible"])


def gold_questions(dataset, source="data"):
  """Flattens a SQuAD-format JSON object into `GoldQuestion`s (reference answer texts only).

  Args:
    dataset: the parsed JSON object ({"data": [{"paragraphs": [{"context", "qas": [...]}]}]}).
    source: file name used in error messages.

  Returns:
    A list of GoldQuestion.

  Raises:
    UsageError: a required key is missing, or two questions share an id (one prediction could not score both).
  """
  questions, first_seen = [], {}
  for a, article in enumerate(_require(dataset, "data", source, "top level")):
    for p, paragraph in enumerate(_require(article, "paragraphs", source, "data[%d]" % a)):
      where = "data[%d].paragraphs[%d]" % (a, p)
      for q, qa in enumerate(_require(paragraph, "qas", source, where)):
        qid = _require(qa, "id", source, "%s.qas[%d]" % (where, q))
        place = "%s.qas[%d]" % (where, q)
        if str(qid) in first_seen:
          raise UsageError("%s: duplicate question id %r (%s, first at %s)" % (source, str(qid), place,
                                                                             first_seen[str(qid)]))
        first_seen[str(qid)] = place
        answers = _require(qa, "answers", source, "question %s" % qid)
        texts = [_require(answer, "text", source, "question %s answers[%d]" % (qid, i))
                 for i, answer in enumerate(answers)]
        questions.append(GoldQuestion(str(qid), texts, bool(qa.get("is_impossible", False))))
  return questions


def _require(obj, key, source, where):
  if not isinstance(obj, dict) or key not in obj:
    raise UsageError("%s is not SQuAD format: %s has no %r key" % (source, where, key))
  return obj[key]


def contains_cjk(dataset):
  """True if the contexts of a SQuAD-format object contain CJK ideographs (CMRC 2018 / DRCD style data)."""
  for article in dataset.get("data", []):
    for paragraph in article.get("paragraphs", []):
      if _CJK_ANY_RE.search(paragraph.get("context", "")[:2000]):
        return True
  return False


def detect_dataset(dataset, requested="auto"):
  """Resolves --dataset auto: CJK contexts -> "cmrc2018" (CMRC rules, used for DRCD as well), else "squad"."""
  if requested not in DATASETS:
    raise UsageError("--dataset must be one of %s, got %r" % (", ".join(DATASETS), requested))
  if requested != "auto":
    return requested
  return "cmrc2018" if contains_cjk(dataset) else "squad"


def is_squad_v2(dataset, questions=None):
  """True for SQuAD 2.0 data (version "v2.0" or any is_impossible question)."""
  if str(dataset.get("version", "")).lstrip("v").startswith("2"):
    return True
  questions = questions if questions is not None else gold_questions(dataset)
  return any(q.is_impossible for q in questions)


def evaluate(dataset, predictions, dataset_name="auto", na_probs=None, na_prob_thresh=1.0, version_2=None,
             source="data"):
  """Scores predictions against a SQuAD-format gold object with the scorer of `dataset_name`.

  Args:
    dataset: parsed gold JSON.
    predictions: dict id -> answer.
    dataset_name: "squad", "cmrc2018", "drcd" or "auto".
    na_probs: optional null odds (SQuAD v2.0 only).
    na_prob_thresh: v2.0 threshold on the null odds.
    version_2: force SQuAD v2.0 (True) or v1.1 (False) scoring; None detects it from the data.
    source: file name for error messages.

  Returns:
    An OrderedDict of metrics; it also holds "dataset" (and "version" for SQuAD) naming the rules used.
  """
  if not isinstance(predictions, dict):
    raise UsageError("predictions must be a JSON object mapping question id to answer text")
  name = detect_dataset(dataset, dataset_name)
  questions = gold_questions(dataset, source)
  if name in ("cmrc2018", "drcd"):
    result = evaluate_cmrc(questions, predictions)
  else:
    if version_2 is None:
      version_2 = is_squad_v2(dataset, questions) or na_probs is not None
    if version_2:
      result = evaluate_squad_v2(questions, predictions, na_probs, na_prob_thresh)
    else:
      result = evaluate_squad_v1(questions, predictions)
    result["version"] = "2.0" if version_2 else "1.1"
  result["dataset"] = name
  return result


def load_json(path, what):
  """Reads a JSON file; a missing or malformed file is a one-line UsageError."""
  try:
    with open(path, encoding="utf-8-sig") as handle:
      return json.load(handle)
  except FileNotFoundError:
    raise UsageError("%s not found: %s" % (what, path)) from None
  except json.JSONDecodeError as error:
    raise UsageError("%s is not valid JSON (%s line %d): %s" % (what, path, error.lineno, error.msg)) from None


def evaluate_files(data_file, prediction_file, dataset_name="auto", na_prob_file=None, na_prob_thresh=1.0):
  """Scores a predictions.json file against a gold SQuAD-format file (see `evaluate`)."""
  dataset = load_json(data_file, "data file")
  predictions = load_json(prediction_file, "prediction file")
  na_probs = load_json(na_prob_file, "null odds file") if na_prob_file else None
  return evaluate(dataset, predictions, dataset_name, na_probs=na_probs, na_prob_thresh=na_prob_thresh,
                  source=data_file)


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="python -m bert.squad.scoring",
      description="Official-rule EM/F1 for SQuAD v1.1/v2.0, CMRC 2018 and DRCD predictions (no NLTK needed).")
  parser.add_argument("data_file", help="gold SQuAD-format JSON (e.g. cmrc2018_dev.json)")
  parser.add_argument("prediction_file", help="predictions.json: {question id: answer}")
  parser.add_argument("--dataset", default="auto", choices=DATASETS,
                      help="scoring rules; auto = CMRC rules for Chinese contexts, SQuAD otherwise")
  parser.add_argument("--na_prob_file", default=None, help="SQuAD v2.0 null odds (null_odds.json)")
  parser.add_argument("--na_prob_thresh", type=float, default=1.0,
                      help="SQuAD v2.0: predict no answer when the null odds exceed this")
  parser.add_argument("--out_file", default=None, help="also write the metrics to this JSON file")
  args = parser.parse_args(argv)
  try:
    result = evaluate_files(args.data_file, args.prediction_file, args.dataset, args.na_prob_file,
                            args.na_prob_thresh)
  except UsageError as error:
    sys.stderr.write("error: %s\n" % error)
    return 2
  text = json.dumps(result, ensure_ascii=False)
  print(text)
  if args.out_file:
    from bert import file_io  # pylint: disable=import-outside-toplevel
    file_io.write_json_atomically(args.out_file, result, sort_keys=False)
  return 0


if __name__ == "__main__":
  sys.exit(main())
