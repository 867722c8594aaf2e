"""bert/file_io.py: atomic writes and output directories."""
import os
import stat

import pytest

from bert import file_io
from bert.errors import UsageError


def test_atomic_write_gives_an_ordinary_file_and_leaves_no_temporary(tmp_path):
  path = tmp_path / "out.json"
  file_io.write_json_atomically(str(path), {"b": 1, "a": "中"})
  assert path.read_text(encoding="utf-8") == '{\n  "a": "中",\n  "b": 1\n}\n'
  umask = os.umask(0)
  os.umask(umask)
  assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
  assert os.listdir(tmp_path) == ["out.json"]


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
  path = tmp_path / "out.txt"
  path.write_text("old")
  with pytest.raises(TypeError):
    file_io.write_text_atomically(str(path), 42)  # not text: fails while writing
  assert path.read_text() == "old"
  assert os.listdir(tmp_path) == ["out.txt"]


def test_make_parent_dirs_says_not_a_directory(tmp_path):
  (tmp_path / "afile").write_text("x")
  with pytest.raises(UsageError, match=r"--output_file .*afile/out.txt: .*afile: Not a directory"):
    file_io.make_parent_dirs(str(tmp_path / "afile" / "out.txt"), "--output_file")
  file_io.make_parent_dirs(str(tmp_path / "new" / "dir" / "out.txt"), "--output_file")
  assert (tmp_path / "new" / "dir").is_dir()


def test_make_dirs_names_the_flag(tmp_path):
  (tmp_path / "afile").write_text("x")
  with pytest.raises(UsageError, match=r"--output_dir .*afile/sub: Not a directory \(a file is in the way\)"):
    file_io.make_dirs(str(tmp_path / "afile" / "sub"), "--output_dir")


def test_atomic_output_renames_on_success_and_removes_the_temporary_on_error(tmp_path):
  path = tmp_path / "records.bin"
  with file_io.atomic_output(path) as temporary:
    assert os.path.dirname(temporary) == str(tmp_path) and not path.exists()
    with open(temporary, "wb") as handle:
      handle.write(b"new")
  assert path.read_bytes() == b"new"
  with pytest.raises(RuntimeError):
    with file_io.atomic_output(path) as temporary:
      with open(temporary, "wb") as handle:
        handle.write(b"half")
      raise RuntimeError("killed while writing")
  assert path.read_bytes() == b"new"
  assert os.listdir(tmp_path) == ["records.bin"]
  file_io.write_bytes_atomically(str(path), b"\x00\x01")
  assert path.read_bytes() == b"\x00\x01" and os.listdir(tmp_path) == ["records.bin"]
