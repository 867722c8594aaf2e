"""Project-wide error types.

Library code raises these for problems caused by the user (a missing file, a bad flag value, malformed input).
Top-level scripts catch them in `main` and turn them into a single `error: ...` line instead of a traceback.
"""


class UsageError(Exception):
  """Bad user input: a missing or malformed file, an invalid flag value or combination.

  Its message is the single line shown to the user, so it must name the offending file, line or flag and say
  what is wrong with it (no traceback is printed).
  """
