"""Google's `--input_file` syntax: a comma-separated list of file names and glob patterns.

Pure Python (no TensorFlow import), so the TF-free data pipeline in wwm/ can use it; callers that read from
Cloud Storage pass `tf.io.gfile.glob` as `glob_fn`.
"""
import glob
import os

from bert.errors import UsageError


def expand_file_patterns(patterns, flag_name="--input_file", glob_fn=None):
  """Expands comma-separated file names / glob patterns into files.

  Args:
    patterns: a string "a.txt,dir/*.txt", or a list of such strings.
    flag_name: the flag the patterns came from, named in errors.
    glob_fn: the glob function (default: local files only, directories skipped).

  Returns:
    The matching files: sorted within each pattern, patterns in the given order, each file once.

  Raises:
    UsageError: no pattern given, or a pattern matches no file.
  """
  if glob_fn is None:
    glob_fn = lambda pattern: [name for name in glob.glob(pattern) if os.path.isfile(name)]
  if isinstance(patterns, str) or patterns is None:
    patterns = [patterns or ""]
  entries = [entry.strip() for text in patterns for entry in text.split(",") if entry.strip()]
  if not entries:
    raise UsageError("%s is empty: give files or glob patterns, comma-separated" % flag_name)
  files = []
  for entry in entries:
    matched = sorted(glob_fn(entry))
    if not matched:
      raise UsageError("%s %s matches no file" % (flag_name, entry))
    files.extend(name for name in matched if name not in files)
  return files
