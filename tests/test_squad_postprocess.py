"""Tests of bert.squad.postprocess, including the ORACLE test.

The oracle feeds post-processing one-hot logits at the gold start/end token positions of every question.
If reading, tokenisation, doc-stride windows, character offsets and answer-text recovery are right, the
written predictions must score (nearly) perfectly with the built-in official-rule scorer.
"""
import json
import os
import re

import numpy as np
import pytest

from bert.squad import data as squad_data
from bert.squad import postprocess as post
from bert.squad import scoring as squad_scoring
from conftest import shared_path


def oracle_results(features, max_seq_length, version_2):
  """One-hot logits at the gold positions (at [CLS] for windows without the answer in SQuAD 2.0)."""
  results = []
  for feature in features:
    start = np.zeros(max_seq_length, np.float32)
    end = np.zeros(max_seq_length, np.float32)
    if feature.answer_in_window:
      start[feature.start_position] = end[feature.end_position] = 1.0
    elif version_2:
      start[0] = end[0] = 1.0
    results.append(post.RawResult(feature.unique_id, start, end))
  return results


def run_oracle(tmp_path, data_file, tokenizer, dataset_name, version_2=False, max_seq_length=384, doc_stride=128,
               max_answer_length=100):
  """Reads, converts, predicts from gold positions, writes the JSON files and scores them."""
  examples, stats = squad_data.read_squad_examples(str(data_file), is_training=False,
                                                   version_2_with_negative=version_2)
  features = squad_data.convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, 64,
                                                     is_training=False)
  paths = [str(tmp_path / name) for name in ("predictions.json", "nbest_predictions.json", "null_odds.json")]
  post.write_predictions(examples, features, oracle_results(features, max_seq_length, version_2), 20,
                         max_answer_length, *paths, version_2_with_negative=version_2)
  na_file = paths[2] if version_2 else None
  scores = squad_scoring.evaluate_files(str(data_file), paths[0], dataset_name, na_prob_file=na_file)
  return scores, examples, features, stats


# ----------------------------------------------------------------------------------------------- ORACLE


def test_oracle_cmrc2018_dev(tmp_path, zh_tokenizer):
  scores, examples, features, _ = run_oracle(tmp_path, shared_path("cmrc2018", "cmrc2018_dev.json"), zh_tokenizer,
                                             "cmrc2018")
  print("ORACLE cmrc2018 dev: EM %.3f F1 %.3f (%d questions, %d windows)" % (
      scores["EM"], scores["F1"], scores["TOTAL"], len(features)))
  assert scores["TOTAL"] == 3219 and scores["SKIP"] == 0
  assert len(features) > len(examples)  # several windows per long paragraph were exercised
  assert scores["F1"] >= 99.0 and scores["EM"] >= 97.0


def test_oracle_drcd_traditional_chinese(tmp_path, zh_tokenizer):
  scores, _, _, stats = run_oracle(tmp_path, shared_path("drcd", "DRCD_test.json"), zh_tokenizer, "drcd")
  print("ORACLE DRCD test: EM %.3f F1 %.3f (%d questions)" % (scores["EM"], scores["F1"], scores["TOTAL"]))
  assert scores["TOTAL"] == 3493 and scores["SKIP"] == 0 and stats.answers_unrecoverable == 0
  assert scores["F1"] >= 99.0 and scores["EM"] >= 97.0


ENGLISH_PARAGRAPHS = [
    "Zürich is the largest city in Switzerland, with about 421,000 inhabitants in 2020. The city's Old Town "
    "lies on both banks of the Limmat river; its naïve-art museum (opened in 1988) draws 80% of its visitors "
    "from abroad. Mayor Corine Mauch, a former agricultural economist, has led the council since 2009.",
    "The U.S. company AT&T reported revenue of $5.2 billion for the quarter, up 3.5 percent. Analysts didn't "
    "expect the \"surprising\" jump, which the chief executive's statement credited to fibre-optic sales in "
    "Texas, Ohio and California. Shares rose 12 cents to $24.80 in New York trading on Tuesday.",
    "Marie Curie was born in Warsaw in 1867 and moved to Paris in 1891. She shared the 1903 Nobel Prize in "
    "Physics with Pierre Curie and Henri Becquerel, and won the 1911 Nobel Prize in Chemistry alone for the "
    "discovery of polonium and radium. She remains the only person honoured in two different sciences.",
    " ".join("Station %d of the northern line opened in %d and serves roughly %d,%03d commuters a day, most of "
             "them heading to the harbour district before eight o'clock." % (i, 1900 + 7 * i, i + 2, 37 * i % 1000)
             for i in range(1, 19)),
]


def english_squad(version_2):
  """A SQuAD-format data set built from ENGLISH_PARAGRAPHS: answers are word spans of 1 to 4 words."""
  articles = []
  counter = 0
  for p, context in enumerate(ENGLISH_PARAGRAPHS):
    words = [(m.start(), m.end()) for m in re.finditer(r"[^\s,;.()\"]+(?:[.,][0-9]+)*", context)]
    qas = []
    for w in range(0, len(words), 3):
      span_words = 1 + w % 4
      start = words[w][0]
      end = words[min(w + span_words, len(words)) - 1][1]
      if not squad_scoring.squad_normalize_answer(context[start:end]):
        continue  # "the", "a": the official v1.1 F1 of an answer without tokens is 0 even when exact
      counter += 1
      qa = {"id": "en-%d-%d" % (p, w), "question": "What comes at position %d?" % w,
            "answers": [{"text": context[start:end], "answer_start": start}]}
      if version_2:
        qa["is_impossible"] = counter % 3 == 0
        if qa["is_impossible"]:
          qa["answers"] = []
      qas.append(qa)
    articles.append({"title": "p%d" % p, "paragraphs": [{"context": context, "qas": qas}]})
  return {"version": "v2.0" if version_2 else "v1.1", "data": articles}


@pytest.mark.parametrize("version_2", [False, True])
def test_oracle_english_squad(tmp_path, en_tokenizer, version_2):
  data_file = tmp_path / "en.json"
  data_file.write_text(json.dumps(english_squad(version_2), ensure_ascii=False), encoding="utf-8")
  scores, examples, features, _ = run_oracle(tmp_path, data_file, en_tokenizer, "squad", version_2,
                                             max_seq_length=96, doc_stride=32, max_answer_length=30)
  assert len(examples) > 80 and len(features) > len(examples)
  if version_2:
    print("ORACLE English SQuAD v2.0: EM %.3f F1 %.3f (HasAns %d, NoAns %d)" % (
        scores["exact"], scores["f1"], scores["HasAns_total"], scores["NoAns_total"]))
    assert scores["version"] == "2.0" and scores["NoAns_total"] > 20
    assert scores["NoAns_exact"] == 100.0
    assert scores["exact"] >= 97.0 and scores["f1"] >= 99.0
    null_odds = json.loads((tmp_path / "null_odds.json").read_text(encoding="utf-8"))
    assert set(null_odds) == {e.qas_id for e in examples}
  else:
    print("ORACLE English SQuAD v1.1: EM %.3f F1 %.3f" % (scores["exact_match"], scores["f1"]))
    assert scores["version"] == "1.1"
    assert scores["exact_match"] >= 97.0 and scores["f1"] >= 99.0
    # The text is cut from the original context: accents, case and punctuation inside the span are kept.
    predictions = json.loads((tmp_path / "predictions.json").read_text(encoding="utf-8"))
    assert "Zürich" in predictions.values()
    assert not (tmp_path / "null_odds.json").exists()


# ----------------------------------------------------------------------------------------------- decisions


def one_example(tokenizer, context, question="问题", version_2=False, max_seq_length=48, doc_stride=16):
  data = {"data": [{"paragraphs": [{"context": context, "qas": [{"id": "q", "question": question,
                                                                 "answers": []}]}]}]}
  examples, _ = squad_data.examples_from_json(data, is_training=False, version_2_with_negative=version_2)
  features = squad_data.convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, 8, False)
  return examples, features


def logits_for(feature, length, starts=(), ends=(), cls=(0.0, 0.0)):
  """Logits with given values at context-token indexes (relative to the window's first context token)."""
  start = np.full(length, -10.0)
  end = np.full(length, -10.0)
  start[0], end[0] = cls
  for index, value in starts:
    start[feature.doc_offset + index] = value
  for index, value in ends:
    end[feature.doc_offset + index] = value
  return post.RawResult(feature.unique_id, start, end)


def test_nbest_ranking_probabilities_and_size(zh_tokenizer):
  examples, features = one_example(zh_tokenizer, "甲乙丙丁戊己庚辛")
  feature, = features
  result = logits_for(feature, 48, starts=[(1, 5.0), (3, 4.0)], ends=[(2, 5.0), (4, 3.0)])
  predictions, nbest, null_odds = post.compute_predictions(examples, features, [result], n_best_size=3,
                                                           max_answer_length=30)
  assert predictions["q"] == "乙丙"
  assert [e["text"] for e in nbest["q"]] == ["乙丙", "乙丙丁戊", "丁戊"]
  assert [e["start_logit"] + e["end_logit"] for e in nbest["q"]] == [10.0, 8.0, 7.0]
  assert sum(e["probability"] for e in nbest["q"]) == pytest.approx(1.0)
  assert nbest["q"][0]["probability"] == pytest.approx(1 / (1 + np.exp(-2) + np.exp(-3)))
  assert not null_odds


def test_max_answer_length_and_end_before_start(zh_tokenizer):
  examples, features = one_example(zh_tokenizer, "甲乙丙丁戊己庚辛")
  feature, = features
  # Best pair is too long (0..6 = 7 tokens); the end at 0 is before the start at 1.
  result = logits_for(feature, 48, starts=[(0, 9.0), (1, 1.0)], ends=[(6, 9.0), (0, 8.0), (2, 1.0)])
  predictions, _, _ = post.compute_predictions(examples, features, [result], 20, max_answer_length=3)
  assert predictions["q"] == "甲"  # 0..0 (9 + 8) beats 1..2 (1 + 1)
  result = logits_for(feature, 48, starts=[(1, 9.0)], ends=[(0, 9.0), (3, 1.0)])
  predictions, _, _ = post.compute_predictions(examples, features, [result], 20, max_answer_length=3)
  assert predictions["q"] == "乙丙丁"


def test_starts_only_count_in_their_max_context_window(zh_tokenizer):
  context = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"
  examples, features = one_example(zh_tokenizer, context, max_seq_length=20, doc_stride=4)
  assert len(features) >= 3
  # Put a huge start logit on a token in a window where it is NOT max-context: it must be ignored.
  target = next((f, i) for f in features for i, flag in enumerate(f.token_is_max_context) if not flag)
  window, index = target
  results = []
  for feature in features:
    if feature is window:
      results.append(logits_for(feature, 20, starts=[(index, 50.0)], ends=[(index, 50.0)]))
    else:
      results.append(logits_for(feature, 20, starts=[(0, 1.0)], ends=[(0, 1.0)]))
  predictions, _, _ = post.compute_predictions(examples, features, results, 20, 30)
  assert predictions["q"] != context[window.char_starts[index]:window.char_ends[index]]


def test_version_2_null_answer_and_threshold(zh_tokenizer):
  examples, features = one_example(zh_tokenizer, "甲乙丙丁", version_2=True)
  feature, = features
  result = logits_for(feature, 48, starts=[(1, 2.0)], ends=[(1, 2.0)], cls=(3.0, 2.5))
  predictions, nbest, null_odds = post.compute_predictions(examples, features, [result], 20, 30,
                                                           version_2_with_negative=True)
  assert null_odds["q"] == pytest.approx(5.5 - 4.0)
  assert predictions["q"] == ""
  assert "" in [e["text"] for e in nbest["q"]]
  predictions, _, _ = post.compute_predictions(examples, features, [result], 20, 30, True,
                                               null_score_diff_threshold=2.0)
  assert predictions["q"] == "乙"


def test_example_without_windows_predicts_empty(zh_tokenizer):
  examples, features = one_example(zh_tokenizer, "   ")
  assert features == []
  predictions, nbest, _ = post.compute_predictions(examples, features, [], 20, 30)
  assert predictions["q"] == "" and nbest["q"][0]["text"] == ""


def test_write_predictions_is_atomic_and_writes_the_files(tmp_path, zh_tokenizer):
  examples, features = one_example(zh_tokenizer, "甲乙丙丁", version_2=True)
  result = logits_for(features[0], 48, starts=[(2, 9.0)], ends=[(3, 9.0)])
  paths = [tmp_path / name for name in ("predictions.json", "nbest_predictions.json", "null_odds.json")]
  paths[0].write_text("old", encoding="utf-8")
  post.write_predictions(examples, features, [result], 20, 30, *map(str, paths), version_2_with_negative=True)
  assert json.loads(paths[0].read_text(encoding="utf-8")) == {"q": "丙丁"}
  assert json.loads(paths[1].read_text(encoding="utf-8"))["q"][0]["text"] == "丙丁"
  assert json.loads(paths[2].read_text(encoding="utf-8"))["q"] == pytest.approx(0.0 - 18.0)
  assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in paths)  # no temporary file left behind
