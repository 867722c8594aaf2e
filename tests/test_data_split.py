"""bert/data_split.py and split_data.py: deterministic held-out splits that keep units whole."""
import json
import subprocess
import sys

import pytest

from bert import data_split
from bert.errors import UsageError
from conftest import ROOT


def test_every_nth_document_is_held_out_whole(tmp_path):
  corpus = tmp_path / "c.txt"
  corpus.write_text("".join("doc%d a\ndoc%d b\n\n" % (i, i) for i in range(10)), encoding="utf-8")
  counts = data_split.split_file(str(corpus), "documents", 3, str(tmp_path / "t.txt"), str(tmp_path / "h.txt"))
  assert counts == {"unit": "documents", "train": 7, "heldout": 3}
  heldout = data_split.read_documents(str(tmp_path / "h.txt"))
  assert heldout == [["doc%d a" % i, "doc%d b" % i] for i in (2, 5, 8)]
  assert len(data_split.read_documents(str(tmp_path / "t.txt"))) == 7


def test_jsonl_groups_stay_on_one_side_and_rows_are_copied_byte_for_byte(tmp_path):
  rows = [{"prem_id": i // 3, "id": i, "s": "句子%d" % i} for i in range(30)]
  source = tmp_path / "d.json"
  source.write_bytes("".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in rows).encode("utf-8"))
  data_split.split_file(str(source), "jsonl", 5, str(tmp_path / "t.json"), str(tmp_path / "h.json"),
                        group_field="prem_id")
  heldout = [json.loads(line) for line in (tmp_path / "h.json").read_text(encoding="utf-8").splitlines()]
  train = [json.loads(line) for line in (tmp_path / "t.json").read_text(encoding="utf-8").splitlines()]
  assert {r["prem_id"] for r in heldout} == {4, 9}
  assert not {r["prem_id"] for r in heldout} & {r["prem_id"] for r in train}
  assert len(train) + len(heldout) == 30
  assert (tmp_path / "h.json").read_bytes().count(b"\r\n") == len(heldout)


def test_squad_articles_are_split_whole(tmp_path):
  data = {"version": "1.1", "data": [{"title": "t%d" % i, "paragraphs": [{"context": "c", "qas": [
      {"id": "%d-%d" % (i, k), "question": "q", "answers": []} for k in range(2)]}]} for i in range(6)]}
  source = tmp_path / "s.json"
  source.write_text(json.dumps(data))
  counts = data_split.split_file(str(source), "squad", 3, str(tmp_path / "t.json"), str(tmp_path / "h.json"))
  assert counts["heldout_questions"] == 4 and counts["train_questions"] == 8
  heldout = json.loads((tmp_path / "h.json").read_text())
  assert heldout["version"] == "1.1" and [a["title"] for a in heldout["data"]] == ["t2", "t5"]


@pytest.mark.parametrize("kwargs,message", [
    ({"data_format": "csv"}, "--format must be one of"),
    ({"every": 1}, "--heldout_every must be >= 2"),
    ({"group_field": "x"}, "--group_field applies to --format=jsonl only"),
    ({"train_output": "SOURCE"}, "--train_output .* is the input file"),
    ({"heldout_output": "/nonexistent/dir/h.txt"}, "--heldout_output .* directory /nonexistent/dir does not exist"),
])
def test_bad_arguments(tmp_path, kwargs, message):
  source = tmp_path / "c.txt"
  source.write_text("a\n\nb\n\nc\n")
  args = dict(path=str(source), data_format="documents", every=2, train_output=str(tmp_path / "t"),
              heldout_output=str(tmp_path / "h"))
  args.update({k: (str(source) if v == "SOURCE" else v) for k, v in kwargs.items()})
  with pytest.raises(UsageError, match=message):
    data_split.split_file(**args)


def test_too_few_units_and_bad_json_name_the_file(tmp_path):
  one = tmp_path / "one.txt"
  one.write_text("only one document\n")
  with pytest.raises(UsageError, match="1 documents are too few"):
    data_split.split_file(str(one), "documents", 2, str(tmp_path / "t"), str(tmp_path / "h"))
  bad = tmp_path / "bad.json"
  bad.write_text('{"a": 1}\n{oops\n')
  with pytest.raises(UsageError, match="bad.json line 2: not a JSON object"):
    data_split.split_file(str(bad), "jsonl", 2, str(tmp_path / "t"), str(tmp_path / "h"))


def test_script_prints_one_error_line(tmp_path):
  result = subprocess.run([sys.executable, str(ROOT / "split_data.py"), "--format=documents",
                           "--input_file=%s" % (tmp_path / "none.txt"), "--train_output=a", "--heldout_output=b"],
                          capture_output=True, text=True)
  assert result.returncode == 1
  assert result.stderr.strip() == "error: --input_file %s does not exist" % (tmp_path / "none.txt")
