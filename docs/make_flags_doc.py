#!/usr/bin/env python3
"""Writes docs/flags.md, the reference of every flag of every top-level script, from the flag definitions.

  .venv/bin/python docs/make_flags_doc.py           # rewrite docs/flags.md
  .venv/bin/python docs/make_flags_doc.py --check   # exit 1 (and say so) if docs/flags.md is out of date
  .venv/bin/python docs/make_flags_doc.py --check --json=flags.json   # also the collected flags, as JSON

The scripts define their flags into absl's global FLAGS when they are imported (`app.run` only runs under
`if __name__ == "__main__"`), and two scripts may give one flag different defaults (max_seq_length is 128 in
run_classifier.py, 384 in run_squad.py), so each script is imported in a process of its own: a fork of this
process after TensorFlow has been imported once (or, where fork is unavailable, a fresh interpreter). The
flags a script adds to those absl itself defines are that script's flags.

A script is every top-level `*.py` file tracked by git that calls `app.run(` (without git: every such file).
tests/test_flags_doc.py fails when docs/flags.md differs from what this prints.
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "docs", "flags.md")

# The order of the pipeline; scripts not named here follow in alphabetical order.
SCRIPT_ORDER = ("create_pretraining_data", "run_pretraining", "run_classifier", "run_squad", "extract_features",
                "export_hf", "import_hf", "build_vocab", "count_params", "split_data", "demo")

# Google BERT's flags, script by script: (name, type, default, required). Source: FLAGS.md (../shared/FLAGS.md,
# "Google BERT's flags (names, types, defaults) — keep them all, with the same meaning"); tests/test_flags_doc.py
# checks this list against that file when it is present. `required` means Google's script refuses to start
# without the flag.
_GOOGLE_FLAGS_TEXT = """
create_pretraining_data
  input_file string None required
  output_file string None required
  vocab_file string None required
  do_lower_case bool True
  do_whole_word_mask bool False
  max_seq_length integer 128
  max_predictions_per_seq integer 20
  random_seed integer 12345
  dupe_factor integer 10
  masked_lm_prob float 0.15
  short_seq_prob float 0.1
run_pretraining
  bert_config_file string None required
  input_file string None required
  output_dir string None required
  init_checkpoint string None
  max_seq_length integer 128
  max_predictions_per_seq integer 20
  do_train bool False
  do_eval bool False
  train_batch_size integer 32
  eval_batch_size integer 8
  learning_rate float 5e-05
  num_train_steps integer 100000
  num_warmup_steps integer 10000
  save_checkpoints_steps integer 1000
  iterations_per_loop integer 1000
  max_eval_steps integer 100
  use_tpu bool False
  tpu_name string None
  tpu_zone string None
  gcp_project string None
  master string None
  num_tpu_cores integer 8
run_classifier
  data_dir string None required
  bert_config_file string None required
  task_name string None required
  vocab_file string None required
  output_dir string None required
  init_checkpoint string None
  do_lower_case bool True
  max_seq_length integer 128
  do_train bool False
  do_eval bool False
  do_predict bool False
  train_batch_size integer 32
  eval_batch_size integer 8
  predict_batch_size integer 8
  learning_rate float 5e-05
  num_train_epochs float 3.0
  warmup_proportion float 0.1
  save_checkpoints_steps integer 1000
  iterations_per_loop integer 1000
  use_tpu bool False
  tpu_name string None
  tpu_zone string None
  gcp_project string None
  master string None
  num_tpu_cores integer 8
run_squad
  bert_config_file string None required
  vocab_file string None required
  output_dir string None required
  train_file string None
  predict_file string None
  init_checkpoint string None
  do_lower_case bool True
  max_seq_length integer 384
  doc_stride integer 128
  max_query_length integer 64
  do_train bool False
  do_predict bool False
  train_batch_size integer 32
  predict_batch_size integer 8
  learning_rate float 5e-05
  num_train_epochs float 3.0
  warmup_proportion float 0.1
  save_checkpoints_steps integer 1000
  iterations_per_loop integer 1000
  n_best_size integer 20
  max_answer_length integer 30
  use_tpu bool False
  tpu_name string None
  tpu_zone string None
  gcp_project string None
  master string None
  num_tpu_cores integer 8
  verbose_logging bool False
  version_2_with_negative bool False
  null_score_diff_threshold float 0.0
extract_features
  input_file string None required
  output_file string None required
  layers string '-1,-2,-3,-4'
  bert_config_file string None required
  max_seq_length integer 128
  init_checkpoint string None required
  vocab_file string None required
  do_lower_case bool True
  batch_size integer 32
  use_tpu bool False
  master string None
  num_tpu_cores integer 8
  use_one_hot_embeddings bool False
"""


def google_flags():
  """Returns {script: {flag: (type, default repr, required)}} for Google's flags (FLAGS.md)."""
  result = {}
  script = None
  for line in _GOOGLE_FLAGS_TEXT.strip().splitlines():
    if not line.startswith(" "):
      script = line.strip()
      result[script] = {}
      continue
    fields = line.split()
    result[script][fields[0]] = (fields[1], fields[2], len(fields) > 3 and fields[3] == "required")
  return result


def discover_scripts(root=ROOT):
  """The top-level scripts (module names): tracked `*.py` files that call app.run, in SCRIPT_ORDER first."""
  try:
    listed = subprocess.run(["git", "ls-files", "--", "*.py"], cwd=root, check=True, capture_output=True,
                            text=True).stdout.split()
    names = [name for name in listed if "/" not in name]
  except (OSError, subprocess.CalledProcessError):
    names = [name for name in os.listdir(root) if name.endswith(".py")]
  scripts = []
  for name in names:
    with open(os.path.join(root, name), encoding="utf-8") as handle:
      if "app.run(" in handle.read():
        scripts.append(name[:-3])
  order = {name: index for index, name in enumerate(SCRIPT_ORDER)}
  return sorted(scripts, key=lambda name: (order.get(name, len(order)), name))


def _flag_names():
  from absl import flags  # pylint: disable=g-import-not-at-top
  return {name for name, flag in flags.FLAGS._flags().items() if name == flag.name}  # pylint: disable=protected-access


def _prepare():
  """Imports what every script shares; returns the names of the flags absl and TensorFlow themselves define."""
  if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  from absl import app  # pylint: disable=g-import-not-at-top,unused-import
  from absl import logging  # pylint: disable=g-import-not-at-top,unused-import
  # Third-party libraries the scripts share, imported once here so that each forked child only imports its
  # script. They are not the project's: the flags they define (TensorFlow defines a few) are nobody's here.
  for library in ("tensorflow", "tf_slim"):
    try:
      importlib.import_module(library)
    except ImportError:
      pass
  return _flag_names()


# absl's type names, spelt as FLAGS.md spells them.
_TYPE_NAMES = {"int": "integer"}


def _describe(flag):
  """One flag as a JSON-able dict."""
  default = flag.default
  if isinstance(default, str) and (default == ROOT or default.startswith(ROOT + os.sep)):
    default = "<repo>" + default[len(ROOT):].replace(os.sep, "/")
  enum_values = getattr(flag.parser, "enum_values", None)
  help_text = flag.help or ""
  if enum_values:  # absl starts an enum's help with "<a|b|c>: "; the type column lists the values instead
    prefix = "<%s>: " % "|".join(enum_values)
    help_text = help_text[len(prefix):] if help_text.startswith(prefix) else help_text
  kind = _TYPE_NAMES.get(flag.flag_type(), flag.flag_type())
  return {"name": flag.name, "type": kind, "default": repr(default), "help": help_text,
          "enum": list(enum_values) if enum_values else None}


def _script_flags(script, baseline):
  """Imports `script` (a module name) and describes the flags it defined beyond `baseline`."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  sys.argv = [script + ".py"]
  importlib.import_module(script)
  table = flags.FLAGS._flags()  # pylint: disable=protected-access
  return [_describe(table[name]) for name in sorted(_flag_names() - baseline)]


def _collect_forked(script, baseline):
  read_end, write_end = os.pipe()
  pid = os.fork()
  if pid == 0:  # child: import the script, send its flags, exit without running any cleanup of the parent's
    os.close(read_end)
    try:
      payload = {"flags": _script_flags(script, baseline)}
    except BaseException:  # pylint: disable=broad-except
      payload = {"error": traceback.format_exc()}
    with os.fdopen(write_end, "w", encoding="utf-8") as handle:
      json.dump(payload, handle)
    os._exit(0)  # pylint: disable=protected-access
  os.close(write_end)
  with os.fdopen(read_end, encoding="utf-8") as handle:
    text = handle.read()
  os.waitpid(pid, 0)
  return json.loads(text) if text else {"error": "the process importing %s.py died" % script}


def _collect_subprocess(script):
  done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", script], cwd=ROOT,
                        capture_output=True, text=True, check=False)
  try:
    return json.loads(done.stdout)
  except ValueError:
    return {"error": done.stderr or "no output from the process importing %s.py" % script}


def collect(scripts=None):
  """Returns {script: [flag dicts sorted by name]} for `scripts` (default: discover_scripts())."""
  scripts = discover_scripts() if scripts is None else scripts
  baseline = _prepare()
  result = {}
  for script in scripts:
    payload = _collect_forked(script, baseline) if hasattr(os, "fork") else _collect_subprocess(script)
    if "error" in payload:
      raise RuntimeError("could not read the flags of %s.py:\n%s" % (script, payload["error"]))
    result[script] = payload["flags"]
  return result


def _cell(text):
  return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def render(flags_by_script):
  """The Markdown of docs/flags.md."""
  google = google_flags()
  lines = [
      "# Flags of every script",
      "",
      "<!-- generated by `python docs/make_flags_doc.py` from the flag definitions; do not edit -->",
      "",
      "Every flag of every top-level script, read from the scripts' own definitions (regenerate with",
      "`.venv/bin/python docs/make_flags_doc.py`; `tests/test_flags_doc.py` fails when this file is out of date).",
      "**G** marks a flag of Google's BERT script of the same name: its name, type, default and meaning are",
      "Google's (*G, required*: Google's script refuses to start without it). Flags shared by several scripts",
      "are defined once, in `bert/common_flags.py`. Defaults under `<repo>/` are paths inside the repository.",
      "`python SCRIPT.py --helpfull` prints the same help.",
      "",
  ]
  lines += ["- [`%s.py`](#%s) (%d flag%s)" % (script, script + "py", len(flags), "" if len(flags) == 1 else "s")
            for script, flags in flags_by_script.items()]
  for script, flags in flags_by_script.items():
    ours = google.get(script, {})
    lines += ["", "## %s.py" % script, "",
              "| flag | type | default | G | help |", "|---|---|---|---|---|"]
    for flag in flags:
      kind = flag["type"]
      if flag["enum"]:
        kind = "enum: " + ", ".join(flag["enum"])
      mark = ""
      if flag["name"] in ours:
        mark = "G, required" if ours[flag["name"]][2] else "G"
      lines.append("| `--%s` | %s | `%s` | %s | %s |" % (flag["name"], _cell(kind), flag["default"].replace("|", "\\|"),
                                                        mark, _cell(flag["help"])))
  return "\n".join(lines) + "\n"


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--check", action="store_true", help="exit 1 if docs/flags.md is out of date")
  parser.add_argument("--output", default=OUTPUT, help="where to write (default docs/flags.md)")
  parser.add_argument("--json", help="also write the collected flags as JSON to this file")
  parser.add_argument("--child", help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  if args.child:  # fallback without fork: one fresh interpreter per script
    baseline = _prepare()
    print(json.dumps({"flags": _script_flags(args.child, baseline)}))
    return 0
  collected = collect()
  if args.json:
    with open(args.json, "w", encoding="utf-8") as handle:
      json.dump(collected, handle, ensure_ascii=False, indent=1)
  text = render(collected)
  if args.check:
    with open(args.output, encoding="utf-8") as handle:
      if handle.read() != text:
        print("%s is out of date: run python docs/make_flags_doc.py" % args.output, file=sys.stderr)
        return 1
    return 0
  temporary = args.output + ".tmp"
  with open(temporary, "w", encoding="utf-8") as handle:
    handle.write(text)
  os.replace(temporary, args.output)
  print("wrote %s" % args.output)
  return 0


if __name__ == "__main__":
  sys.exit(main())
