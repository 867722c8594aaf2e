"""Tests for wwm/beam_runner.py: Beam's DirectRunner (multi-processing) writes the local runner's bytes."""
import os
import subprocess
import sys

import pytest

from bert.errors import UsageError
from conftest import ROOT, ZH_VOCAB, script_env, shared_path
from test_wwm_pipeline import make_options
from wwm import beam_runner
from wwm import pipeline
from wwm import shards

beam = pytest.importorskip("apache_beam", reason="the [beam] extra is installed by make setup")

DIRECT = "--runner=DirectRunner --direct_running_mode=multi_processing --direct_num_workers=2"


def _argv(corpora, output, *extra):
  return [sys.executable, str(ROOT / "create_pretraining_data.py"), "--input_file=%s" % ",".join(map(str, corpora)),
          "--output_file=%s" % output, "--vocab_file=%s" % ZH_VOCAB, "--chinese_wwm", "--dupe_factor=2",
          "--noprogress"] + list(extra)


def _read(names):
  return [open(name, "rb").read() for name in names]


def test_direct_runner_multi_processing_writes_the_local_runners_bytes(tmp_path):
  corpora = [shared_path("pretrain_zh", "news_zh_1.txt"),
             shared_path("pretrain_zh", "CLUECorpusSmall_5000_lines_bert.txt")]
  outputs = {}
  for runner in ("local", "beam"):
    output = tmp_path / runner / "train.tfrecord"
    extra = ["--num_output_shards=3", "--runner=%s" % runner]
    if runner == "beam":
      extra.append("--beam_pipeline_options=%s" % DIRECT)
    result = subprocess.run(_argv(corpora, output, *extra), env=script_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    names = ["%s-%05d-of-00003" % (output, i) for i in range(3)]
    outputs[runner] = _read(names)
    assert not [n for n in os.listdir(output.parent) if ".tmp" in n]
  assert outputs["beam"] == outputs["local"] and all(outputs["local"])


def test_single_output_matches_the_local_streaming_run(tmp_path):
  corpus = shared_path("pretrain_zh", "news_zh_1.txt")
  local = make_options(tmp_path, [corpus], output_files=[str(tmp_path / "local.tfrecord")])
  pipeline.run(local)
  on_beam = local._replace(output_files=[str(tmp_path / "beam.tfrecord")],
                           stats_file=str(tmp_path / "beam.tfrecord.stats.json"))
  stats = beam_runner.run(on_beam, "--runner=DirectRunner")
  assert _read(on_beam.output_files) == _read(local.output_files)
  assert stats["runner"] == "beam" and stats["shards"]["built"] == 1
  # A rerun keeps the complete output.
  assert beam_runner.run(on_beam, "--runner=DirectRunner")["shards"]["kept"] == 1


def test_a_failing_work_item_leaves_no_partial_shard(tmp_path, monkeypatch):
  corpus = shared_path("pretrain_zh", "news_zh_1.txt")
  options = make_options(tmp_path, [corpus], output_files=[str(tmp_path / "o-00000-of-00001")], sharded=True,
                         nsp_buffer_documents=2)
  context = pipeline.create_context(options)
  task = pipeline.plan_shards(options, pipeline.describe_run(options, context))[0]
  assert len(task.chunks) > 2
  original = pipeline.process_spec
  calls = []

  def fail_on_the_third_chunk(spec, context=None):
    calls.append(spec)
    if len(calls) == 3:
      raise OSError("worker lost")
    return original(spec, context)

  monkeypatch.setattr(pipeline, "process_spec", fail_on_the_third_chunk)
  with pytest.raises(OSError, match="worker lost"):
    beam_runner.build_shard(task, context)
  assert os.listdir(tmp_path) == []
  monkeypatch.setattr(pipeline, "process_spec", original)
  manifest = beam_runner.build_shard(task, context)  # Beam's retry of the work item
  assert manifest["kept"] is False and shards.complete_manifest(task) is not None


def test_bad_beam_uses_are_one_line_errors(tmp_path, monkeypatch):
  corpus = shared_path("pretrain_zh", "news_zh_1.txt")
  options = make_options(tmp_path, [corpus], output_files=[str(tmp_path / "a"), str(tmp_path / "b")])
  with pytest.raises(UsageError, match="not a comma list"):
    beam_runner.run(options, "--runner=DirectRunner")
  monkeypatch.setitem(sys.modules, "apache_beam", None)
  with pytest.raises(UsageError, match=r"install the \[beam\] extra"):
    beam_runner.run(options, "")
  result = subprocess.run(_argv([corpus], tmp_path / "x", "--beam_pipeline_options=--runner=DirectRunner"),
                          env=script_env(), capture_output=True, text=True)
  assert result.returncode == 1 and result.stderr.strip().endswith(
      "error: --beam_pipeline_options needs --runner=beam")
