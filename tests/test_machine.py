"""benchmarks/machine.py: the CPU model and vector flags a benchmark JSON records."""
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import machine  # noqa: E402  pylint: disable=wrong-import-position

CPUINFO = """processor\t: 0
model name\t: Example CPU @ 2.00GHz
flags\t\t: fpu sse4_2 avx2 fma avx512f amx_tile sse4_1 avx

processor\t: 1
model name\t: Example CPU @ 2.00GHz
flags\t\t: fpu
"""


def test_reads_the_first_processor(tmp_path, monkeypatch):
  path = tmp_path / "cpuinfo"
  path.write_text(CPUINFO, encoding="utf-8")
  monkeypatch.setattr(machine, "CPUINFO", str(path))
  assert machine.cpu_model() == "Example CPU @ 2.00GHz"
  assert machine.cpu_flags() == ["amx_tile", "avx", "avx2", "avx512f", "fma", "sse4_1", "sse4_2"]


def test_missing_file_says_nothing(tmp_path, monkeypatch):
  monkeypatch.setattr(machine, "CPUINFO", str(tmp_path / "absent"))
  assert machine.cpu_model() is None
  assert machine.cpu_flags() == []
