"""Tests for bert/file_patterns.py: Google's comma-list-and-glob --input_file syntax."""
import pytest

from bert import file_patterns
from bert.errors import UsageError


def _touch(path):
  path.write_text("x\n", encoding="utf-8")
  return str(path)


def test_comma_lists_and_globs_keep_pattern_order_sort_within_and_drop_repeats(tmp_path):
  a, b, c = (_touch(tmp_path / name) for name in ("a.txt", "b.txt", "c.dat"))
  (tmp_path / "d.txt").mkdir()                            # a directory matching the glob is not a file
  patterns = "%s , %s/*.txt,%s" % (c, tmp_path, a)
  assert file_patterns.expand_file_patterns(patterns) == [c, a, b]
  assert file_patterns.expand_file_patterns([c, "%s/*.txt" % tmp_path]) == [c, a, b]


def test_errors_name_the_flag_and_the_pattern(tmp_path):
  with pytest.raises(UsageError, match=r"^--eval_input_file .*/none_\*\.txt matches no file$"):
    file_patterns.expand_file_patterns("%s/none_*.txt" % tmp_path, "--eval_input_file")
  for empty in (None, "", " , "):
    with pytest.raises(UsageError, match="^--input_file is empty"):
      file_patterns.expand_file_patterns(empty)


def test_glob_function_is_injectable_for_remote_file_systems():
  fake = {"gs://b/x-*": ["gs://b/x-2", "gs://b/x-1"]}
  assert file_patterns.expand_file_patterns("gs://b/x-*", glob_fn=fake.get) == ["gs://b/x-1", "gs://b/x-2"]
