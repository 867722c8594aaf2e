"""Refuses, in one line, to run on a Python or TensorFlow outside the supported range.

TensorFlow 2.16 removed `tf.estimator` and with it `TPUEstimator`, which every script here is built on, so the
project is pinned to TensorFlow 2.15 (and therefore Python 3.9-3.11, the versions TF 2.15 ships wheels for).
The check reads package metadata only, so it costs nothing and does not import TensorFlow.
"""
import sys
from importlib import metadata

SUPPORTED_PYTHON = ((3, 9), (3, 11))
SUPPORTED_TF_MINOR = "2.15"
# Distribution names under which TensorFlow 2.15 is published (CPU, GPU, Apple, Cloud TPU VM runtimes).
TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos", "tensorflow-tpu",
                    "tensorflow-intel")


def unsupported_environment_reason(python_version=None, tensorflow_version=None):
  """Returns a one-line reason why this environment cannot run the project, or None if it can.

  Args:
    python_version: (major, minor) tuple; defaults to the running interpreter.
    tensorflow_version: version string; defaults to the installed TensorFlow distribution (None: not installed,
      which is left to the import to report).

  Returns:
    A string, or None.
  """
  if python_version is None:
    python_version = tuple(sys.version_info[:2])
  low, high = SUPPORTED_PYTHON
  if not low <= tuple(python_version) <= high:
    return ("Python %d.%d is not supported: use Python 3.9-3.11 (TensorFlow 2.15, the last release with "
            "tf.estimator/TPUEstimator, has no wheels for other versions)" % tuple(python_version))
  if tensorflow_version is None:
    tensorflow_version = installed_tensorflow_version()
  if tensorflow_version is not None and not (tensorflow_version == SUPPORTED_TF_MINOR or
                                             tensorflow_version.startswith(SUPPORTED_TF_MINOR + ".")):
    return ("TensorFlow %s is not supported: install tensorflow-cpu==2.15.1 (or tensorflow[and-cuda]==2.15.1); "
            "TensorFlow 2.16 removed tf.estimator, which TPUEstimator needs" % tensorflow_version)
  return None


def installed_tensorflow_version():
  """Returns the version of the first installed TensorFlow distribution, or None."""
  for name in TF_DISTRIBUTIONS:
    try:
      return metadata.version(name)
    except metadata.PackageNotFoundError:
      continue
  return None


def check_supported_environment():
  """Exits with a one-line error when the environment is unsupported."""
  reason = unsupported_environment_reason()
  if reason:
    sys.stderr.write("error: %s\n" % reason)
    raise SystemExit(2)
