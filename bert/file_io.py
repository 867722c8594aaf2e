"""Atomic file output: a file under its final name is always complete.

Text is written to a temporary name beside the target and then renamed over it, so a crash, a kill or a full
disk never leaves a half-written file under the final name (and a failed write leaves no temporary behind).
Local paths use the standard library; remote paths (gs://...) go through tf.io.gfile, imported only then.
"""
import json
import os
import tempfile
import uuid


def write_text_atomically(path, text):
  """Writes `text` (str) to `path` through a temporary file and a rename.

  Args:
    path: local or remote (scheme://) path; its directory must exist.
    text: the whole content.
  """
  if "://" in path:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    temporary = "%s.tmp-%s" % (path, uuid.uuid4().hex)
    with tf.io.gfile.GFile(temporary, "w") as handle:
      handle.write(text)
    tf.io.gfile.rename(temporary, path, overwrite=True)
    return
  directory = os.path.dirname(os.path.abspath(path))
  handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
  try:
    with os.fdopen(handle, "w", encoding="utf-8") as writer:
      writer.write(text)
    # mkstemp creates 0600 files; give the result the permissions of an ordinary new file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise


def write_json_atomically(path, value, indent=2):
  """Writes `value` as UTF-8 JSON (sorted keys, non-ASCII kept, trailing newline) atomically."""
  write_text_atomically(path, json.dumps(value, indent=indent, ensure_ascii=False, sort_keys=True) + "\n")


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
