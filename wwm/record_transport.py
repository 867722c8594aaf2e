"""How a worker process hands a chunk's records to the writer: through a shared-memory file, not the pool's pipe.

A chunk's framed records are megabytes. Sent through the process pool's result pipe they are pickled, written
in 64 KB pieces, read, joined and unpickled: four copies, thousands of system calls and wake-ups, nearly all
in the main process, which does this for every worker and so caps how fast several workers can go (on 25 MB of
text it spent about 1 CPU second of a 5-second 2-worker run on it). Instead the worker writes the records into
a file in /dev/shm (memory, not disk) and sends only its name; the main process maps the file, removes its name
at once, and writes the mapping to the output (one kernel copy). Where /dev/shm is missing, not writable or
full (Docker's default is 64 MB), that chunk's records go through the pipe as before; the bytes written are
the same either way.

Cleaning up. The main process chooses every file's name (`Channel.path_of`) before the worker makes it, so when
a run stops (an error, a dead worker, Ctrl-C) it removes the files of every chunk still in flight once the
workers are stopped. A main process killed with SIGKILL cannot: its workers die with it and leave at most
two files per worker, which the next run removes (`Channel` sweeps the files of processes that no longer
exist).
"""
import collections
import mmap
import os
import secrets

SHARED_MEMORY_DIRECTORY = "/dev/shm"
_PREFIX = "bert-wwm-records-"

# What a worker sends back instead of the bytes: the file holding them and its size.
SharedRecords = collections.namedtuple("SharedRecords", ["path", "size"])


class Channel(object):
  """The shared-memory files of one parallel run, named `bert-wwm-records-<pid>-<token>-<sequence>`."""

  def __init__(self, directory=None):
    """Sweeps files left by killed runs; `enabled` is False where `directory` (default /dev/shm) cannot be
    used."""
    directory = directory or SHARED_MEMORY_DIRECTORY
    self.enabled = os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK)
    self._stem = os.path.join(directory, "%s%d-%s-" % (_PREFIX, os.getpid(), secrets.token_hex(4)))
    if self.enabled:
      remove_files_of_ended_processes(directory)

  def path_of(self, sequence):
    """The file the worker of item `sequence` writes, or None (send through the pipe)."""
    return self._stem + str(sequence) if self.enabled else None

  def discard(self, sequences):
    """Removes the files of items whose records will not be read (the run is stopping)."""
    for sequence in sequences:
      _remove(self.path_of(sequence))


def send(records, path):
  """In a worker: `records` (bytes) as written to `path`, or the bytes themselves.

  Returns:
    SharedRecords when the file was written; `records` when `path` is None, the records are empty, or the
    file could not be written (it is then removed).
  """
  if path is None or not records:
    return records
  try:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
  except OSError:
    return records
  try:
    with memoryview(records) as view:
      written = 0
      while written < len(view):
        written += os.write(descriptor, view[written:])
  except OSError:  # /dev/shm full: this chunk goes through the pipe
    os.close(descriptor)
    _remove(path)
    return records
  os.close(descriptor)
  return SharedRecords(path, len(records))


def receive(value):
  """In the main process: what `send` returned -> the records, as bytes or a read-only mmap (bytes-like).

  The file's name is removed at once; its memory is freed when the mapping is garbage collected.
  """
  if not isinstance(value, SharedRecords):
    return value
  descriptor = os.open(value.path, os.O_RDONLY)
  try:
    # MAP_POPULATE maps every page now, instead of one page fault per 4 KB as the writer reads them.
    flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
    return mmap.mmap(descriptor, value.size, flags=flags, prot=mmap.PROT_READ)
  finally:
    os.close(descriptor)
    _remove(value.path)


def remove_files_of_ended_processes(directory):
  """Removes the record files whose run's main process is gone (killed with SIGKILL before it could)."""
  try:
    names = [name for name in os.listdir(directory) if name.startswith(_PREFIX)]
  except OSError:
    return
  for name in names:
    pid = name[len(_PREFIX):].split("-", 1)[0]
    if pid.isdigit() and not _process_exists(int(pid)):
      _remove(os.path.join(directory, name))


def _process_exists(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # it exists, as another user's process
    pass
  return True


def _remove(path):
  if path is None:
    return
  try:
    os.unlink(path)
  except OSError:
    pass
