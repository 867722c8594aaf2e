"""Google's original BERT (the registry package bert-tensorflow) as a peer to compare against, run under TF 2.15.

Google's code is never installed into the project's environment and never copied into the project: its package
is named `bert`, like ours. It is downloaded as a wheel into a temporary directory, unpacked there (a wheel is a
zip), and its scripts are run from there in a subprocess by the launcher at the bottom of this file, which puts
the unpacked directory first on sys.path (ahead of this project's editable install) and installs a small
compatibility shim first.

What bert-tensorflow 1.0.4 needs under TF 2.15 (checked against its source): every module imports
`tensorflow.compat.v1 as tf` and uses `tf.flags`, `tf.app.run`, `tf.gfile`, `tf.logging`, `tf.to_int32`,
`tf.estimator.tpu.*`, `tf.data.experimental.*` -- all still present in tf.compat.v1 -- plus, in modeling.py,
`from tensorflow.contrib import layers as contrib_layers` for `contrib_layers.layer_norm`. So the shim
  * disables v2 behaviour (graph mode, v1 control flow, resource variables off: TF 1.x semantics);
  * provides `tensorflow.contrib` (in sys.modules and as an attribute of `tensorflow` and `tensorflow.compat.v1`):
    layers -> tf_slim.layers (layer_norm keeps the LayerNorm/{beta,gamma} variable names), tpu ->
    tf.compat.v1.estimator.tpu (then tf.compat.v1.tpu), cluster_resolver -> tf.distribute.cluster_resolver,
    data.parallel_interleave / map_and_batch -> tf.data.experimental.*;
  * optionally fixes the random seed, which Google's scripts have no flag for: RunConfig in
    tf.compat.v1.estimator.tpu (and tf.compat.v1.estimator) is replaced by a subclass whose tf_random_seed
    defaults to the seed, so the Estimator seeds each graph it builds (initialisers, dropout, the shuffle of the
    training input) exactly as this project's --tf_random_seed does. A tf.set_random_seed in the launcher would
    not reach the Estimator's graphs.
No top-level `tensorflow` replacement is needed for 1.0.4 (it imports tensorflow.compat.v1 itself); the GitHub
1.x code (`import tensorflow as tf`) would need one and is not what the registry serves.

Library use (benchmarks):
  root = google_bert.prepare()                      # download + unpack (or reuse a directory already unpacked)
  cmd = google_bert.command(root, "run_pretraining", ["--bert_config_file=...", ...], seed=1)
  rc, lines = google_bert.run_logged(cmd, "log.txt")  # stderr/stdout lines with arrival times

Launcher (what `command` builds):
  python benchmarks/google_bert.py launch ROOT MODULE SEED -- FLAGS...
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
import zipfile

PACKAGE = "bert-tensorflow"
VERSION = "1.0.4"


def download_wheel(dest_dir, version=VERSION, python=None):
  """Downloads the bert-tensorflow wheel (no dependencies) into dest_dir with pip; returns its path."""
  os.makedirs(dest_dir, exist_ok=True)
  subprocess.run([python or sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                  "-q", "%s==%s" % (PACKAGE, version), "-d", dest_dir], check=True)
  wheels = [name for name in os.listdir(dest_dir)
            if name.startswith("bert_tensorflow-%s-" % version) and name.endswith(".whl")]
  if not wheels:
    raise RuntimeError("pip download left no bert_tensorflow-%s wheel in %s" % (version, dest_dir))
  return os.path.join(dest_dir, sorted(wheels)[0])


def unpack(wheel, dest_dir):
  """Extracts the wheel (a zip) into dest_dir; returns dest_dir (which then holds the package `bert/`)."""
  with zipfile.ZipFile(wheel) as archive:
    archive.extractall(dest_dir)
  if not os.path.isfile(os.path.join(dest_dir, "bert", "run_pretraining.py")):
    raise RuntimeError("%s has no bert/run_pretraining.py" % wheel)
  return dest_dir


def prepare(root=None, version=VERSION):
  """Directory holding Google's unpacked `bert/` package: `root` if it already does, else a fresh download.

  Args:
    root: directory to reuse or fill (default: a new temporary directory, left for the caller to inspect).
    version: bert-tensorflow version.

  Returns:
    The directory (put it first on sys.path of a subprocess; see `command`).
  """
  if root and os.path.isfile(os.path.join(root, "bert", "run_pretraining.py")):
    return root
  root = root or tempfile.mkdtemp(prefix="google_bert_")
  wheel = download_wheel(os.path.join(root, "wheel"), version)
  return unpack(wheel, root)


def command(root, script, flags, seed=None, python=None):
  """argv running Google's bert/<script>.py from `root` through the shim (seed None: Google's, unseeded)."""
  return [python or sys.executable, os.path.abspath(__file__), "launch", os.path.abspath(root),
          "bert." + script, "none" if seed is None else str(int(seed)), "--"] + list(flags)


def run_logged(cmd, log_path, env=None, cwd=None):
  """Runs cmd, writing its merged stdout/stderr to log_path; returns (exit code, [(arrival time, line)]).

  Arrival times (time.time() when the line was read) let a caller time the interval between two logged steps
  without relying on the program's own log format.
  """
  env = dict(os.environ if env is None else env)
  env.setdefault("PYTHONUNBUFFERED", "1")
  lines = []
  os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
  with open(log_path, "w", encoding="utf-8") as log:
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                               text=True, errors="replace", bufsize=1)

    def pump():
      for line in process.stdout:
        now = time.time()
        lines.append((now, line.rstrip("\n")))
        log.write("%.3f %s" % (now, line))
        log.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    rc = process.wait()
    reader.join()
  return rc, lines


# ---------------------------------------------------------------------------------------------------- the shim

def _module(name, attributes, fallbacks=()):
  """A module `name` with `attributes`, looking up anything else in the `fallbacks` modules in order."""
  module = types.ModuleType(name)
  module.__dict__.update(attributes)

  def __getattr__(attribute):  # pylint: disable=invalid-name
    for fallback in fallbacks:
      if hasattr(fallback, attribute):
        return getattr(fallback, attribute)
    raise AttributeError("shim module %s has no attribute %r" % (name, attribute))

  module.__getattr__ = __getattr__
  return module


def install_shim(seed=None):
  """Makes TF 2.15 look like the TF 1.x that bert-tensorflow was written for (see the module docstring)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_slim  # pylint: disable=g-import-not-at-top
  v1 = tf.compat.v1
  v1.disable_v2_behavior()

  layers = tf_slim.layers
  tpu = _module("tensorflow.contrib.tpu", {}, (v1.estimator.tpu, v1.tpu))
  cluster_resolver = tf.distribute.cluster_resolver
  data = _module("tensorflow.contrib.data", {"parallel_interleave": tf.data.experimental.parallel_interleave,
                                             "map_and_batch": tf.data.experimental.map_and_batch},
                 (tf.data.experimental,))
  contrib = _module("tensorflow.contrib", {"layers": layers, "tpu": tpu, "cluster_resolver": cluster_resolver,
                                           "data": data})
  contrib.__path__ = []  # a package, so `from tensorflow.contrib import layers` and `import ....layers` work
  sys.modules.update({"tensorflow.contrib": contrib, "tensorflow.contrib.layers": layers,
                      "tensorflow.contrib.tpu": tpu, "tensorflow.contrib.cluster_resolver": cluster_resolver,
                      "tensorflow.contrib.data": data})
  tf.contrib = contrib
  v1.contrib = contrib

  if seed is not None:
    base = v1.estimator.tpu.RunConfig

    class SeededRunConfig(base):  # pylint: disable=missing-class-docstring
      def __init__(self, *args, **kwargs):
        kwargs.setdefault("tf_random_seed", seed)
        super().__init__(*args, **kwargs)

    SeededRunConfig.__name__ = base.__name__
    v1.estimator.tpu.RunConfig = SeededRunConfig
    if v1.estimator.tpu.RunConfig is not SeededRunConfig:
      raise RuntimeError("shim: cannot replace tf.compat.v1.estimator.tpu.RunConfig")
  return tf


def _launch(root, module, seed, argv):
  """Runs Google's `module` (e.g. bert.run_pretraining) as __main__ from `root`, shim installed."""
  import runpy  # pylint: disable=g-import-not-at-top
  here = os.path.dirname(os.path.abspath(__file__))
  sys.path[:] = [root] + [entry for entry in sys.path if os.path.abspath(entry or ".") not in (root, here)]
  install_shim(seed)
  import bert  # pylint: disable=g-import-not-at-top
  if os.path.dirname(os.path.dirname(os.path.abspath(bert.__file__))) != root:
    raise RuntimeError("shim: `import bert` found %s instead of Google's package in %s" % (bert.__file__, root))
  sys.stderr.write("google_bert: running %s from %s (seed %s)\n" % (module, root, seed))
  sys.argv = [os.path.join(root, *module.split(".")) + ".py"] + argv
  runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
  if len(sys.argv) >= 5 and sys.argv[1] == "launch":
    _seed = None if sys.argv[4] == "none" else int(sys.argv[4])
    _rest = sys.argv[5:]
    if _rest[:1] == ["--"]:
      _rest = _rest[1:]
    _launch(os.path.abspath(sys.argv[2]), sys.argv[3], _seed, _rest)
  else:
    sys.exit("usage: python %s launch ROOT MODULE SEED|none -- FLAGS...\n(library: see the docstring)" %
             sys.argv[0])
