"""Tests for bert/tfrecord_input.py: decoding and the single-file fine-tuning input_fn."""
import json

import numpy as np
import tensorflow as tf

from bert import tfrecord_input

SPEC = {
    "input_ids": tf.io.FixedLenFeature([4], tf.int64),
    "label_ids": tf.io.FixedLenFeature([], tf.float32),
}


def _write_records(path, count):
  with tf.io.TFRecordWriter(str(path)) as writer:
    for i in range(count):
      feature = {
          "input_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=[i, i + 1, i + 2, 2**31 - 1])),
          "label_ids": tf.train.Feature(float_list=tf.train.FloatList(value=[i / 2.0])),
      }
      writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def _batches(input_fn, batch_size, limit):
  dataset = input_fn({"batch_size": batch_size}).take(limit)
  return [{name: value.numpy() for name, value in batch.items()} for batch in dataset]


def test_eval_pass_reads_every_record_once_in_order_with_int32_ids(tmp_path):
  path = tmp_path / "x.tfrecord"
  _write_records(path, 5)
  batches = _batches(tfrecord_input.single_file_input_fn_builder(str(path), SPEC, False, False), 2, 10)
  assert [len(b["input_ids"]) for b in batches] == [2, 2, 1]
  ids = np.concatenate([b["input_ids"] for b in batches])
  assert ids.dtype == np.int32 and ids[:, 0].tolist() == [0, 1, 2, 3, 4] and ids[0, 3] == 2**31 - 1
  labels = np.concatenate([b["label_ids"] for b in batches])
  assert labels.dtype == np.float32 and labels.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_training_repeats_shuffles_with_seed_and_drops_remainder(tmp_path):
  path = tmp_path / "x.tfrecord"
  _write_records(path, 5)
  make = lambda seed: tfrecord_input.single_file_input_fn_builder(str(path), SPEC, True, True, seed=seed)
  first = _batches(make(7), 3, 6)
  again = _batches(make(7), 3, 6)
  assert all(len(b["input_ids"]) == 3 for b in first)
  firsts = np.concatenate([b["input_ids"][:, 0] for b in first])
  # Repeated beyond one pass of 5 records (the shuffle buffer mixes passes, so not every record need appear yet).
  assert len(firsts) == 18 and set(firsts.tolist()) <= {0, 1, 2, 3, 4} and len(set(firsts.tolist())) >= 3
  assert firsts.tolist() == np.concatenate([b["input_ids"][:, 0] for b in again]).tolist()  # seeded
  assert firsts[:5].tolist() != [0, 1, 2, 3, 4] or firsts[5:10].tolist() != [0, 1, 2, 3, 4]  # shuffled


def test_each_worker_of_a_cluster_trains_on_its_own_records(tmp_path, monkeypatch):
  path = tmp_path / "x.tfrecord"
  _write_records(path, 10)
  seen = []
  for index in range(2):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]},
                                                "task": {"type": "worker", "index": index}}))
    batches = _batches(tfrecord_input.single_file_input_fn_builder(str(path), SPEC, True, True, seed=1), 5, 4)
    seen.append({int(i) for b in batches for i in b["input_ids"][:, 0]})
  assert seen == [{0, 2, 4, 6, 8}, {1, 3, 5, 7, 9}]
