"""Tests for wwm/tfrecord.py: records written without TensorFlow are read back by tf.data with Google's spec."""
import errno
import os

import pytest

import fault_helpers
from wwm import tfrecord

L, P = 16, 4


def _google_spec(tf):
  return {
      "input_ids": tf.io.FixedLenFeature([L], tf.int64),
      "input_mask": tf.io.FixedLenFeature([L], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([L], tf.int64),
      "masked_lm_positions": tf.io.FixedLenFeature([P], tf.int64),
      "masked_lm_ids": tf.io.FixedLenFeature([P], tf.int64),
      "masked_lm_weights": tf.io.FixedLenFeature([P], tf.float32),
      "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
  }


def test_records_parse_with_tf_data_and_google_feature_spec(tmp_path):
  tf = pytest.importorskip("tensorflow")
  names = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids", "masked_lm_weights",
           "next_sentence_labels")
  encoder = tfrecord.ExampleEncoder(names)
  big = [0, 1, 127, 128, 16383, 16384, 65535, 65536, 2 ** 40, 21127, 5, 6, 7, 8, 9, 10]
  rows = []
  path = str(tmp_path / "out.tfrecord")
  writer = tfrecord.AtomicRecordWriter(path)
  for row in range(3):
    values = {
        "input_ids": [v + row for v in big],
        "input_mask": [1] * (L - row) + [0] * row,
        "segment_ids": [0] * 8 + [1] * 8,
        "masked_lm_positions": [1, 2, 15, 0],
        "masked_lm_ids": [103, 21127, 7, 0],
        "masked_lm_weights": [1.0, 1.0, 0.5, 0.0],
        "next_sentence_labels": [row % 2],
    }
    rows.append(values)
    features = [(name, tfrecord.float_feature(values[name]) if name == "masked_lm_weights"
                 else tfrecord.int64_feature(values[name])) for name in names]
    writer.write(encoder.encode(features))
  assert not os.path.exists(path)
  writer.commit()
  assert os.path.exists(path) and not os.path.exists(path + ".tmp")
  parsed = [tf.io.parse_single_example(record, _google_spec(tf)) for record in tf.data.TFRecordDataset(path)]
  assert len(parsed) == 3
  for values, example in zip(rows, parsed):
    for name, expected in values.items():
      assert example[name].numpy().tolist() == expected, name
  record = next(iter(tf.data.TFRecordDataset(path))).numpy()
  assert tf.train.Example.FromString(record).features.feature["input_ids"].int64_list.value[8] == 2 ** 40


def test_negative_word_ids_round_trip(tmp_path):
  tf = pytest.importorskip("tensorflow")
  encoder = tfrecord.ExampleEncoder(["word_ids"])
  path = str(tmp_path / "w.tfrecord")
  writer = tfrecord.AtomicRecordWriter(path)
  writer.write(encoder.encode([("word_ids", tfrecord.int64_feature([-1, 0, 0, 1, -1, -5, 70000]))]))
  writer.commit()
  record = next(iter(tf.data.TFRecordDataset(path)))
  example = tf.io.parse_single_example(record, {"word_ids": tf.io.FixedLenFeature([7], tf.int64)})
  assert example["word_ids"].numpy().tolist() == [-1, 0, 0, 1, -1, -5, 70000]


def test_varints_and_framing():
  assert tfrecord.packed_int64([0, 1, 127, 128, 300]) == b"\x00\x01\x7f\x80\x01\xac\x02"
  assert tfrecord.packed_int64([-1]) == b"\xff" * 9 + b"\x01"
  framed = tfrecord.frame_record(b"abc")
  assert len(framed) == 8 + 4 + 3 + 4 and framed[:8] == (3).to_bytes(8, "little") and framed[12:15] == b"abc"
  # Masked crc32c of b"abc" (crc32c = 0x364b3fb7), as TensorFlow's record writer computes it.
  crc = 0x364B3FB7
  masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
  assert framed[15:] == masked.to_bytes(4, "little")
  records = [tfrecord.frame_record(data) for data in (b"abc", b"", b"x" * 300)]
  assert list(tfrecord.split_framed(b"".join(records))) == records
  assert list(tfrecord.split_framed(b"")) == []


def test_varint_table_is_the_varint_of_every_small_value():
  # The table is built by byte count; the generic encoder (and protobuf's rule) is the reference.
  assert len(tfrecord._VARINT) == tfrecord.SMALL_LIMIT
  assert all(encoded == tfrecord._encode_varint(value) for value, encoded in enumerate(tfrecord._VARINT))
  assert tfrecord._VARINT[16383] == b"\xff\x7f" and tfrecord._VARINT[16384] == b"\x80\x80\x01"


def test_abort_leaves_no_file(tmp_path):
  path = str(tmp_path / "sub" / "x.tfrecord")
  writer = tfrecord.AtomicRecordWriter(path)
  writer.write(b"partial")
  assert os.path.exists(path + ".tmp")
  writer.abort()
  assert not os.path.exists(path) and not os.path.exists(path + ".tmp")


def test_directory_blocked_by_a_file_is_not_a_directory_error(tmp_path):
  blocker = tmp_path / "afile"
  blocker.write_text("a regular file", encoding="utf-8")
  # os.makedirs(exist_ok=True) reports this as "File exists", as if the output were already there.
  with pytest.raises(NotADirectoryError) as raised:
    tfrecord.AtomicRecordWriter(str(blocker / "out.tfrecord"))
  assert raised.value.strerror == "Not a directory" and raised.value.filename == str(blocker)
  with pytest.raises(NotADirectoryError):  # deeper below the file: os.makedirs' own error, same wording
    tfrecord.AtomicRecordWriter(str(blocker / "sub" / "out.tfrecord"))
  assert os.listdir(tmp_path) == ["afile"]


def test_full_disk_fails_once_and_abort_leaves_no_temporary(tmp_path, monkeypatch):
  monkeypatch.setattr(tfrecord, "open", fault_helpers.full_disk_open(10000), raising=False)
  path = str(tmp_path / "out.tfrecord")
  writer = tfrecord.AtomicRecordWriter(path)
  with pytest.raises(OSError) as raised:
    for _ in range(1000):
      writer.write(b"x" * 100)
  assert raised.value.errno == errno.ENOSPC
  writer.abort()  # closing flushes the buffer again, which fails again: abort must stay quiet
  assert os.listdir(tmp_path) == []


def test_full_disk_at_close_is_one_error_and_nothing_is_committed(tmp_path, monkeypatch):
  monkeypatch.setattr(tfrecord, "open", fault_helpers.full_disk_open(100), raising=False)
  path = str(tmp_path / "out.tfrecord")
  writer = tfrecord.AtomicRecordWriter(path)
  writer.write(b"x" * 200)  # stays in the buffer
  with pytest.raises(OSError) as raised:
    writer.commit()
  assert raised.value.errno == errno.ENOSPC and raised.value.__context__ is None  # not chained to a second one
  writer.abort()
  assert os.listdir(tmp_path) == []


def test_atomic_file_hands_its_data_to_the_disk_while_it_is_written(tmp_path, monkeypatch):
  monkeypatch.setattr(tfrecord, "WRITE_BACK_BYTES", 1000)
  advised = []

  def advise(descriptor, offset, length, advice):
    assert os.fstat(descriptor).st_size >= offset + length  # only bytes already handed to the kernel
    advised.append((offset, length, advice))
    if len(advised) == 2:
      raise OSError(22, "Invalid argument")  # a file system without it: the data is still all written

  monkeypatch.setattr(tfrecord.os, "posix_fadvise", advise, raising=False)
  data = os.urandom(3500)
  writer = tfrecord.AtomicFile(str(tmp_path / "out.bin"))
  for start in range(0, len(data), 700):
    writer.write(data[start:start + 700])
  writer.commit()
  assert (tmp_path / "out.bin").read_bytes() == data
  # Each call covers the bytes since the last one and the range before them (on the disk by then: dropped).
  assert advised == [(0, 1400, os.POSIX_FADV_DONTNEED), (0, 2800, os.POSIX_FADV_DONTNEED)]
