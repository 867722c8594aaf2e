"""Tests for bert.pretraining.data: file patterns, first-record checks, the tf.data pipeline."""
import json
import re

import numpy as np
import pytest
import tensorflow as tf

from bert.pretraining import data as pretraining_input
from bert.errors import UsageError
from pretraining_fixtures import write_records

SEQ, PRED = 32, 5


def test_expand_input_files_takes_comma_lists_and_globs(tmp_path):
  for name in ("b.tfrecord", "a.tfrecord", "c.other"):
    (tmp_path / name).write_bytes(b"")
  files = pretraining_input.expand_input_files("%s/*.tfrecord, %s/c.other,%s/a.tfrecord" %
                                               (tmp_path, tmp_path, tmp_path))
  assert [f.rsplit("/", 1)[1] for f in files] == ["a.tfrecord", "b.tfrecord", "c.other"]


def test_pattern_matching_nothing_is_named_in_the_error(tmp_path):
  (tmp_path / "a.tfrecord").write_bytes(b"")
  with pytest.raises(UsageError, match=r"^--eval_input_file .*/missing_\*.tfrecord matches no file$"):
    pretraining_input.expand_input_files("%s/a.tfrecord,%s/missing_*.tfrecord" % (tmp_path, tmp_path),
                                         "--eval_input_file")
  with pytest.raises(UsageError, match="--input_file is empty"):
    pretraining_input.expand_input_files(" , ")


def test_record_format_of_googles_records(tmp_path):
  path = write_records(tmp_path / "a.tfrecord", 3)
  record_format = pretraining_input.check_record_format(path, SEQ, PRED)
  assert record_format == pretraining_input.RecordFormat(has_word_ids=False, has_next_sentence_labels=True,
                                                         has_masked_lm=True)


@pytest.mark.parametrize("seq, pred, message", [
    (64, PRED, r"feature input_ids has 32 values per record but --max_seq_length=64"),
    (SEQ, 20, r"feature masked_lm_positions has 5 values per record but --max_predictions_per_seq=20"),
])
def test_size_mismatch_names_feature_and_both_sizes(tmp_path, seq, pred, message):
  path = write_records(tmp_path / "a.tfrecord", 2)
  with pytest.raises(UsageError, match=message):
    pretraining_input.check_record_format(path, seq, pred)


def test_missing_next_sentence_labels_needs_no_nsp(tmp_path):
  path = write_records(tmp_path / "a.tfrecord", 2, with_nsp=False)
  with pytest.raises(UsageError, match="no next_sentence_labels; pass --no_nsp"):
    pretraining_input.check_record_format(path, SEQ, PRED)
  assert not pretraining_input.check_record_format(path, SEQ, PRED, no_nsp=True).has_next_sentence_labels


def test_empty_and_non_tfrecord_files_are_clear_errors(tmp_path):
  (tmp_path / "empty.tfrecord").write_bytes(b"")
  with pytest.raises(UsageError, match="empty.tfrecord contains no records"):
    pretraining_input.check_record_format(str(tmp_path / "empty.tfrecord"), SEQ, PRED)
  (tmp_path / "text.txt").write_text("这不是 TFRecord 文件\n" * 20)
  with pytest.raises(UsageError, match="text.txt is not a readable TFRecord file"):
    pretraining_input.check_record_format(str(tmp_path / "text.txt"), SEQ, PRED)


def _batches(input_fn, batch_size):
  return list(input_fn({"batch_size": batch_size}).as_numpy_iterator())


def test_training_pipeline_yields_whole_int32_batches_forever(tmp_path):
  files = [write_records(tmp_path / "a.tfrecord", 10, seed=1), write_records(tmp_path / "b.tfrecord", 10, seed=2)]
  record_format = pretraining_input.check_record_format(files[0], SEQ, PRED)
  input_fn = pretraining_input.input_fn_builder(files, SEQ, PRED, True, record_format, seed=3)
  batches = list(input_fn({"batch_size": 4}).take(12).as_numpy_iterator())  # 48 > 20 examples: repeats
  assert len(batches) == 12
  batch = batches[0]
  assert batch["input_ids"].shape == (4, SEQ) and batch["input_ids"].dtype == np.int32
  assert batch["masked_lm_weights"].shape == (4, PRED) and batch["masked_lm_weights"].dtype == np.float32
  assert batch["next_sentence_labels"].shape == (4, 1)


@pytest.mark.parametrize("num_files", [1, 2])
def test_each_worker_of_a_cluster_trains_on_its_own_part(tmp_path, monkeypatch, num_files):
  """Two workers: with 2 files each reads one, with 1 file each reads every other record; never the same."""
  files = [write_records(tmp_path / ("%d.tfrecord" % i), 6, seed=i) for i in range(num_files)]
  record_format = pretraining_input.check_record_format(files[0], SEQ, PRED)
  parts = []
  for index in range(2):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]},
                                                "task": {"type": "worker", "index": index}}))
    input_fn = pretraining_input.input_fn_builder(files, SEQ, PRED, True, record_format, seed=3)
    batches = input_fn({"batch_size": 2}).take(9).as_numpy_iterator()
    parts.append({tuple(row) for batch in batches for row in batch["input_ids"]})
  every = {tuple(r) for f in files for r in _batches(
      pretraining_input.input_fn_builder([f], SEQ, PRED, False, record_format, repeat_eval=False), 6)[0]["input_ids"]}
  assert parts[0] and parts[1] and not parts[0] & parts[1]
  assert parts[0] | parts[1] == every


def test_one_pass_eval_reads_every_record_once(tmp_path):
  path = write_records(tmp_path / "eval.tfrecord", 10)
  record_format = pretraining_input.check_record_format(path, SEQ, PRED)
  expected = [tf.train.Example.FromString(r.numpy()).features.feature["input_ids"].int64_list.value
              for r in tf.data.TFRecordDataset(path)]
  one_pass = pretraining_input.input_fn_builder([path], SEQ, PRED, False, record_format, repeat_eval=False)
  batches = _batches(one_pass, 4)
  assert [len(b["input_ids"]) for b in batches] == [4, 4, 2]
  np.testing.assert_array_equal(np.concatenate([b["input_ids"] for b in batches]), np.array(expected))
  # Google's behaviour (TPU): repeated, whole batches only.
  repeated = pretraining_input.input_fn_builder([path], SEQ, PRED, False, record_format)
  assert [len(b["input_ids"]) for b in repeated({"batch_size": 4}).take(5).as_numpy_iterator()] == [4] * 5


def test_no_nsp_drops_the_label_feature(tmp_path):
  path = write_records(tmp_path / "a.tfrecord", 4)
  record_format = pretraining_input.check_record_format(path, SEQ, PRED, no_nsp=True)
  input_fn = pretraining_input.input_fn_builder([path], SEQ, PRED, False, record_format, no_nsp=True,
                                                repeat_eval=False)
  assert "next_sentence_labels" not in _batches(input_fn, 4)[0]


def test_word_ids_records_go_through_the_dynamic_masking_hook(tmp_path):
  path = write_records(tmp_path / "a.tfrecord", 4, word_ids=True)
  record_format = pretraining_input.check_record_format(path, SEQ, PRED)
  assert record_format.has_word_ids
  calls = []

  def masking_fn(dataset, is_training):
    calls.append(is_training)
    return dataset.map(lambda example: dict(example, input_ids=example["input_ids"] * 0))

  input_fn = pretraining_input.input_fn_builder([path], SEQ, PRED, False, record_format, repeat_eval=False,
                                                dynamic_masking_fn=masking_fn)
  batch = _batches(input_fn, 4)[0]
  assert calls == [False]
  assert batch["word_ids"].shape == (4, SEQ)
  assert not batch["input_ids"].any()


def _write_examples(path, vocab_sizes, seed=0):
  """One record per entry of vocab_sizes, its ids drawn below that size (pretraining_fixtures.make_example)."""
  import pretraining_fixtures
  rng = np.random.RandomState(seed)
  with tf.io.TFRecordWriter(str(path)) as writer:
    for vocab_size in vocab_sizes:
      writer.write(pretraining_fixtures.make_example(rng, SEQ, PRED, vocab_size).SerializeToString())
  return str(path)


def test_every_file_is_checked_not_only_the_first(tmp_path):
  good = write_records(tmp_path / "good.tfrecord", 2)
  (tmp_path / "notes.txt").write_text("这不是 TFRecord 文件\n" * 20)
  longer = write_records(tmp_path / "longer.tfrecord", 2, seq_length=64)
  dynamic = write_records(tmp_path / "dynamic.tfrecord", 2, word_ids=True)
  assert pretraining_input.check_record_files([good, good], SEQ, PRED).has_masked_lm
  with pytest.raises(UsageError, match=r"^--input_file .*/notes.txt is not a readable TFRecord file"):
    pretraining_input.check_record_files([good, str(tmp_path / "notes.txt")], SEQ, PRED)
  with pytest.raises(UsageError, match=r"^--input_file .*/longer.tfrecord: feature input_ids has 64 values"):
    pretraining_input.check_record_files([good, longer], SEQ, PRED)
  with pytest.raises(UsageError, match=r"good.tfrecord and .*dynamic.tfrecord hold different kinds of records"):
    pretraining_input.check_record_files([good, dynamic], SEQ, PRED)


def test_token_ids_beyond_vocab_size_are_caught_in_the_first_record_and_in_every_later_one(tmp_path):
  bad_first = _write_examples(tmp_path / "bad_first.tfrecord", [130, 110])
  with pytest.raises(UsageError, match=r"^--input_file .*/bad_first.tfrecord: the records hold token id 1[12]\d "
                                       r"but vocab_size in --bert_config_file is 110"):
    pretraining_input.check_record_files([bad_first], SEQ, PRED, vocab_size=110)
  # The first record fits, a later one does not: the pipeline's check stops at it and names the file.
  good = write_records(tmp_path / "good.tfrecord", 4, vocab_size=110)
  bad_later = _write_examples(tmp_path / "bad_later.tfrecord", [110, 110, 130])
  record_format = pretraining_input.check_record_files([good, bad_later], SEQ, PRED, vocab_size=110)
  input_fn = pretraining_input.input_fn_builder([good, bad_later], SEQ, PRED, False, record_format,
                                                repeat_eval=False, vocab_size=110)
  with pytest.raises(tf.errors.InvalidArgumentError) as caught:
    _batches(input_fn, 1)
  message = pretraining_input.input_error_message(caught.value, [good, bad_later])
  assert re.fullmatch(r"--input_file .*/bad_later.tfrecord: the records hold token id 1[12]\d but vocab_size in "
                      r"--bert_config_file is 110 \(data made with a larger vocabulary\?\)", message), message
  # Without vocab_size nothing is checked (Google's pipeline).
  unchecked = pretraining_input.input_fn_builder([bad_later], SEQ, PRED, False, record_format, repeat_eval=False)
  assert len(_batches(unchecked, 1)) == 3


def test_corrupt_record_mid_file_is_one_line_naming_the_files(tmp_path):
  good = write_records(tmp_path / "good.tfrecord", 4)
  corrupt = write_records(tmp_path / "corrupt.tfrecord", 8, seed=1)
  data = bytearray(open(corrupt, "rb").read())
  data[len(data) // 2] ^= 0xFF
  open(corrupt, "wb").write(bytes(data))
  record_format = pretraining_input.check_record_files([good, corrupt], SEQ, PRED)  # first records are fine
  input_fn = pretraining_input.input_fn_builder([good, corrupt], SEQ, PRED, False, record_format,
                                                repeat_eval=False)
  with pytest.raises(tf.errors.DataLossError) as caught:
    _batches(input_fn, 2)
  message = pretraining_input.input_error_message(caught.value, [good, corrupt], "--eval_input_file")
  offset = int(re.search(r"record at (\d+)", message).group(1))
  assert message == ("--eval_input_file one of %s, %s: a record is corrupt or truncated (corrupted record at %d); "
                     "recreate or leave out that file" % (good, corrupt, offset))
  # Errors that are not about the records are not turned into data errors.
  assert pretraining_input.input_error_message(tf.errors.InvalidArgumentError(None, None, "indices[0] = 130 is "
                                                                              "not in [0, 120)"), [good]) is None
