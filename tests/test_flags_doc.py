"""docs/flags.md is current with the scripts' flag definitions; every Google flag (FLAGS.md) is still defined.

Also: every relative link in README.md and docs/*.md points at a file that exists, and at a heading that exists.
Regenerate docs/flags.md with `.venv/bin/python docs/make_flags_doc.py`.
"""
import difflib
import importlib.util
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT

GENERATOR = ROOT / "docs" / "make_flags_doc.py"
FLAGS_MD = ROOT.parent / "shared" / "FLAGS.md"


def _load_generator():
  spec = importlib.util.spec_from_file_location("make_flags_doc", GENERATOR)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


make_flags_doc = _load_generator()


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
  """{script: [flag dicts]}, read in a fresh interpreter (this one may already hold other scripts' flags)."""
  output = tmp_path_factory.mktemp("flags") / "flags.json"
  done = subprocess.run([sys.executable, str(GENERATOR), "--check", "--json", str(output)], cwd=ROOT,
                        capture_output=True, text=True, timeout=600, check=False)
  assert output.exists(), "docs/make_flags_doc.py failed:\n" + done.stderr[-3000:]
  return json.loads(output.read_text(encoding="utf-8"))


def test_flags_doc_is_current(collected):
  expected = make_flags_doc.render(collected)
  actual = (ROOT / "docs" / "flags.md").read_text(encoding="utf-8")
  if actual != expected:
    diff = "\n".join(list(difflib.unified_diff(actual.splitlines(), expected.splitlines(), "docs/flags.md",
                                               "generated", lineterm=""))[:40])
    pytest.fail("docs/flags.md is out of date; run: .venv/bin/python docs/make_flags_doc.py\n" + diff)


def test_every_script_is_documented(collected):
  assert list(collected) == make_flags_doc.discover_scripts()
  for script in make_flags_doc.google_flags():
    assert script in collected, "%s.py (a Google script) was not found" % script
  for script, flags in collected.items():
    assert flags, "%s.py defines no flag" % script


def test_every_google_flag_is_defined_by_its_script_with_googles_type_and_default(collected):
  for script, google in make_flags_doc.google_flags().items():
    ours = {flag["name"]: flag for flag in collected[script]}
    for name, (kind, default, _) in google.items():
      assert name in ours, "%s.py lost Google's flag --%s" % (script, name)
      assert (ours[name]["type"], ours[name]["default"]) == (kind, default), (script, name)


def _parse_flags_md(text):
  """{script: {flag: (type, default repr, required)}} from the tables of FLAGS.md."""
  result = {}
  script = None
  for line in text.splitlines():
    heading = re.match(r"^## (\w+)\.py\s*$", line)
    if heading:
      script = heading.group(1)
      result[script] = {}
      continue
    row = re.match(r"^\| `(\w+)`( \(required\))? \| (\w+) \| `(.*)` \|$", line)
    if row and script:
      result[script][row.group(1)] = (row.group(3), row.group(4), bool(row.group(2)))
  return result


def test_the_generators_google_flags_are_those_of_flags_md():
  if not FLAGS_MD.exists():
    pytest.skip("needs ../shared/FLAGS.md (%s is absent)" % FLAGS_MD)
  parsed = _parse_flags_md(FLAGS_MD.read_text(encoding="utf-8"))
  assert sum(len(flags) for flags in parsed.values()) > 100
  assert parsed == make_flags_doc.google_flags()


def _slug(heading):
  """GitHub's anchor for a Markdown heading."""
  text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
  return text.replace(" ", "-")


def _anchors(path):
  anchors = set()
  fenced = False
  for line in path.read_text(encoding="utf-8").splitlines():
    if line.startswith("```"):
      fenced = not fenced
    elif not fenced and re.match(r"^#{1,6} ", line):
      anchors.add(_slug(line.lstrip("#")))
  return anchors


def test_links_of_readme_and_docs_resolve():
  pages = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
  broken = []
  for page in pages:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
      if re.match(r"^[a-z]+:", target):
        continue
      path, _, anchor = target.partition("#")
      resolved = (page.parent / path).resolve() if path else page
      if not resolved.exists():
        broken.append("%s: %s (no such file)" % (page.name, target))
      elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
        broken.append("%s: %s (no such heading)" % (page.name, target))
  assert not broken, "\n".join(broken)
