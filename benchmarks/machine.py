"""What machine a benchmark ran on, for its JSON: the CPU model and the vector instruction sets that decide
TensorFlow's (oneDNN's) kernels. Ratios measured on one machine do not carry over to another without these."""
import re

CPUINFO = "/proc/cpuinfo"


def _cpuinfo_field(name):
  """The first value of `name` in /proc/cpuinfo ("" where it is missing or unreadable)."""
  try:
    with open(CPUINFO, encoding="utf-8") as reader:
      match = re.search(r"^%s\s*:\s*(.*)$" % re.escape(name), reader.read(), re.M)
  except OSError:
    return ""
  return match.group(1).strip() if match else ""


def cpu_model():
  """The CPU's model name, or None where /proc/cpuinfo does not say."""
  return _cpuinfo_field("model name") or None


def cpu_flags():
  """The CPU's AVX, FMA, SSE4 and AMX flags, sorted ([] where /proc/cpuinfo does not say)."""
  return sorted(flag for flag in _cpuinfo_field("flags").split() if flag.startswith(("avx", "fma", "sse4", "amx")))
