"""Tests of bert.squad.scoring: every scoring rule on hand-made cases (CMRC 2018/DRCD, SQuAD v1.1, v2.0)."""
import json
import subprocess
import sys

import pytest

from bert.squad import scoring
from bert.errors import UsageError
from conftest import ROOT


def squad_json(questions, contexts=None):
  """A SQuAD-format object: questions = [(id, [answer texts], is_impossible)]."""
  qas = []
  for qid, answers, impossible in questions:
    qa = {"id": qid, "question": "q?", "answers": [{"text": a, "answer_start": 0} for a in answers]}
    if impossible:
      qa["is_impossible"] = True
    qas.append(qa)
  return {"version": "test", "data": [{"paragraphs": [{"context": contexts or "context", "qas": qas}]}]}


# ----------------------------------------------------------------------------------------------- tokenizer


@pytest.mark.parametrize("text,expected", [
    ("don't", ["do", "n't"]),
    ("u.s.", ["u.s", "."]),
    ("$100", ["$", "100"]),
    ("50%", ["50", "%"]),
    ("1,000", ["1,000"]),
    ("hello, world", ["hello", ",", "world"]),
    ("(a)", ["(", "a", ")"]),
    ("apple's", ["apple", "'s"]),
    ("cannot", ["can", "not"]),
    ("iphone 6s", ["iphone", "6s"]),
    ('"quoted" text', ["``", "quoted", "''", "text"]),
    ("a...b", ["a", "...", "b"]),
    ("students'", ["students", "'"]),
    ("3.14", ["3.14"]),
    ("at&t", ["at", "&", "t"]),
    ("what?", ["what", "?"]),
    ("we'll", ["we", "'ll"]),
])
def test_treebank_word_tokenize_matches_nltk_on_answer_like_strings(text, expected):
  # Expected values are what nltk.word_tokenize returns for these (lower-cased) strings.
  assert scoring.treebank_word_tokenize(text) == expected


# ----------------------------------------------------------------------------------------------- CMRC rules


def test_cmrc_em_removes_ascii_and_full_width_punctuation_and_case():
  assert scoring.cmrc_exact_match(["《战国无双3》"], "战国无双3") == 1
  assert scoring.cmrc_exact_match(["光荣和ω-force"], "光荣和Ω-Force") == 1
  assert scoring.cmrc_exact_match(["光荣和ω-force"], "光荣和ωforce") == 1  # "-" is removed
  assert scoring.cmrc_exact_match(["「东京」（日本）"], "东京日本") == 1
  assert scoring.cmrc_exact_match(["1：2"], "12") == 1
  assert scoring.cmrc_exact_match(["  北京 "], "北京") == 1  # stripped
  # Characters not in the official list stay: half-width "," and full-width digits are not normalised.
  assert scoring.cmrc_exact_match(["1,000"], "1000") == 0
  assert scoring.cmrc_exact_match(["１"], "1") == 0
  # The official list holds the two-character "……", compared per character: a lone "…" is never removed.
  assert scoring.cmrc_exact_match(["好……"], "好") == 0
  # Inner spaces are kept for EM.
  assert scoring.cmrc_exact_match(["iphone 6"], "iphone6") == 0


def test_cmrc_mixed_segmentation():
  assert scoring.cmrc_mixed_segmentation("使用Python 3语言") == ["使", "用", "python", "3", "语", "言"]
  assert scoring.cmrc_mixed_segmentation("《北京》，2008年") == ["北", "京", "2008", "年"]
  # Kept as single tokens when punctuation is not removed (the official script's rm_punc=False).
  assert scoring.cmrc_mixed_segmentation("北京，上海", remove_punctuation=False) == ["北", "京", "，", "上", "海"]
  # Only U+4E00-U+9FA5 are single tokens; U+9FA6.. and extension A stay inside runs.
  assert scoring.cmrc_mixed_segmentation("中\u9fa6\u3400文") == ["中", "\u9fa6\u3400", "文"]


def test_cmrc_f1_uses_longest_contiguous_common_run():
  assert scoring.cmrc_f1(["北京"], "北京大学") == pytest.approx(2 / 3)  # P 2/4, R 2/2
  # "一二三四" vs "一三": a common subsequence of 2, but the longest contiguous run is 1.
  assert scoring.cmrc_f1(["一二三四"], "一三") == pytest.approx(2 * 0.5 * 0.25 / 0.75)
  assert scoring.cmrc_f1(["北京"], "上海") == 0.0


def test_cmrc_f1_mixed_chinese_english():
  # reference tokens: 使 用 python 语 言 ; prediction: python -> P 1, R 1/5
  assert scoring.cmrc_f1(["使用python语言"], "Python") == pytest.approx(2 * 0.2 / 1.2)
  # reference tokens: iphone 6s 手 机 ; prediction: iphone 6s -> P 1, R 1/2
  assert scoring.cmrc_f1(["iPhone 6s手机"], "iphone 6s") == pytest.approx(2 / 3)


def test_cmrc_empty_prediction_and_several_references():
  assert scoring.cmrc_f1(["北京"], "") == 0.0
  assert scoring.cmrc_exact_match(["北京"], "") == 0
  assert scoring.cmrc_exact_match(["上海", "北京市", "北京"], "北京") == 1
  assert scoring.cmrc_f1(["上海", "北京市"], "北京") == pytest.approx(0.8)  # best reference wins


def test_evaluate_cmrc_totals_skips_and_average():
  data = squad_json([("q1", ["北京", "北京市"], False), ("q2", ["上海"], False), ("q3", ["广州"], False)],
                    contexts="北京上海广州")
  result = scoring.evaluate(data, {"q1": "北京", "q2": "上海市"}, "cmrc2018")
  assert result["TOTAL"] == 3 and result["SKIP"] == 1
  assert result["EM"] == pytest.approx(100 / 3)
  assert result["F1"] == pytest.approx(100 * (1 + 0.8) / 3)
  assert result["AVERAGE"] == pytest.approx((result["EM"] + result["F1"]) / 2)
  assert result["dataset"] == "cmrc2018"


def test_question_ids_are_stripped_like_the_official_script():
  data = squad_json([(" q1 ", ["北京"], False)], contexts="北京")
  assert scoring.evaluate(data, {"q1": "北京"}, "drcd")["EM"] == 100.0


# ----------------------------------------------------------------------------------------------- SQuAD v1.1


def test_squad_normalisation():
  assert scoring.squad_normalize_answer("The  Cat, sat!") == "cat sat"
  assert scoring.squad_normalize_answer("an Apple a day") == "apple day"
  assert scoring.squad_exact("Denver Broncos", "the denver broncos.") == 1


def test_squad_v1_f1_is_bag_of_tokens():
  assert scoring.squad_f1("cat sat on mat", "the cat sat", empty_matches_empty=False) == pytest.approx(2 / 3)
  assert scoring.squad_f1("sat cat", "cat sat", empty_matches_empty=False) == 1.0
  assert scoring.squad_f1("cat", "", empty_matches_empty=False) == 0.0


def test_evaluate_squad_v1_max_over_references_and_missing_predictions():
  data = squad_json([("a", ["Denver Broncos", "Broncos"], False), ("b", ["Santa Clara"], False)])
  result = scoring.evaluate(data, {"a": "the Broncos"}, "squad")
  assert result["version"] == "1.1"
  assert result["exact_match"] == pytest.approx(50.0)
  assert result["f1"] == pytest.approx(50.0)


# ----------------------------------------------------------------------------------------------- SQuAD v2.0


def test_squad_v2_no_answer_rules_and_splits():
  data = squad_json([("has", ["Paris"], False), ("none", [], True), ("none2", [], True)])
  result = scoring.evaluate(data, {"has": "Paris", "none": "", "none2": "London"}, "squad")
  assert result["version"] == "2.0"
  assert result["total"] == 3
  assert result["exact"] == pytest.approx(200 / 3)
  assert result["HasAns_exact"] == 100.0 and result["HasAns_total"] == 1
  assert result["NoAns_exact"] == 50.0 and result["NoAns_f1"] == 50.0 and result["NoAns_total"] == 2
  assert "best_f1" not in result  # only with null odds


def test_squad_v2_best_threshold_and_na_prob_thresh():
  data = squad_json([("q1", ["paris"], False), ("q2", [], True), ("q3", ["rome"], False)])
  predictions = {"q1": "paris", "q2": "london", "q3": "milan"}
  na_probs = {"q1": 0.1, "q2": 0.9, "q3": 0.5}
  result = scoring.evaluate(data, predictions, "squad", na_probs=na_probs)
  assert result["exact"] == pytest.approx(100 / 3)
  # Answer only below 0.1: q1 right, q2 and q3 predicted "no answer" -> q2 right.
  assert result["best_exact"] == pytest.approx(200 / 3)
  assert result["best_exact_thresh"] == pytest.approx(0.1)
  thresholded = scoring.evaluate(data, predictions, "squad", na_probs=na_probs, na_prob_thresh=0.5)
  assert thresholded["exact"] == pytest.approx(200 / 3)  # q2 (0.9 > 0.5) becomes "no answer"


def test_v2_empty_on_both_sides_is_a_match_but_v1_is_not():
  assert scoring.squad_f1("", "", empty_matches_empty=True) == 1.0
  assert scoring.squad_f1("the", "", empty_matches_empty=True) == 1.0  # "the" normalises to nothing
  assert scoring.squad_f1("a cat", "", empty_matches_empty=True) == 0.0


def test_cmrc_rules_on_unanswerable_question():
  data = squad_json([("q", [], True)], contexts="北京")
  assert scoring.evaluate(data, {"q": ""}, "cmrc2018")["EM"] == 100.0
  assert scoring.evaluate(data, {"q": "北京"}, "cmrc2018")["F1"] == 0.0


# ----------------------------------------------------------------------------------------------- detection, errors, CLI


def test_auto_detects_chinese_and_squad():
  assert scoring.detect_dataset(squad_json([("q", ["a"], False)], contexts="中文段落")) == "cmrc2018"
  assert scoring.detect_dataset(squad_json([("q", ["a"], False)], contexts="an English text")) == "squad"
  assert scoring.detect_dataset({}, "drcd") == "drcd"
  with pytest.raises(UsageError, match="--dataset"):
    scoring.detect_dataset({}, "dureader")


def test_not_squad_format_names_the_missing_key():
  with pytest.raises(UsageError, match="has no 'data' key"):
    scoring.evaluate({"version": "1"}, {}, "squad", source="x.json")
  with pytest.raises(UsageError, match=r"data\[0\].paragraphs\[0\] has no 'qas' key"):
    scoring.evaluate({"data": [{"paragraphs": [{"context": "c"}]}]}, {}, "squad")
  with pytest.raises(UsageError, match="question q1 has no 'answers' key"):
    scoring.evaluate({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q1"}]}]}]}, {}, "squad")
  with pytest.raises(UsageError, match="JSON object"):
    scoring.evaluate(squad_json([("q", ["a"], False)]), ["a"], "squad")


def test_command_line(tmp_path):
  data_file = tmp_path / "data.json"
  prediction_file = tmp_path / "predictions.json"
  data_file.write_text(json.dumps(squad_json([("q1", ["北京"], False), ("q2", ["上海"], False)], "北京上海"),
                                  ensure_ascii=False), encoding="utf-8")
  prediction_file.write_text(json.dumps({"q1": "北京", "q2": "上"}, ensure_ascii=False), encoding="utf-8")
  out_file = tmp_path / "scores.json"
  completed = subprocess.run([sys.executable, "-m", "bert.squad.scoring", "--dataset", "cmrc2018",
                              str(data_file), str(prediction_file), "--out_file", str(out_file)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
  printed = json.loads(completed.stdout)
  assert printed["EM"] == 50.0 and printed["F1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
  assert json.loads(out_file.read_text(encoding="utf-8")) == printed
  failed = subprocess.run([sys.executable, "-m", "bert.squad.scoring", str(data_file), str(tmp_path / "nope")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
  assert failed.returncode == 2
  assert failed.stderr.strip().splitlines() == ["error: prediction file not found: %s" % (tmp_path / "nope")]


def test_duplicate_question_ids_in_the_gold_file_are_refused():
  dataset = {"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "q1", "answers": [{"text": "a"}]}]},
                                      {"context": "d", "qas": [{"id": "q1", "answers": [{"text": "b"}]}]}]}]}
  with pytest.raises(UsageError, match=r"dev.json: duplicate question id 'q1' \(data\[0\].paragraphs\[1\].qas\[0\], "
                                       r"first at data\[0\].paragraphs\[0\].qas\[0\]\)"):
    scoring.gold_questions(dataset, source="dev.json")
