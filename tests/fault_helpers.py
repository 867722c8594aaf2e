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


def child_processes(pid):
  """(pid, start time) of the live child processes of `pid`."""
  children = []
  for name in os.listdir("/proc"):
    if name.isdigit():
      fields = _stat_fields(int(name))
      if fields and int(fields[1]) == pid and fields[0] != "Z":
        children.append((int(name), fields[19]))
  return children


def is_running(process):
  """Whether the (pid, start time) process still runs (a zombie or a reused pid does not count)."""
  fields = _stat_fields(process[0])
  return bool(fields) and fields[0] != "Z" and fields[19] == process[1]


def wait_for_children(popen, count, timeout=120.0):
  """Waits until `popen` has `count` live children and returns them; fails if it ends or times out first."""
  deadline = time.time() + timeout
  while time.time() < deadline:
    children = child_processes(popen.pid)
    if len(children) >= count:
      return children
    if popen.poll() is not None:
      raise AssertionError("the run ended (status %s) before starting %d workers" % (popen.returncode, count))
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
