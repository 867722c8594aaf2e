"""Tests for wwm/record_transport.py: records through a shared-memory file, the pipe fallback, clean-up."""
import errno
import multiprocessing
import os

from conftest import shared_path
from test_wwm_pipeline import make_options
from wwm import pipeline
from wwm import record_transport


def test_records_go_through_a_file_whose_name_is_removed_on_receipt(tmp_path):
  channel = record_transport.Channel(str(tmp_path))
  assert channel.enabled
  records = os.urandom(100000)
  sent = record_transport.send(records, channel.path_of(7))
  assert sent == record_transport.SharedRecords(channel.path_of(7), len(records))
  assert os.path.getsize(sent.path) == len(records)
  received = record_transport.receive(sent)
  assert bytes(received) == records and os.listdir(str(tmp_path)) == []


def test_records_go_through_the_pipe_when_there_is_no_file_to_use(tmp_path, monkeypatch):
  records = b"framed records"
  assert record_transport.send(records, None) is records
  assert record_transport.send(b"", str(tmp_path / "empty")) == b"" and os.listdir(str(tmp_path)) == []
  missing = record_transport.Channel(str(tmp_path / "missing"))
  assert not missing.enabled and missing.path_of(0) is None
  assert record_transport.send(records, str(tmp_path / "missing" / "file")) is records
  assert record_transport.receive(records) is records

  def full(descriptor, data):  # /dev/shm full (Docker's default is 64 MB)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(record_transport.os, "write", full)
  assert record_transport.send(records, str(tmp_path / "full")) is records
  assert os.listdir(str(tmp_path)) == []


def test_a_new_channel_removes_the_files_of_runs_whose_process_has_ended(tmp_path):
  ended = multiprocessing.get_context("fork").Process(target=lambda: None)
  ended.start()
  ended.join()
  left = tmp_path / ("bert-wwm-records-%d-00ff00ff-3" % ended.pid)
  running = tmp_path / ("bert-wwm-records-%d-00ff00ff-3" % os.getpid())
  other = tmp_path / "someone-elses-file"
  for path in (left, running, other):
    path.write_bytes(b"x")
  channel = record_transport.Channel(str(tmp_path))
  assert sorted(os.listdir(str(tmp_path))) == sorted([running.name, other.name])
  record_transport.send(b"records", channel.path_of(0))
  record_transport.send(b"records", channel.path_of(1))
  channel.discard([0, 1, 2])  # 2 was never written
  assert sorted(os.listdir(str(tmp_path))) == sorted([running.name, other.name])


def _records_of_run(tmp_path, name, workers):
  out_dir = tmp_path / name
  out_dir.mkdir()
  options = make_options(out_dir, [shared_path("pretrain_zh", "news_zh_1.txt")], num_workers=workers,
                         nsp_buffer_documents=2)
  pipeline.run(options)
  return open(options.output_files[0], "rb").read()


def test_same_bytes_through_shared_memory_and_through_the_pipe(tmp_path, monkeypatch):
  one_worker = _records_of_run(tmp_path, "one", 1)
  shared = tmp_path / "shm"
  shared.mkdir()
  monkeypatch.setattr(record_transport, "SHARED_MEMORY_DIRECTORY", str(shared))
  assert _records_of_run(tmp_path, "shared", 2) == one_worker
  assert os.listdir(str(shared)) == []
  monkeypatch.setattr(record_transport, "SHARED_MEMORY_DIRECTORY", str(tmp_path / "missing"))
  assert _records_of_run(tmp_path, "pipe", 2) == one_worker


def test_a_run_that_stops_early_leaves_no_file_behind(tmp_path, monkeypatch):
  shared = tmp_path / "shm"
  shared.mkdir()
  monkeypatch.setattr(record_transport, "SHARED_MEMORY_DIRECTORY", str(shared))
  options = make_options(tmp_path, [shared_path("pretrain_zh", "news_zh_1.txt")], num_workers=2)
  context = pipeline.create_context(options)
  chunks = [pipeline.Chunk(0, 3 * i, [["今天天气很好。", "我们去公园散步吧。"]] * 3, 30) for i in range(12)]
  results = pipeline._ordered_parallel_map(iter(chunks), context, 2)
  assert next(results).num_records > 0
  results.close()  # the consumer stops: the chunks in flight are thrown away, with their files
  assert os.listdir(str(shared)) == []
