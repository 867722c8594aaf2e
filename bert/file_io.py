"""Atomic file output: a file under its final name is always complete.

Text is written to a temporary name beside the target and then renamed over it, so a crash, a kill or a full
disk never leaves a half-written file under the final name (and a failed write leaves no temporary behind).
Local paths use the standard library; remote paths (gs://...) go through tf.io.gfile, imported only then.
"""
import contextlib
import json
import os
import uuid


def temporary_path(path):
  """A unique temporary name beside `path` (the same directory, so renaming it over `path` is atomic)."""
  return "%s.tmp-%s" % (path, uuid.uuid4().hex)


def replace(temporary, path):
  """Renames the finished file `temporary` over `path` (local disks and remote file systems)."""
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    tf.io.gfile.rename(temporary, path, overwrite=True)
  else:
    os.replace(temporary, path)


def open_file(path, mode="rb"):
  """open() for local paths, tf.io.gfile.GFile for remote ones (gs://...; TensorFlow is imported only then)."""
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return tf.io.gfile.GFile(path, mode)
  return open(path, mode)


def exists(path):
  """os.path.exists for local paths, tf.io.gfile.exists for remote ones."""
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    return tf.io.gfile.exists(path)
  return os.path.exists(path)


def remove_if_present(path):
  """Deletes `path` if it exists (a temporary file left by a failed write)."""
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    if tf.io.gfile.exists(path):
      tf.io.gfile.remove(path)
  elif os.path.exists(path):
    os.remove(path)


@contextlib.contextmanager
def atomic_output(path):
  """Context yielding a temporary name to write the whole of `path` at; renamed over `path` on success.

  On an exception the temporary file is deleted and `path` is left as it was. Every writer of a file the
  project produces (text, JSON, NumPy, TFRecords, plots) goes through here.

  Args:
    path: local or remote (scheme://) path; its directory must exist.

  Yields:
    The temporary path (str).
  """
  path = str(path)
  temporary = temporary_path(path)
  try:
    yield temporary
    replace(temporary, path)
  except BaseException:
    remove_if_present(temporary)
    raise


def _write(path, data, mode):
  """Writes str (mode "w", UTF-8) or bytes (mode "wb") `data` to `path` through a temporary file."""
  with atomic_output(path) as temporary:
    if "://" in temporary:
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      with tf.io.gfile.GFile(temporary, mode) as handle:
        handle.write(data)
    else:
      with open(temporary, mode, encoding=None if "b" in mode else "utf-8") as handle:
        handle.write(data)


def write_bytes_atomically(path, data):
  """Writes `data` (bytes) to `path` through a temporary file and a rename."""
  _write(path, data, "wb")


def write_text_atomically(path, text):
  """Writes `text` (str, UTF-8) to `path` through a temporary file and a rename.

  Args:
    path: local or remote (scheme://) path; its directory must exist.
    text: the whole content.
  """
  _write(path, text, "w")


def write_json_atomically(path, value, indent=2, sort_keys=True):
  """Writes `value` as UTF-8 JSON (keys sorted unless sort_keys=False, non-ASCII kept, trailing newline)."""
  write_text_atomically(path, json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=sort_keys) + "\n")


def read_json(path):
  """The JSON value in the local UTF-8 file `path`."""
  with open(path, encoding="utf-8") as handle:
    return json.load(handle)


def make_dirs(directory, flag_name):
  """Creates the local output `directory` and its parents (remote paths need none).

  Raises:
    UsageError naming the flag: a component is a regular file ("Not a directory"), or it cannot be created.
  """
  if "://" in directory:
    return
  from bert.errors import UsageError  # pylint: disable=import-outside-toplevel
  try:
    os.makedirs(directory, exist_ok=True)
  except (FileExistsError, NotADirectoryError):
    raise UsageError("%s %s: Not a directory (a file is in the way)" % (flag_name, directory)) from None
  except OSError as error:
    raise UsageError("%s %s: cannot create it (%s)" % (flag_name, directory, error.strerror)) from None


def make_parent_dirs(path, flag_name):
  """Creates the local directory of output file `path` (make_dirs, with errors naming `path`)."""
  if "://" in path:
    return
  from bert.errors import UsageError  # pylint: disable=import-outside-toplevel
  directory = os.path.dirname(os.path.abspath(path))
  try:
    make_dirs(directory, flag_name)
  except UsageError as error:
    raise UsageError("%s %s: %s" % (flag_name, path, str(error)[len(flag_name) + 1:])) from None
