"""Project-wide error types.

Library code raises these for problems caused by the user (a missing file, a bad flag value, malformed input).
Top-level scripts catch them in `main` and turn them into a single `error: ...` line instead of a traceback.
"""


class UsageError(Exception):
  """Bad user input: a missing or malformed file, an invalid flag value or combination.

  Its message is the single line shown to the user, so it must name the offending file, line or flag and say
  what is wrong with it (no traceback is printed).
  """


def require(values, names):
  """Raises UsageError "--NAME is required" for the first of `names` not set in `values`.

  Args:
    values: parsed absl FlagValues or a stage's Args (anything whose attributes are the flags' values).
    names: the flags that must be given (None and "" count as not given).
  """
  for name in names:
    if getattr(values, name) in (None, ""):
      raise UsageError("--%s is required" % name)
