"""Tests for bert/environment.py: the supported Python/TensorFlow range."""
import subprocess
import sys

from bert import environment


def test_current_environment_is_supported():
  assert environment.unsupported_environment_reason() is None
  assert environment.installed_tensorflow_version().startswith("2.15.")


def test_python_outside_range_is_named():
  reason = environment.unsupported_environment_reason(python_version=(3, 12), tensorflow_version="2.15.1")
  assert reason.startswith("Python 3.12 is not supported")
  reason = environment.unsupported_environment_reason(python_version=(3, 8), tensorflow_version="2.15.1")
  assert "3.9-3.11" in reason


def test_tensorflow_outside_range_is_named():
  reason = environment.unsupported_environment_reason(python_version=(3, 11), tensorflow_version="2.16.1")
  assert reason.startswith("TensorFlow 2.16.1 is not supported") and "tf.estimator" in reason
  assert environment.unsupported_environment_reason(python_version=(3, 11), tensorflow_version="2.15.0") is None
  assert environment.unsupported_environment_reason(python_version=(3, 11), tensorflow_version="2.150") is not None


def test_check_prints_one_line_and_exits(tmp_path):
  code = ("import bert.environment as e; e.unsupported_environment_reason = lambda: 'TensorFlow 9 is not supported'; "
          "e.check_supported_environment()")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert proc.returncode == 2
  assert proc.stderr == "error: TensorFlow 9 is not supported\n"
