"""Files written by run_classifier: evaluation results, test probabilities and benchmark submission files.

- `eval_results.txt` (Google's `key = value` lines) and `eval_results.json` (every metric, every eval set);
- `test_results.tsv`: one line per test example, the class probabilities tab-separated (Google's format), or
  the predicted score for regression;
- GLUE submission `<TASK>.tsv` (`index<TAB>prediction`, GLUE's label strings; MNLI writes MNLI-m.tsv and
  MNLI-mm.tsv) and CLUE submission `<task>_predict.json` (JSON lines `{"id": ..., "label": ...}`).
All files are written through a temporary name and renamed, so a crash never leaves half a file.
"""
import json
import os

import numpy as np

from bert import file_io

# GLUE's file names for the sets that have more than one test file.
_GLUE_SET_SUFFIX = {"matched": "-m", "mismatched": "-mm"}


def write_eval_results(output_dir, results):
  """Writes eval_results.txt (sorted `key = value`) and eval_results.json.

  Args:
    output_dir: destination directory.
    results: dict metric name -> number.

  Returns:
    (txt path, json path).
  """
  txt_path = os.path.join(output_dir, "eval_results.txt")
  json_path = os.path.join(output_dir, "eval_results.json")
  file_io.write_text_atomically(txt_path, "".join("%s = %s\n" % (key, results[key]) for key in sorted(results)))
  file_io.write_json_atomically(json_path, results)
  return txt_path, json_path


def test_results_name(set_name):
  """test_results.tsv, or test_results_<set>.tsv for tasks with several test sets (MNLI)."""
  return "test_results%s.tsv" % ("_" + set_name if set_name else "")


def write_test_results(path, outputs):
  """Writes the model outputs, one example per line.

  Args:
    path: destination file.
    outputs: array [num_examples, num_labels] of probabilities, or [num_examples] of regression scores.
  """
  outputs = np.asarray(outputs)
  if outputs.ndim == 1:
    lines = ["%.6f\n" % value for value in outputs]
  else:
    lines = ["\t".join("%.8f" % value for value in row) + "\n" for row in outputs]
  file_io.write_text_atomically(path, "".join(lines))


def submission_file_name(submission, set_name):
  """The benchmark's file name: GLUE `SST-2.tsv`, `MNLI-m.tsv`; CLUE `tnews_predict.json`."""
  benchmark, task = submission
  if benchmark == "glue":
    return "%s%s.tsv" % (task, _GLUE_SET_SUFFIX.get(set_name, "-" + set_name if set_name else ""))
  return "%s%s_predict.json" % (task, "_" + set_name if set_name else "")


def predicted_labels(outputs, label_list, is_regression):
  """Label strings (classification: argmax over probabilities) or scores clipped to STS-B's 0..5 range."""
  outputs = np.asarray(outputs)
  if is_regression:
    return [float(value) for value in np.clip(outputs, 0.0, 5.0)]
  return [label_list[index] for index in np.argmax(outputs, axis=-1)]


def write_submission(output_dir, submission, set_name, examples, labels):
  """Writes the benchmark submission file for one test set.

  Args:
    output_dir: destination directory.
    submission: ("glue", "SST-2") or ("clue", "tnews").
    set_name: "" or the test set's name ("matched"/"mismatched" for MNLI).
    examples: the test InputExamples (their example_id is the submission id; row order when absent).
    labels: predicted label strings (or scores), aligned with examples.

  Returns:
    The path written.
  """
  path = os.path.join(output_dir, submission_file_name(submission, set_name))
  ids = [example.example_id if example.example_id is not None else index for index, example in enumerate(examples)]
  if submission[0] == "glue":
    rows = ["index\tprediction\n"]
    for example_id, label in zip(ids, labels):
      rows.append("%s\t%s\n" % (example_id, "%.3f" % label if isinstance(label, float) else label))
  else:
    rows = [json.dumps({"id": _json_id(example_id), "label": label}, ensure_ascii=False) + "\n"
            for example_id, label in zip(ids, labels)]
  file_io.write_text_atomically(path, "".join(rows))
  return path


def _json_id(example_id):
  """CLUE ids are integers; keep numeric strings numeric."""
  if isinstance(example_id, str) and example_id.isdigit():
    return int(example_id)
  return example_id
