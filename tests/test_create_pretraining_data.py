"""End-to-end tests of create_pretraining_data.py: Google's flags and record format, new modes, errors."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, ZH_VOCAB, shared_path

SCRIPT = str(ROOT / "create_pretraining_data.py")


def _slice(tmp_path, documents=40):
  """The first `documents` documents of the real corpus, as a small input file."""
  source = shared_path("pretrain_zh", "CLUECorpusSmall_bert_sampled.txt")
  kept, count = [], 0
  with open(source, encoding="utf-8") as reader:
    for line in reader:
      kept.append(line)
      if not line.strip():
        count += 1
        if count == documents:
          break
  path = tmp_path / "slice.txt"
  path.write_text("".join(kept), encoding="utf-8")
  return path


def _run(*args):
  return subprocess.run([sys.executable, SCRIPT, "--vocab_file=%s" % ZH_VOCAB, "--num_workers=1"] + list(args),
                        capture_output=True, text=True, cwd=str(ROOT), timeout=300)


def _parse(paths, spec_lengths):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  spec = {}
  for name, (length, dtype) in spec_lengths.items():
    spec[name] = tf.io.FixedLenFeature([length], tf.float32 if dtype == "float" else tf.int64)
  examples = []
  for record in tf.data.TFRecordDataset(paths):
    example = tf.train.Example.FromString(record.numpy())
    assert set(example.features.feature) == set(spec)  # exactly these features, nothing else
    examples.append({k: v.numpy().tolist() for k, v in tf.io.parse_single_example(record, spec).items()})
  return examples


def _google_spec(seq, predictions):
  return {"input_ids": (seq, "int"), "input_mask": (seq, "int"), "segment_ids": (seq, "int"),
          "masked_lm_positions": (predictions, "int"), "masked_lm_ids": (predictions, "int"),
          "masked_lm_weights": (predictions, "float"), "next_sentence_labels": (1, "int")}


def test_chinese_wwm_records_have_googles_exact_features(tmp_path):
  corpus = _slice(tmp_path)
  output = tmp_path / "out" / "train.tfrecord"
  result = _run("--input_file=%s" % corpus, "--output_file=%s" % output, "--chinese_wwm", "--dupe_factor=2",
                "--max_seq_length=64", "--max_predictions_per_seq=10", "--num_output_shards=2")
  assert result.returncode == 0, result.stderr
  shards = ["%s-0000%d-of-00002" % (output, i) for i in range(2)]
  assert sorted(os.listdir(output.parent)) == sorted([os.path.basename(s) for s in shards] +
                                                     ["train.tfrecord.stats.json"])
  examples = _parse(shards, _google_spec(64, 10))
  stats = json.load(open(str(output) + ".stats.json", encoding="utf-8"))
  assert len(examples) == stats["instances"] > 100 and stats["documents"] == 40
  assert stats["settings"]["masking_mode"] == "chinese_word"
  inv = {}
  with open(ZH_VOCAB, encoding="utf-8") as reader:
    for index, line in enumerate(reader):
      inv[index] = line.strip()
  for example in examples:
    length = sum(example["input_mask"])
    assert example["input_ids"][0] == 101 and example["input_ids"][length - 1] == 102
    assert all(i == 0 for i in example["input_ids"][length:])
    count = int(sum(example["masked_lm_weights"]))
    assert 1 <= count <= 10
    for position, label in zip(example["masked_lm_positions"][:count], example["masked_lm_ids"][:count]):
      assert 0 < position < length - 1
      assert not inv[label].startswith("##") or not ("\u4e00" <= inv[label][2:3] <= "\u9fff")
    assert all(0 <= i < len(inv) for i in example["input_ids"])
    assert example["next_sentence_labels"][0] in (0, 1)


def test_dynamic_masking_without_nsp(tmp_path):
  corpus = _slice(tmp_path, documents=10)
  output = tmp_path / "dyn.tfrecord"
  result = _run("--input_file=%s" % corpus, "--output_file=%s" % output, "--chinese_wwm", "--dupe_factor=1",
                "--max_seq_length=64", "--no_nsp", "--dynamic_masking")
  assert result.returncode == 0, result.stderr
  examples = _parse([str(output)], {"input_ids": (64, "int"), "input_mask": (64, "int"),
                                    "segment_ids": (64, "int"), "next_sentence_labels": (1, "int"),
                                    "word_ids": (64, "int")})
  assert examples
  multi_token_words = 0
  for example in examples:
    length = sum(example["input_mask"])
    assert 103 not in example["input_ids"]  # unmasked
    assert set(example["segment_ids"]) == {0} and example["next_sentence_labels"] == [0]
    words = example["word_ids"]
    assert words[0] == -1 and all(w == -1 for w in words[length - 1:])
    real = [w for w in words if w >= 0]
    assert real == sorted(real) and real[0] == 0 and len(set(real)) == real[-1] + 1
    multi_token_words += len(real) - len(set(real))
  assert multi_token_words > 100  # jieba words span several tokens
  # Packed: whole sentences fill the sequences (a sentence that does not fit starts the next one).
  lengths = [sum(e["input_mask"]) for e in examples]
  assert sum(lengths) / len(lengths) > 0.75 * 64


def test_bad_input_gives_one_error_line_and_no_output(tmp_path):
  result = _run("--input_file=%s" % (tmp_path / "missing*.txt"), "--output_file=%s" % (tmp_path / "o.tf"))
  assert result.returncode != 0
  assert result.stderr.strip().splitlines()[-1] == "error: --input_file %s matches no file" % (
      tmp_path / "missing*.txt")
  assert "Traceback" not in result.stderr
  empty = tmp_path / "empty.txt"
  empty.write_text("\n\n", encoding="utf-8")
  result = _run("--input_file=%s" % empty, "--output_file=%s" % (tmp_path / "o.tf"), "--chinese_wwm",
                "--do_whole_word_mask")
  assert result.stderr.strip().splitlines()[-1].startswith("error: --chinese_wwm and --do_whole_word_mask")
  result = _run("--input_file=%s" % empty, "--output_file=%s" % (tmp_path / "o.tf"))
  assert result.stderr.strip().splitlines()[-1] == (
      "error: --input_file %s yields no training instance (empty, or no line with a token)" % empty)
  assert sorted(os.listdir(tmp_path)) == ["empty.txt"]


@pytest.mark.parametrize("flag, mode", [(None, "token"), ("--do_whole_word_mask", "wordpiece_word")])
def test_google_masking_modes(tmp_path, flag, mode):
  corpus = _slice(tmp_path, documents=5)
  output = tmp_path / "g.tfrecord"
  result = _run(*[a for a in ("--input_file=%s" % corpus, "--output_file=%s" % output, "--dupe_factor=1", flag) if a])
  assert result.returncode == 0, result.stderr
  stats = json.load(open(str(output) + ".stats.json", encoding="utf-8"))
  assert stats["settings"]["masking_mode"] == mode and stats["settings"]["dupe_factor"] == 1
  assert stats["settings"]["max_seq_length"] == 128 and stats["settings"]["random_seed"] == 12345
  if mode == "token":
    assert stats["masked_tokens"] == stats["masked_words"]
  else:  # CJK characters stay single units; only ## pieces are grouped
    assert stats["masked_words"] <= stats["masked_tokens"] < 1.1 * stats["masked_words"]
  assert len(_parse([str(output)], _google_spec(128, 20))) == stats["instances"]
