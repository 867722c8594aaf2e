"""Tests for bert.pretraining_input: file patterns, first-record checks, the tf.data pipeline."""
import numpy as np
import pytest
import tensorflow as tf

from bert import pretraining_input
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
