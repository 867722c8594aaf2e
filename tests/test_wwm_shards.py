"""Tests for wwm/shards.py and the sharded local run: the plan, per-shard commits, and restarts after a kill."""
import collections
import json
import os
import signal
import subprocess
import sys
import time


from conftest import ROOT, ZH_VOCAB, script_env, shared_path
from test_wwm_pipeline import make_options
from wwm import pipeline
from wwm import shards


def _spec(index, num_bytes):
  return shards.ChunkSpec(0, "f", index, 1, 0, num_bytes, num_bytes)


def test_chunks_are_split_into_contiguous_runs_of_about_equal_bytes():
  chunks = [_spec(i, 10) for i in range(10)]
  assert [[c.first_document_index for c in s] for s in shards.assign_chunks(chunks, 3)] == [
      [0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
  # A chunk larger than a shard's share leaves the shards it spans empty.
  chunks = [_spec(0, 100), _spec(1, 1)]
  assert [len(s) for s in shards.assign_chunks(chunks, 4)] == [1, 0, 0, 1]


def test_scanned_chunks_read_back_exactly_as_the_streaming_reader_gives_them(tmp_path):
  first = tmp_path / "a.txt"
  first.write_bytes(b"line one\n  \nsecond doc\nbad \xff\xfe byte\n\n\nthird\n\xe3\x80\x80\nfourth\n")
  second = tmp_path / "b.txt"
  second.write_text("fifth doc\n" * 5 + "\nsixth\n", encoding="utf-8")
  paths = [str(first), str(second)]
  streamed = list(pipeline.read_chunks(paths, 2, collections.Counter()))
  specs = shards.number_documents([pipeline.scan_file(p, i, 2) for i, p in enumerate(paths)])
  loaded = [pipeline.load_chunk(spec, 2, collections.Counter()) for spec in specs]
  assert loaded == streamed and len(loaded) == 3
  assert specs[-1].first_document_index == streamed[-1].first_document_index > 0


def _options(tmp_path, **overrides):
  corpus = shared_path("pretrain_zh", "CLUECorpusSmall_5000_lines_bert.txt")
  names = ["%s-%05d-of-00004" % (tmp_path / "out.tfrecord", i) for i in range(4)]
  values = dict(output_files=names, sharded=True, max_seq_length=128, max_predictions_per_seq=20, dupe_factor=1,
                nsp_buffer_documents=64)
  values.update(overrides)
  return make_options(tmp_path, [corpus], **values)


def _contents(options):
  return [open(path, "rb").read() for path in options.output_files]


def test_sharded_run_is_the_same_for_any_worker_count_and_keeps_complete_shards(tmp_path):
  (tmp_path / "w1").mkdir()
  (tmp_path / "w2").mkdir()
  one = _options(tmp_path / "w1", num_workers=1)
  two = _options(tmp_path / "w2", num_workers=2)
  stats = pipeline.run(one)
  pipeline.run(two)
  reference = _contents(one)
  assert reference == _contents(two) and all(reference)
  assert stats["shards"] == {"kept": 0, "built": 4, "records": stats["shards"]["records"]}
  assert sum(stats["shards"]["records"]) == stats["instances"]
  manifest = shards.read_manifest(one.output_files[1])
  assert manifest["records"] == stats["shards"]["records"][1] and len(manifest["sha256"]) == 64
  # What a killed run leaves: shard 1 without its manifest, shard 2 missing with a stale temporary, shard 3
  # with other bytes than its manifest says. Shard 0 is complete and must not be touched.
  os.remove(shards.manifest_path(one.output_files[1]))
  os.remove(one.output_files[2])
  with open(one.output_files[2] + ".tmp", "wb") as stale:
    stale.write(b"partial")
  with open(one.output_files[3], "r+b") as damaged:
    damaged.write(b"x")
  kept_mtime = os.stat(one.output_files[0]).st_mtime_ns
  again = pipeline.run(one)
  assert again["shards"]["kept"] == 1 and again["shards"]["built"] == 3
  assert os.stat(one.output_files[0]).st_mtime_ns == kept_mtime
  assert _contents(one) == reference and not [n for n in os.listdir(tmp_path / "w1") if ".tmp" in n]
  assert again["instances"] == stats["instances"] and again["documents"] == stats["documents"]
  # Other flags make other records: nothing is kept.
  changed = pipeline.run(one._replace(random_seed=7))
  assert changed["shards"]["kept"] == 0 and _contents(one) != reference


def test_rerun_after_kill_9_builds_only_the_missing_shards_with_the_same_bytes(tmp_path):
  corpus = shared_path("pretrain_zh", "CLUECorpusSmall_bert_sampled.txt")
  output = tmp_path / "out.tfrecord"
  argv = [sys.executable, str(ROOT / "create_pretraining_data.py"), "--input_file=%s" % corpus,
          "--output_file=%s" % output, "--vocab_file=%s" % ZH_VOCAB, "--chinese_wwm", "--dupe_factor=1",
          "--num_output_shards=8", "--num_workers=1", "--noprogress"]
  names = ["%s-%05d-of-00008" % (output, i) for i in range(8)]
  process = subprocess.Popen(argv, env=script_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while not os.path.exists(shards.manifest_path(names[0])) and process.poll() is None and time.time() < deadline:
    time.sleep(0.01)
  process.send_signal(signal.SIGKILL)
  process.wait()
  done = [name for name in names if os.path.exists(shards.manifest_path(name))]
  assert 1 <= len(done) < len(names), "the run was not killed between its first and its last shard"
  kept = {name: os.stat(name).st_mtime_ns for name in done}
  subprocess.run(argv, env=script_env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  stats = json.load(open(str(output) + ".stats.json", encoding="utf-8"))
  assert stats["shards"]["kept"] == len(done) and stats["shards"]["built"] == len(names) - len(done)
  assert {name: os.stat(name).st_mtime_ns for name in done} == kept
  restarted = [open(name, "rb").read() for name in names]
  uninterrupted = tmp_path / "again"
  subprocess.run([a.replace(str(output), str(uninterrupted / "out.tfrecord")) for a in argv], env=script_env(),
                 check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  assert restarted == [open(name.replace(str(output), str(uninterrupted / "out.tfrecord")), "rb").read()
                       for name in names]
