"""Fault injection for the data-creation tests: a disk that fills up, and a view of a run's worker processes."""
import errno
import io
import os
import time


class _FullDiskFile(io.FileIO):
  """A real file on a disk with disk["room"] free bytes: writes beyond that fail with ENOSPC."""

  def __init__(self, path, disk):
    super(_FullDiskFile, self).__init__(path, "wb")
    self._disk = disk

  def write(self, data):
    if len(data) > self._disk["room"]:
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    self._disk["room"] -= len(data)
    return super(_FullDiskFile, self).write(data)


def full_disk_open(room):
  """A replacement for wwm.tfrecord's `open` whose files share a disk with `room` free bytes.

  The files are buffered like open(path, "wb"), so the failure shows where it would on a real disk: in a
  write that flushes the buffer, and again when closing flushes what is left.
  """
  disk = {"room": room}

  def fake_open(path, mode="r", *args, **kwargs):
    assert mode == "wb" and not args and not kwargs, (mode, args, kwargs)
    return io.BufferedWriter(_FullDiskFile(path, disk), buffer_size=4096)

  return fake_open


def _stat_fields(pid):
  """Fields of /proc/PID/stat after the command name (state is [0], parent pid [1], start time [19])."""
  try:
    with open("/proc/%d/stat" % pid) as reader:
      return reader.read().rsplit(")", 1)[1].split()
  except OSError:
    return None


def process_of(pid):
  """(pid, start time) of a running process, or None if it has already ended."""
  fields = _stat_fields(pid)
  return (pid, fields[19]) if fields and fields[0] != "Z" else None


def child_processes(pid):
  """(pid, start time) of the live child processes that the main thread of `pid` started."""
  try:  # one small read, where the kernel has it (CONFIG_PROC_CHILDREN)
    with open("/proc/%d/task/%d/children" % (pid, pid)) as reader:
      candidates = [int(child) for child in reader.read().split()]
  except FileNotFoundError:
    candidates = [int(name) for name in os.listdir("/proc") if name.isdigit()]
  children = []
  for child in candidates:
    fields = _stat_fields(child)
    if fields and int(fields[1]) == pid and fields[0] != "Z":
      children.append((child, fields[19]))
  return children


def is_running(process):
  """Whether the (pid, start time) process still runs (a zombie or a reused pid does not count)."""
  fields = _stat_fields(process[0])
  return bool(fields) and fields[0] != "Z" and fields[19] == process[1]


def wait_for_children(popen, count, timeout=120.0):
  """Waits until `popen` has `count` live children and returns them; fails if it ends or times out first."""
  start = time.time()
  seen = set()
  while time.time() < start + timeout:
    children = child_processes(popen.pid)
    seen.update(children)
    if len(children) >= count:
      return children
    if popen.poll() is not None:
      raise AssertionError("the run ended (status %s) after %.2f s without %d workers at once (saw %s)" %
                           (popen.returncode, time.time() - start, count, sorted(seen)))
    time.sleep(0.005)
  raise AssertionError("no %d workers after %.0f s" % (count, timeout))


def wait_until_gone(processes, timeout=5.0):
  """Waits up to `timeout` seconds for the processes to end; returns those still running."""
  deadline = time.time() + timeout
  running = list(processes)
  while running and time.time() < deadline:
    time.sleep(0.05)
    running = [p for p in running if is_running(p)]
  return running
