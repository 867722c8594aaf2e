"""End-to-end tests of create_pretraining_data.py: Google's flags and record format, new modes, errors."""
import json
import os
import re
import signal
import subprocess
import sys

import pytest

import fault_helpers
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
  assert sorted(os.listdir(output.parent)) == sorted([os.path.basename(s) + suffix for s in shards
                                                      for suffix in ("", ".manifest.json")] +
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


def test_pretraining_dynamic_masking_without_nsp(tmp_path):
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


# ---------------------------------------------------------------------------------------------- faults (#10)

# Two forked workers (--num_workers=3: the main process makes records too) and many small chunks, on a slice of
# the corpus that ships with the project. Token masking (no jieba) keeps start-up short; the pool, the writers
# and the cleanup are the same in every mode.
FAULT_FLAGS = ["--num_workers=3", "--dupe_factor=2", "--nsp_buffer_documents=4", "--max_seq_length=64",
               "--max_predictions_per_seq=10"]
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc to see the workers")


def _sample_slice(tmp_path, documents=60):
  text = (ROOT / "sample_data" / "zh_corpus.txt").read_text(encoding="utf-8")
  path = tmp_path / "corpus.txt"
  path.write_text("\n\n".join(text.split("\n\n")[:documents]) + "\n", encoding="utf-8")
  return path


def _error_lines(stderr):
  """stderr without absl's log lines ("I1201 22:52:45.561959 ...")."""
  return [line for line in stderr.splitlines() if line.strip() and not re.match(r"[IWEF]\d{4} ", line)]


def _start(corpus, output, stderr_path):
  # A session (and process group) of its own, like a command started from a shell.
  with open(str(stderr_path), "w") as stderr:
    return subprocess.Popen([sys.executable, SCRIPT, "--vocab_file=%s" % ZH_VOCAB, "--input_file=%s" % corpus,
                             "--output_file=%s" % output] + FAULT_FLAGS,
                            stdout=subprocess.DEVNULL, stderr=stderr, cwd=str(ROOT), start_new_session=True)


def _finish(popen, stderr_path):
  try:
    popen.wait(timeout=300)
  except subprocess.TimeoutExpired:
    popen.kill()  # its workers follow it (that is what the tests check)
    popen.wait()
    raise
  return popen.returncode, stderr_path.read_text(encoding="utf-8")


@pytest.fixture
def stopped_with_workers():
  """Waits for a run's two workers, then freezes the run (SIGSTOP): the next signal lands mid-run for sure.

  Whatever the test's outcome, no process it started is left behind.
  """
  started = []

  def stop(popen):
    workers = fault_helpers.wait_for_children(popen, 2)
    os.kill(popen.pid, signal.SIGSTOP)
    started.append((popen, workers))
    return workers

  yield stop
  for popen, workers in started:
    for pid, _ in [(popen.pid, None)] + [w for w in workers if fault_helpers.is_running(w)]:
      try:
        os.kill(pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
    popen.wait()


def test_output_collisions_and_incomplete_vocab_are_one_error_line(tmp_path):
  corpus = _sample_slice(tmp_path, documents=5)
  original = corpus.read_bytes()
  link = tmp_path / "link.txt"
  os.symlink(str(corpus), str(link))
  vocab = tmp_path / "vocab.txt"
  vocab.write_text("".join(t + "\n" for t in ZH_VOCAB.read_text(encoding="utf-8").splitlines() if t != "[CLS]"),
                   encoding="utf-8")
  out = str(tmp_path / "o.tf")
  for args, message in [
      (["--output_file=%s" % link], "--output_file %s is the --input_file %s: writing it would destroy that input"
       % (link, corpus)),
      (["--output_file=%s,%s" % (out, out)], "--output_file %s is given twice; each output needs its own name" % out),
      (["--output_file=%s" % out, "--vocab_file=%s" % vocab],
       "vocab file %s has no [CLS] token (pretraining instances need [CLS], [SEP], [MASK]); is it a BERT WordPiece "
       "vocabulary?" % vocab)]:
    result = _run("--input_file=%s" % corpus, *args)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: " + message
  assert corpus.read_bytes() == original and sorted(os.listdir(tmp_path)) == ["corpus.txt", "link.txt", "vocab.txt"]


@needs_proc
def test_kill_9_leaves_no_worker_and_a_rerun_gives_the_same_bytes(tmp_path, stopped_with_workers):
  corpus = _sample_slice(tmp_path)
  reference = tmp_path / "reference" / "o.tf"
  code, stderr = _finish(_start(corpus, reference, tmp_path / "ref.err"), tmp_path / "ref.err")
  assert code == 0, stderr
  output = tmp_path / "out" / "o.tf"
  popen = _start(corpus, output, tmp_path / "killed.err")
  workers = stopped_with_workers(popen)
  assert "o.tf.tmp" in os.listdir(str(output.parent))  # mid-run
  os.kill(popen.pid, signal.SIGKILL)
  assert _finish(popen, tmp_path / "killed.err")[0] == -signal.SIGKILL
  assert fault_helpers.wait_until_gone(workers) == []  # no orphan keeps running (and holding its memory)
  code, stderr = _finish(_start(corpus, output, tmp_path / "rerun.err"), tmp_path / "rerun.err")
  assert code == 0, stderr
  assert sorted(os.listdir(str(output.parent))) == ["o.tf", "o.tf.stats.json"]  # the rerun replaced the .tmp
  assert output.read_bytes() == reference.read_bytes()


@needs_proc
@pytest.mark.parametrize("signum, whole_group, name", [
    (signal.SIGTERM, False, "SIGTERM"),  # kill PID
    (signal.SIGTERM, True, "SIGTERM"),  # a job scheduler stopping the job
    (signal.SIGINT, True, "SIGINT (Ctrl-C)")],  # a terminal's Ctrl-C reaches the whole foreground group
    ids=["kill", "kill_group", "ctrl_c"])
def test_sigterm_or_ctrl_c_stops_the_workers_and_removes_the_temporaries(tmp_path, stopped_with_workers, signum,
                                                                         whole_group, name):
  corpus = _sample_slice(tmp_path)
  output = tmp_path / "out" / "o.tf"
  popen = _start(corpus, output, tmp_path / "err")
  workers = stopped_with_workers(popen)
  if whole_group:
    os.killpg(popen.pid, signum)
  else:
    os.kill(popen.pid, signum)
  os.kill(popen.pid, signal.SIGCONT)
  code, stderr = _finish(popen, tmp_path / "err")
  assert code == 128 + signum and "Traceback" not in stderr, stderr
  assert _error_lines(stderr) == ["error: terminated by %s; temporary files removed, no output written" % name]
  assert os.listdir(str(output.parent)) == []
  assert fault_helpers.wait_until_gone(workers) == []


@needs_proc
def test_a_killed_worker_is_one_error_line(tmp_path, stopped_with_workers):
  corpus = _sample_slice(tmp_path)
  output = tmp_path / "out" / "o.tf"
  popen = _start(corpus, output, tmp_path / "err")
  workers = stopped_with_workers(popen)
  os.kill(workers[0][0], signal.SIGKILL)  # as the out-of-memory killer would
  os.kill(popen.pid, signal.SIGCONT)
  code, stderr = _finish(popen, tmp_path / "err")
  assert code == 1 and "Traceback" not in stderr, stderr
  assert _error_lines(stderr) == [
      "error: worker process %d was killed by SIGKILL (out of memory?); nothing was written" % workers[0][0]]
  assert os.listdir(str(output.parent)) == []
  assert fault_helpers.wait_until_gone(workers) == []


def test_full_disk_is_one_error_line_and_leaves_no_temporary(tmp_path):
  corpus = _sample_slice(tmp_path, documents=20)
  output = tmp_path / "out" / "o.tf"
  # The script runs with wwm.tfrecord's files on a simulated disk of 5000 bytes (ENOSPC after that).
  launcher = ("import runpy, sys; sys.path.insert(0, %r); import fault_helpers; from wwm import tfrecord; "
              "tfrecord.open = fault_helpers.full_disk_open(5000); sys.argv = sys.argv[1:]; "
              "runpy.run_path(sys.argv[0], run_name='__main__')" % str(ROOT / "tests"))
  result = subprocess.run([sys.executable, "-c", launcher, SCRIPT, "--vocab_file=%s" % ZH_VOCAB,
                           "--input_file=%s" % corpus, "--output_file=%s" % output] + FAULT_FLAGS,
                          capture_output=True, text=True, cwd=str(ROOT), timeout=300)
  assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
  assert _error_lines(result.stderr) == [
      "error: --output_file %s: cannot be written (No space left on device); no output written" % output]
  assert os.listdir(str(output.parent)) == []


def _private_tmpfs_works():
  try:
    return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt"],
                          capture_output=True, timeout=30).returncode == 0
  except (OSError, subprocess.SubprocessError):
    return False


def test_full_disk_on_a_small_tmpfs(tmp_path):
  if not _private_tmpfs_works():
    pytest.skip("cannot mount a tmpfs in a private user+mount namespace (unshare -rm) here")
  corpus = _sample_slice(tmp_path, documents=20)
  disk = tmp_path / "disk"
  disk.mkdir()
  # The tmpfs exists only inside the namespace, so the listing is taken there too.
  command = ("mount -t tmpfs -o size=16k tmpfs %s && %s %s --vocab_file=%s --input_file=%s --output_file=%s/o.tf "
             "%s; echo status=$? >&2; ls -A %s >&2" % (disk, sys.executable, SCRIPT, ZH_VOCAB, corpus, disk,
                                                       " ".join(FAULT_FLAGS), disk))
  result = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, cwd=str(ROOT),
                          timeout=300)
  assert "Traceback" not in result.stderr, result.stderr
  assert _error_lines(result.stderr) == [
      "error: --output_file %s/o.tf: cannot be written (No space left on device); no output written" % disk,
      "status=1"]  # and `ls` printed nothing: no temporary on the full disk
