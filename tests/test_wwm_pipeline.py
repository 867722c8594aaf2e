"""Tests for wwm/pipeline.py: reading, chunking, reproducibility across workers, sharding, faults, stats."""
import collections
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import fault_helpers
from bert.errors import UsageError
from conftest import ROOT, ZH_VOCAB, shared_path
from wwm import masking
from wwm import pipeline
from wwm import tfrecord


def make_options(tmp_path, inputs, **overrides):
  values = dict(input_files=[str(p) for p in inputs], output_files=[str(tmp_path / "out.tfrecord")],
                stats_file=str(tmp_path / "out.tfrecord.stats.json"), vocab_file=str(ZH_VOCAB), do_lower_case=True,
                masking_mode=masking.MASK_CHINESE_WORDS, segmenter="jieba", user_dict=None, max_seq_length=64,
                max_predictions_per_seq=10, random_seed=12345, dupe_factor=2, masked_lm_prob=0.15,
                short_seq_prob=0.1, nsp=True, dynamic_masking=False, per_token_decision=False, num_workers=1,
                nsp_buffer_documents=16, fast_tokenizer=False, progress=False)
  values.update(overrides)
  return pipeline.Options(**values)


def _write(path, data):
  path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
  return path


def test_read_chunks_documents_decode_errors_and_file_boundaries(tmp_path):
  first = _write(tmp_path / "a.txt", b"line one\n  \nsecond doc\nbad \xff\xfe byte\n\n\n")
  second = _write(tmp_path / "b.txt", "third doc\n" * 5)
  stats = collections.Counter()
  chunks = list(pipeline.read_chunks([str(first), str(second)], 2, stats))
  assert sum(c.num_bytes for c in chunks) == os.path.getsize(first) + os.path.getsize(second)
  # The trailing blank lines of a.txt come as a chunk without documents (it only carries their bytes).
  assert [c.documents for c in chunks if not c.documents] == [[]] and chunks[1].num_bytes == 1
  chunks = [c for c in chunks if c.documents]
  assert [c.documents for c in chunks] == [[["line one"], ["second doc", "bad \ufffd\ufffd byte"]], [["third doc"] * 5]]
  assert [(c.file_index, c.first_document_index) for c in chunks] == [(0, 0), (1, 2)]
  assert stats["decode_errors"] == 1 and stats["documents"] == 3


def test_output_paths_and_input_patterns(tmp_path):
  assert pipeline.output_paths("o.tf", 1) == ["o.tf"]
  assert pipeline.output_paths("a.tf, b.tf", 1) == ["a.tf", "b.tf"]
  assert pipeline.output_paths("o.tf", 3) == ["o.tf-00000-of-00003", "o.tf-00001-of-00003", "o.tf-00002-of-00003"]
  with pytest.raises(UsageError, match="--num_output_shards=2 needs a single --output_file"):
    pipeline.output_paths("a,b", 2)
  for name in ("x1.txt", "x2.txt"):
    _write(tmp_path / name, "a\n")
  pattern = str(tmp_path / "x*.txt")
  assert pipeline.expand_input_patterns(pattern + "," + str(tmp_path / "x1.txt")) == [
      str(tmp_path / "x1.txt"), str(tmp_path / "x2.txt")]
  with pytest.raises(UsageError, match="nothing.txt matches no file"):
    pipeline.expand_input_patterns(str(tmp_path / "nothing.txt"))


def test_vocab_case_warning():
  lower = {"[UNK]": 0, "hello": 1, "world": 2, "##s": 3}
  upper = dict(lower, **{"Hello%d" % i: 10 + i for i in range(20)})
  assert pipeline.vocab_case_warning(lower, True) is None
  assert "--do_lower_case=False" in pipeline.vocab_case_warning(lower, False)
  assert "cased vocab" in pipeline.vocab_case_warning(upper, True)
  assert pipeline.vocab_case_warning(upper, False) is None


def test_same_bytes_for_any_worker_count_and_spread_over_shards(tmp_path):
  corpus = shared_path("pretrain_zh", "news_zh_1.txt")
  outputs = {}
  for workers in (1, 2):
    out_dir = tmp_path / ("w%d" % workers)
    out_dir.mkdir()
    files = [str(out_dir / "out-0"), str(out_dir / "out-1")]
    options = make_options(out_dir, [corpus], num_workers=workers, output_files=files, nsp_buffer_documents=3)
    stats = pipeline.run(options)
    outputs[workers] = [open(f, "rb").read() for f in files]
    assert all(outputs[workers]) and not [n for n in os.listdir(out_dir) if n.endswith(".tmp")]
  assert outputs[1] == outputs[2]
  assert stats["documents"] == 10 and stats["instances"] > 50 and stats["decode_errors"] == 0
  saved = json.load(open(options.stats_file, encoding="utf-8"))
  for key in ("documents", "sentences", "instances", "tokens", "masked_tokens", "masked_words", "mean_word_length",
              "segmenter_fallbacks", "decode_errors"):
    assert key in saved
  assert saved["instances"] == stats["instances"]
  assert 1.2 < saved["mean_word_length"] < 2.5 and saved["masked_tokens"] > saved["masked_words"] > 0
  # Rerunning gives the same bytes.
  pipeline.run(make_options(tmp_path / "w1", [corpus], output_files=[str(tmp_path / "w1" / "out-0"),
                                                                      str(tmp_path / "w1" / "out-1")],
                            nsp_buffer_documents=3))
  assert open(tmp_path / "w1" / "out-0", "rb").read() == outputs[1][0]


def test_file_without_instances_is_an_error_naming_it_and_leaves_no_output(tmp_path):
  good = _write(tmp_path / "good.txt", "研究生命的起源。\n中华人民共和国成立了。\n")
  empty = _write(tmp_path / "empty.txt", "\n\n  \n\x00\x01\n")
  options = make_options(tmp_path, [good, empty])
  with pytest.raises(UsageError, match="empty.txt yields no training instance"):
    pipeline.run(options)
  assert os.listdir(tmp_path) == [] or sorted(os.listdir(tmp_path)) == ["empty.txt", "good.txt"]


def test_invalid_flags_are_usage_errors(tmp_path):
  good = _write(tmp_path / "good.txt", "研究\n")
  with pytest.raises(UsageError, match="--max_seq_length must be >= 5"):
    pipeline.run(make_options(tmp_path, [good], max_seq_length=4))
  with pytest.raises(UsageError, match="--masked_lm_prob"):
    pipeline.run(make_options(tmp_path, [good], masked_lm_prob=0.0))
  with pytest.raises(UsageError, match="--user_dict needs --chinese_wwm"):
    pipeline.run(make_options(tmp_path, [good], masking_mode=masking.MASK_TOKENS, user_dict="u.txt"))


def test_unwritable_output_is_a_usage_error(tmp_path):
  good = _write(tmp_path / "good.txt", "研究生命的起源。\n")
  blocker = _write(tmp_path / "file", "not a directory")
  with pytest.raises(UsageError, match="--output_file .*file/out.tfrecord: cannot be written"):
    pipeline.run(make_options(tmp_path, [good], output_files=[str(blocker / "out.tfrecord")]))


def test_progress_logs_periodic_lines_when_not_a_terminal(monkeypatch, caplog):
  monkeypatch.setattr(pipeline, "PROGRESS_LOG_SECONDS", 0.0)
  progress = pipeline._Progress(2000000, enabled=True)  # pylint: disable=protected-access
  with caplog.at_level("INFO"):
    progress.update(1000000, 1234)
  progress.close()
  assert any("read 1.0 of 2.0 MB (50%), 1234 instances" in record.getMessage() for record in caplog.records)


# ---------------------------------------------------------------------------------------------- faults (#10)


def _sample_slice(tmp_path, documents=12):
  """The first `documents` documents of the corpus that ships with the project."""
  text = (ROOT / "sample_data" / "zh_corpus.txt").read_text(encoding="utf-8")
  return _write(tmp_path / "corpus.txt", "\n\n".join(text.split("\n\n")[:documents]) + "\n")


def _fast_options(tmp_path, corpus, **overrides):
  values = dict(masking_mode=masking.MASK_TOKENS, dupe_factor=1)
  values.update(overrides)
  return make_options(tmp_path, [corpus], **values)


def _never_read(monkeypatch):
  """Makes reading the corpus fail the test: what is checked must be checked before any work."""
  def fail(*unused_args):
    raise AssertionError("the corpus was read before the outputs were checked")
  monkeypatch.setattr(pipeline, "read_chunks", fail)


@pytest.mark.parametrize("spelling", ["same", "relative", "dotdot", "symlink", "hardlink"])
def test_output_that_is_an_input_is_refused_before_anything_is_written(tmp_path, monkeypatch, spelling):
  corpus = _sample_slice(tmp_path)
  original = corpus.read_bytes()
  monkeypatch.chdir(tmp_path)
  output = {"same": str(corpus), "relative": "corpus.txt", "dotdot": str(tmp_path / "new" / ".." / "corpus.txt"),
            "symlink": str(tmp_path / "link.txt"), "hardlink": str(tmp_path / "hard.txt")}[spelling]
  if spelling == "symlink":
    os.symlink(str(corpus), output)
  elif spelling == "hardlink":
    os.link(str(corpus), output)
  before = sorted(os.listdir(tmp_path))
  _never_read(monkeypatch)
  with pytest.raises(UsageError) as raised:
    pipeline.run(_fast_options(tmp_path, corpus, output_files=[output]))
  assert str(raised.value) == ("--output_file %s is the --input_file %s: writing it would destroy that input" %
                               (output, corpus))
  assert corpus.read_bytes() == original and sorted(os.listdir(tmp_path)) == before


def test_stats_file_or_temporary_that_is_an_input_is_refused(tmp_path, monkeypatch):
  corpus = _sample_slice(tmp_path)
  _never_read(monkeypatch)
  with pytest.raises(UsageError, match=r"^--stats_file .*corpus.txt is the --input_file"):
    pipeline.run(_fast_options(tmp_path, corpus, stats_file=str(corpus)))
  with pytest.raises(UsageError, match=r"^--output_file .*/corpus \(its temporary file .*/corpus.tmp\) is the "):
    pipeline.run(_fast_options(tmp_path, _write(tmp_path / "corpus.tmp", "研究\n"),
                               output_files=[str(tmp_path / "corpus")]))
  with pytest.raises(UsageError, match=r"^--output_file .*zh_vocab.txt is the --vocab_file"):
    pipeline.run(_fast_options(tmp_path, corpus, output_files=[str(ZH_VOCAB)]))
  assert sorted(os.listdir(tmp_path)) == ["corpus.tmp", "corpus.txt"]


@pytest.mark.parametrize("outputs, stats, message", [
    (["o.tf", "o.tf"], None, "--output_file o.tf is given twice; each output needs its own name"),
    (["o.tf", "./o.tf"], None, "--output_file o.tf and --output_file ./o.tf are the same file; each output needs "
                               "its own name"),
    (["o.tf"], "o.tf", "--output_file o.tf and --stats_file o.tf are the same file; each output needs its own name"),
    (["o", "o.tmp"], None, "--output_file o and --output_file o.tmp collide: both write o.tmp (an output is "
                           "written as NAME.tmp until it is complete); choose other names"),
])
def test_a_file_named_twice_among_the_outputs_is_refused(tmp_path, monkeypatch, outputs, stats, message):
  corpus = _sample_slice(tmp_path)
  monkeypatch.chdir(tmp_path)
  _never_read(monkeypatch)
  with pytest.raises(UsageError) as raised:
    pipeline.run(_fast_options(tmp_path, corpus, output_files=outputs, stats_file=stats or "o.tf.stats.json"))
  assert str(raised.value) == message
  assert os.listdir(tmp_path) == ["corpus.txt"]


def test_every_output_path_is_checked_before_work_starts(tmp_path, monkeypatch):
  corpus = _sample_slice(tmp_path)
  blocker = _write(tmp_path / "afile", "a regular file")
  out = str(tmp_path / "out.tfrecord")
  checks = [
      (dict(stats_file=str(blocker / "s.json")),
       "--stats_file %s/s.json: cannot be written (Not a directory: %s)" % (blocker, blocker)),
      (dict(output_files=[out, str(blocker / "o.tf")]),
       "--output_file %s/o.tf: cannot be written (Not a directory: %s)" % (blocker, blocker)),
      (dict(stats_file=str(tmp_path)), "--stats_file %s is a directory; give a file name" % tmp_path),
      (dict(output_files=[str(tmp_path / "new") + "/"]),
       "--output_file %s/new/ is a directory; give a file name" % tmp_path),
  ]
  with monkeypatch.context() as patch:
    _never_read(patch)
    for overrides, message in checks:
      with pytest.raises(UsageError) as raised:
        pipeline.run(_fast_options(tmp_path, corpus, **overrides))
      assert str(raised.value) == message
      assert sorted(os.listdir(tmp_path)) == ["afile", "corpus.txt"]  # no record file, no temporary
  # A --stats_file directory that does not exist yet is created, like the --output_file one.
  stats_file = tmp_path / "new" / "dir" / "stats.json"
  summary = pipeline.run(_fast_options(tmp_path, corpus, stats_file=str(stats_file)))
  assert json.loads(stats_file.read_text(encoding="utf-8"))["instances"] == summary["instances"] > 0


def test_vocab_without_the_tokens_instances_need_is_a_usage_error(tmp_path):
  corpus = _sample_slice(tmp_path)
  tokens = ZH_VOCAB.read_text(encoding="utf-8").splitlines()
  vocab = _write(tmp_path / "vocab.txt", "".join(t + "\n" for t in tokens if t not in ("[MASK]", "[SEP]")))
  with pytest.raises(UsageError) as raised:
    pipeline.run(_fast_options(tmp_path, corpus, vocab_file=str(vocab)))
  assert str(raised.value) == ("vocab file %s has no [SEP], [MASK] tokens (pretraining instances need [CLS], "
                               "[SEP], [MASK]); is it a BERT WordPiece vocabulary?" % vocab)
  assert sorted(os.listdir(tmp_path)) == ["corpus.txt", "vocab.txt"]


def test_build_vocab_style_vocabulary_works(tmp_path):
  from bert import vocab_builder  # pylint: disable=g-import-not-at-top
  corpus = _sample_slice(tmp_path, documents=40)
  vocab = str(tmp_path / "vocab.txt")
  vocab_builder.write_vocab(vocab_builder.train_vocab([str(corpus)], vocab_size=800, num_unused_tokens=3), vocab)
  summary = pipeline.run(_fast_options(tmp_path, corpus, vocab_file=vocab))
  assert summary["instances"] > 0 and summary["vocab"]["file"] == os.path.abspath(vocab)


@pytest.mark.parametrize("full_at", ["--output_file", "--stats_file"])
def test_full_disk_is_one_usage_error_and_leaves_no_temporary(tmp_path, monkeypatch, full_at):
  corpus = _sample_slice(tmp_path)
  records = tmp_path / "out.tfrecord"
  pipeline.run(_fast_options(tmp_path, corpus))
  records_size = os.path.getsize(str(records))
  assert records_size > 3000
  for path in (records, tmp_path / "out.tfrecord.stats.json"):
    os.remove(str(path))
  # Full in the middle of the records, or just after them (the stats JSON is more than 100 bytes).
  room = 3000 if full_at == "--output_file" else records_size + 100
  monkeypatch.setattr(tfrecord, "open", fault_helpers.full_disk_open(room), raising=False)
  with pytest.raises(UsageError) as raised:
    pipeline.run(_fast_options(tmp_path, corpus))
  path = records if full_at == "--output_file" else str(records) + ".stats.json"
  assert str(raised.value) == "%s %s: cannot be written (No space left on device); no output written" % (
      full_at, path)
  assert os.listdir(tmp_path) == ["corpus.txt"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_parent_watchdog_ends_an_orphaned_worker():
  """The fallback for systems without prctl(PR_SET_PDEATHSIG): a worker notices that it was re-parented."""
  # A process forks a "worker" that runs only the watchdog, checks that it keeps running, and exits.
  script = ("import os, time; from wwm import pipeline\n"
            "parent = os.getpid()\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "  pipeline.PARENT_WATCHDOG_SECONDS = 0.05\n"
            "  pipeline._watch_parent(parent)\n"
            "  os._exit(0)\n"
            "time.sleep(0.3)\n"
            "print(pid, 'watching' if os.waitpid(pid, os.WNOHANG) == (0, 0) else 'ended', flush=True)\n")
  result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(ROOT),
                          timeout=60)
  pid, state = result.stdout.split()
  assert state == "watching", result.stderr
  orphan = fault_helpers.process_of(int(pid))
  running = fault_helpers.wait_until_gone([orphan] if orphan else [], timeout=5.0)
  for pid, _ in running:
    os.kill(pid, signal.SIGKILL)
  assert not running


_HALF_SENT_RESULT = """
import gc, multiprocessing.queues, os, struct
from wwm import pipeline

def send_half_a_result_and_die(chunk, context=None):
  # As a worker killed (out of memory) while sending its result: a message header, part of the data, gone.
  queue = next(o for o in gc.get_objects() if isinstance(o, multiprocessing.queues.SimpleQueue))
  os.write(queue._writer.fileno(), struct.pack("!i", 1 << 20) + b"partial")
  os._exit(1)

pipeline.process_chunk = send_half_a_result_and_die
chunks = [pipeline.Chunk(0, i, [["x"]], 1) for i in range(4)]
try:
  # 3 = this process and 2 forked workers, which take all 4 chunks (2 each in flight): none is done here.
  list(pipeline._ordered_parallel_map(iter(chunks), None, 3))
except pipeline.RunAborted as e:
  print("error: %s" % e)
"""


def test_worker_dying_halfway_through_sending_a_result_is_an_error_not_a_hang():
  # The pool's reader thread waits for the rest of the message; with the parent still holding a write end of
  # the pipe, it waited forever (and the parent with it).
  popen = subprocess.Popen([sys.executable, "-c", _HALF_SENT_RESULT], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=str(ROOT), start_new_session=True)
  try:
    stdout, stderr = popen.communicate(timeout=60)
  except subprocess.TimeoutExpired:
    os.killpg(popen.pid, signal.SIGKILL)
    popen.communicate()
    raise AssertionError("the run hangs after a worker died while sending its result")
  assert popen.returncode == 0 and "Traceback" not in stderr, stderr
  assert re.fullmatch(r"error: worker process \d+ exited with status 1; nothing was written\n", stdout), stdout


def _record_which_process(chunk, context=None):
  """A stand-in for process_chunk: its record names the process that made it, after 20 ms of "work"."""
  time.sleep(0.02)
  return pipeline.ChunkResult(chunk.first_document_index, str(os.getpid()).encode(), 1, {}, chunk.num_bytes)


def test_the_main_process_makes_records_too_and_results_stay_in_input_order():
  # 2 = this process and one forked worker: while the worker holds two chunks, this one takes the next itself.
  chunks = [pipeline.Chunk(0, i, [["x"]], 1) for i in range(40)]
  results = list(pipeline._ordered_parallel_map(iter(chunks), None, 2, function=_record_which_process))
  assert [result.file_index for result in results] == list(range(40))
  makers = collections.Counter(int(bytes(result.records)) for result in results)
  assert set(makers) - {os.getpid()} and makers[os.getpid()] >= 10, makers
  # A chunk much larger than what the worker holds goes to the worker: done here, it would leave the worker
  # idle meanwhile.
  chunks = [pipeline.Chunk(0, 0, [["x"]], 1), pipeline.Chunk(0, 1, [["x"]], 1), pipeline.Chunk(0, 2, [["x"]], 1000)]
  results = list(pipeline._ordered_parallel_map(iter(chunks), None, 2, function=_record_which_process))
  assert int(bytes(results[2].records)) != os.getpid()
