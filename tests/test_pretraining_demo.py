"""Tests for the `make demo` pieces (bert/pretraining/demo.py) and a miniature end-to-end demo run."""
import collections
import os
import sys

import pytest

from bert.pretraining import demo as pretraining_demo
from bert.errors import UsageError
from conftest import ROOT, ZH_VOCAB
from pretraining_fixtures import write_records

CORPUS = ROOT / "sample_data" / "zh_corpus.txt"


def _write(path, text):
  path.write_text(text, encoding="utf-8")
  return str(path)


def test_read_documents_splits_on_blank_lines(tmp_path):
  path = _write(tmp_path / "c.txt", "\n甲一。\n甲二。\n\n\n乙一。\n  \n丙一。\n丙二。")
  assert pretraining_demo.read_documents(path) == [["甲一。", "甲二。"], ["乙一。"], ["丙一。", "丙二。"]]


def test_read_documents_errors(tmp_path):
  with pytest.raises(UsageError, match="does not exist"):
    pretraining_demo.read_documents(str(tmp_path / "none.txt"))
  with pytest.raises(UsageError, match="contains no text"):
    pretraining_demo.read_documents(_write(tmp_path / "empty.txt", "\n\n"))


def test_heldout_documents_are_spread_over_the_corpus():
  documents = [["文档%d。" % index] for index in range(25)]
  train, heldout = pretraining_demo.split_heldout(documents, 10)
  assert heldout == [["文档9。"], ["文档19。"]]
  assert len(train) == 23 and not set(map(tuple, train)) & set(map(tuple, heldout))
  # Fewer documents than the interval: the last one is held out.
  train, heldout = pretraining_demo.split_heldout(documents[:3], 10)
  assert heldout == [["文档2。"]] and len(train) == 2
  with pytest.raises(UsageError, match="at least 2 documents"):
    pretraining_demo.split_heldout(documents[:1], 10)


def test_write_documents_round_trips(tmp_path):
  documents = [["一。", "二。"], ["三。"]]
  path = str(tmp_path / "out.txt")
  pretraining_demo.write_documents(path, documents)
  assert open(path, encoding="utf-8").read() == "一。\n二。\n\n三。\n"
  assert pretraining_demo.read_documents(path) == documents


def test_majority_baseline_counts_only_real_predictions(tmp_path):
  path = write_records(tmp_path / "r.tfrecord", 6, label_id=110)
  counts, records = pretraining_demo.masked_label_counts(path)
  assert records == 6
  # All real labels are 110; padding labels (id 0, weight 0) are not counted.
  assert list(counts) == [110]
  assert pretraining_demo.majority_baseline(collections.Counter({7: 3, 9: 1})) == (7, 0.75)


def test_output_dir_of_someone_else_is_not_deleted(tmp_path):
  (tmp_path / "theirs.txt").write_text("keep me")
  with pytest.raises(UsageError, match="was not made by the demo"):
    pretraining_demo.prepare_output_dir(str(tmp_path))
  assert (tmp_path / "theirs.txt").exists()
  ours = tmp_path / "demo"
  pretraining_demo.prepare_output_dir(str(ours))
  (ours / "old_checkpoint").write_text("x")
  pretraining_demo.prepare_output_dir(str(ours))
  assert sorted(os.listdir(ours)) == [pretraining_demo.MARKER, "logs"]


def test_failing_stage_names_its_error_line_and_log(tmp_path):
  log = str(tmp_path / "stage.log")
  with pytest.raises(UsageError, match=r"\[x\] failed \(exit 1\): error: bad flag \(full log: .*stage.log\)"):
    pretraining_demo.run_stage([sys.executable, "-c", "import sys; print('working'); sys.exit('error: bad flag')"],
                               log, "[x]")
  assert "working" in open(log).read()


def test_training_lines_advance_the_bar():
  class Bar(object):
    n = 0
    postfix = None

    def set_postfix_str(self, text):
      self.postfix = text

  bar = Bar()
  pretraining_demo._training_progress(  # pylint: disable=protected-access
      "step 40/100 loss 6.1234 masked_lm_loss 5.5 masked_lm_accuracy 0.1250 learning_rate 1.00e-04 "
      "examples/s 250.0", bar)
  assert bar.n == 40 and bar.postfix == "loss 6.1234, masked-LM acc 0.1250, 250.0 ex/s"


def test_miniature_demo_runs_every_stage_and_reports_the_baseline(tmp_path, capsys):
  # A few documents and steps: checks the wiring (data -> training -> held-out eval -> summary), not learning.
  documents = pretraining_demo.read_documents(str(CORPUS))[:12]
  corpus = str(tmp_path / "small.txt")
  pretraining_demo.write_documents(corpus, documents)
  settings = pretraining_demo.DemoSettings(
      corpus=corpus, vocab_file=str(ZH_VOCAB), bert_config_file=str(ROOT / "configs" / "bert_tiny_zh.json"),
      output_dir=str(tmp_path / "demo"), heldout_every=4, max_seq_length=32, max_predictions_per_seq=5,
      dupe_factor=1, train_batch_size=8, num_train_steps=3, num_warmup_steps=1, num_workers=1)
  summary = pretraining_demo.run_demo(settings)
  assert summary["checkpoint"].endswith("model.ckpt-3")
  assert os.path.exists(summary["checkpoint"] + ".index")
  assert 0 <= summary["masked_lm_accuracy"] <= 1 and 0 < summary["majority_baseline"] <= 1
  output = capsys.readouterr().out
  assert "12 documents -> 9 for training, 3 held out" in output
  assert "Majority-token baseline:" in output and summary["checkpoint"] in output


def test_continue_command_is_the_same_run_with_more_steps(monkeypatch):
  monkeypatch.chdir(ROOT)
  root = str(ROOT)
  command = [os.path.join(root, ".venv", "bin", "python"), os.path.join(root, "run_pretraining.py"),
             "--output_dir=/tmp/my model", "--num_train_steps=1000", "--save_checkpoints_steps=1000"]
  assert pretraining_demo._continue_command(command, 3000, root) == (  # pylint: disable=protected-access
      ".venv/bin/python run_pretraining.py '--output_dir=/tmp/my model' --num_train_steps=3000 "
      "--save_checkpoints_steps=1000")
  command[0] = "/usr/bin/python3"
  assert pretraining_demo._continue_command(command, 3000, root).startswith("python run_pretraining.py ")  # pylint: disable=protected-access
