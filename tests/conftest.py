"""Shared test fixtures: project paths, ../shared/data access, quiet TensorFlow."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

import pytest

# Quiet TensorFlow and keep each pytest-xdist worker to one core's worth of threads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# sentence-transformers sets TF_USE_LEGACY_KERAS=1 on import, after which tf.estimator cannot load (no tf_keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "0")

ROOT = pathlib.Path(__file__).resolve().parents[1]
ZH_VOCAB = ROOT / "vocab" / "zh_vocab.txt"
EN_VOCAB = ROOT / "vocab" / "en_uncased_vocab.txt"
CONFIGS = ROOT / "configs"
SHARED_DATA = pathlib.Path(os.environ.get("BERT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts):
  """Returns a path under ../shared/data, or skips the calling test with the reason when it is absent."""
  path = SHARED_DATA.joinpath(*parts)
  if not path.exists():
    pytest.skip("needs ../shared/data (%s is absent); CI has it" % path)
  return path


@pytest.fixture
def zh_vocab():
  return str(ZH_VOCAB)


@pytest.fixture
def en_vocab():
  return str(EN_VOCAB)


@pytest.fixture(scope="session")
def zh_tokenizer():
  """FullTokenizer over the shipped Chinese vocabulary, lower-casing (Google's default)."""
  import tokenization
  return tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=True)


@pytest.fixture(scope="session")
def en_tokenizer():
  """FullTokenizer over the shipped English uncased vocabulary."""
  import tokenization
  return tokenization.FullTokenizer(str(EN_VOCAB), do_lower_case=True)


def free_ports(count):
  """`count` TCP ports on localhost that were free a moment ago (for loopback TF_CONFIG clusters)."""
  sockets = [socket.socket() for _ in range(count)]
  for handle in sockets:
    handle.bind(("localhost", 0))
  ports = [handle.getsockname()[1] for handle in sockets]
  for handle in sockets:
    handle.close()
  return ports


def finish_all(processes, timeout):
  """Waits for every Popen (stdout piped, stderr merged into it); kills any still running; asserts each exited 0.

  Returns:
    The output text of each process, in order.
  """
  outputs = []
  for process in processes:
    try:
      outputs.append(process.communicate(timeout=timeout)[0])
    finally:
      process.kill()
  for process, output in zip(processes, outputs):
    assert process.returncode == 0, output[-3000:]
  return outputs


def script_env():
  """The environment for running a project script in a subprocess: CPU only, the project on sys.path."""
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")


# Google's run_classifier.py flags and defaults (../shared/FLAGS.md), which every fine-tuning script keeps.
GOOGLE_FINETUNING_FLAGS = {
    "data_dir": None, "bert_config_file": None, "task_name": None, "vocab_file": None, "output_dir": None,
    "init_checkpoint": None, "do_lower_case": True, "max_seq_length": 128, "do_train": False, "do_eval": False,
    "do_predict": False, "train_batch_size": 32, "eval_batch_size": 8, "predict_batch_size": 8,
    "learning_rate": 5e-05, "num_train_epochs": 3.0, "warmup_proportion": 0.1, "save_checkpoints_steps": 1000,
    "iterations_per_loop": 1000, "use_tpu": False, "tpu_name": None, "tpu_zone": None, "gcp_project": None,
    "master": None, "num_tpu_cores": 8}

_MAIN_DRIVER = textwrap.dedent("""
    import importlib, json, sys
    from absl import flags
    script = importlib.import_module(sys.argv[1])
    results = []
    for argv in json.loads(sys.argv[2]):
      flags.FLAGS.unparse_flags()
      flags.FLAGS([sys.argv[1] + ".py"] + argv)
      try:
        script.main([])
        results.append(None)
      except SystemExit as error:
        results.append(str(error.code))
    defaults = {name: flags.FLAGS[name].default for name in flags.FLAGS}
    print(json.dumps({"errors": results, "defaults": defaults}))
""")


def run_main_per_argv(script, argvs):
  """Runs script.main once per command line in one subprocess (one TensorFlow start for all of them).

  Args:
    script: the module name of a top-level script, e.g. "run_classifier".
    argvs: list of argument lists.

  Returns:
    {"errors": [the SystemExit code of each run as a string, or None], "defaults": {flag: default}}.
  """
  result = subprocess.run([sys.executable, "-c", _MAIN_DRIVER, script, json.dumps(argvs)], capture_output=True,
                          text=True, env=script_env(), cwd=str(ROOT), timeout=120)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])
