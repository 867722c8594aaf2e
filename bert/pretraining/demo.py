"""`make demo`: pretrain a tiny Chinese BERT on the shipped sample corpus and show that it learned.

Steps (each a real project script, run as a subprocess exactly as a user would run it):
  1. split the corpus into training documents and held-out documents (every k-th document);
  2. create_pretraining_data.py --chinese_wwm on both parts (Google's Chinese vocabulary);
  3. run_pretraining.py on CPU: tiny config, --do_train --do_eval --eval_input_file=<held-out records>;
  4. compare the held-out masked-LM accuracy with the majority-token baseline (always guessing the most
     frequent masked token of the held-out set, an upper bound for any model that ignores context).
Progress bars show every step; full logs go to <output_dir>/logs/.
"""
import collections
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import threading
import time

from tqdm import tqdm

import tokenization
from bert import data_split
from bert import file_io
from bert.errors import UsageError

MARKER = ".demo_output"
STEP_LINE = re.compile(r"^step (\d+)/(\d+) (.*)$")


@dataclasses.dataclass
class DemoSettings:
  """What the demo trains on and how long."""
  corpus: str
  vocab_file: str
  bert_config_file: str
  output_dir: str
  heldout_every: int = 10
  max_seq_length: int = 64
  max_predictions_per_seq: int = 10
  dupe_factor: int = 10
  train_batch_size: int = 32
  # Measured on the sample corpus: 1e-3 and above leave this post-LayerNorm tiny model stuck at the unigram
  # distribution (held-out accuracy = majority baseline); 5e-4 learns context within a few hundred steps.
  num_train_steps: int = 1000
  num_warmup_steps: int = 100
  learning_rate: float = 5e-4
  random_seed: int = 12345
  num_workers: int = 2


def read_documents(path):
  """The corpus' documents (bert.data_split.read_documents); errors name --corpus."""
  return data_split.read_documents(path, "--corpus")


def split_heldout(documents, every):
  """Holds out every `every`-th document (spread over the corpus, deterministic).

  Args:
    documents: list of documents.
    every: hold out documents every-1, 2*every-1, ...

  Returns:
    (training documents, held-out documents).

  Raises:
    UsageError: too few documents to hold one out and still train on the rest.
  """
  if every < 2:
    raise UsageError("--heldout_every must be >= 2, got %d" % every)
  if len(documents) < 2:
    raise UsageError("the corpus needs at least 2 documents (blank-line separated) to hold one out, found %d"
                     % len(documents))
  heldout = [doc for index, doc in enumerate(documents) if index % every == every - 1]
  if not heldout:
    heldout = documents[-1:]
  train = [doc for doc in documents if doc not in heldout]
  return train, heldout


def write_documents(path, documents):
  """Writes documents in the pretraining format (blank line between documents)."""
  file_io.write_text_atomically(path, data_split.format_documents(documents))


def masked_label_counts(tfrecord_path):
  """Counts the masked-LM label ids (real predictions only, weight > 0) of a pretraining TFRecord file.

  Args:
    tfrecord_path: file written by create_pretraining_data.py.

  Returns:
    (collections.Counter of label ids, number of records).
  """
  import tensorflow as tf
  counts = collections.Counter()
  records = 0
  for record in tf.data.TFRecordDataset(tfrecord_path):
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature
    ids = feature["masked_lm_ids"].int64_list.value
    weights = feature["masked_lm_weights"].float_list.value
    counts.update(token for token, weight in zip(ids, weights) if weight > 0)
    records += 1
  return counts, records


def majority_baseline(counts):
  """Accuracy of always predicting the most frequent label.

  Args:
    counts: Counter of label ids.

  Returns:
    (token id, accuracy).
  """
  token, count = counts.most_common(1)[0]
  return token, count / float(sum(counts.values()))


def _ticker(bar, stop):
  """Refreshes a progress bar twice a second so the elapsed time moves while a subprocess is silent."""
  while not stop.wait(0.5):
    bar.refresh()


def run_stage(command, log_path, description, total=None, on_line=None):
  """Runs `command`, logging its output to `log_path`, with a progress bar.

  Args:
    command: argv list.
    log_path: where stdout+stderr go.
    description: bar label.
    total: bar total (None: only elapsed time is shown).
    on_line: callable(line, bar) for each output line (e.g. to advance the bar).

  Raises:
    UsageError: the command failed (its last error line and the log path are named).
  """
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
  bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}] {postfix}" \
      if total else "{desc}: {elapsed} {postfix}"
  last_lines = collections.deque(maxlen=5)
  with open(log_path, "w", encoding="utf-8") as log, \
      tqdm(total=total, desc=description, bar_format=bar_format, file=sys.stdout, dynamic_ncols=True) as bar:
    stop = threading.Event()
    thread = threading.Thread(target=_ticker, args=(bar, stop), daemon=True)
    thread.start()
    try:
      process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 encoding="utf-8", errors="replace", env=env)
      for line in process.stdout:
        log.write(line)
        line = line.rstrip("\n")
        if line.strip():
          last_lines.append(line)
        if on_line is not None:
          on_line(line, bar)
      returncode = process.wait()
    finally:
      stop.set()
      thread.join()
  if returncode != 0:
    errors = [line for line in last_lines if line.startswith("error:")]
    reason = errors[-1] if errors else (last_lines[-1] if last_lines else "no output")
    raise UsageError("%s failed (exit %d): %s (full log: %s)" % (description, returncode, reason, log_path))


def _training_progress(line, bar):
  """Advances the training bar from run_pretraining's 'step N/M ...' lines; flags evaluation."""
  match = STEP_LINE.match(line)
  if match:
    bar.n = int(match.group(1))
    fields = match.group(3).split()
    values = dict(zip(fields[0::2], fields[1::2]))
    bar.set_postfix_str("loss %s, masked-LM acc %s, %s ex/s" % (
        values.get("loss", "?"), values.get("masked_lm_accuracy", "?"), values.get("examples/s", "?")))
  elif "Running evaluation" in line:
    bar.set_postfix_str("evaluating on the held-out documents ...")


def prepare_output_dir(output_dir):
  """Creates (or, when it is a previous demo's, empties) the demo's output directory.

  Raises:
    UsageError: the directory exists, is not empty and was not made by the demo.
  """
  if os.path.isdir(output_dir) and os.listdir(output_dir):
    if not os.path.exists(os.path.join(output_dir, MARKER)):
      raise UsageError("--output_dir %s exists and was not made by the demo; choose another one" % output_dir)
    shutil.rmtree(output_dir)
  os.makedirs(os.path.join(output_dir, "logs"))
  with open(os.path.join(output_dir, MARKER), "w") as handle:
    handle.write("made by demo.py; removed and rebuilt on each run\n")


def read_eval_results(path):
  """Parses eval_results.txt ('key = value' lines)."""
  results = {}
  with open(path) as handle:
    for line in handle:
      key, _, value = line.partition(" = ")
      results[key.strip()] = float(value)
  return results


def _token(vocab_file, token_id):
  with open(vocab_file, encoding="utf-8") as handle:
    for index, line in enumerate(handle):
      if index == token_id:
        return line.rstrip("\n")
  return str(token_id)


def run_demo(settings, python=sys.executable, root=None):
  """Runs the whole demo and prints the summary.

  Args:
    settings: DemoSettings.
    python: interpreter for the subprocesses.
    root: project root holding the scripts (default: this file's parent's parent).

  Returns:
    dict of measured numbers (accuracy, baseline, seconds, checkpoint ...).
  """
  started = time.time()
  # The project root: this file is bert/pretraining/demo.py.
  root = root or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  out = os.path.abspath(settings.output_dir)
  documents = read_documents(settings.corpus)
  train_docs, heldout_docs = split_heldout(documents, settings.heldout_every)
  prepare_output_dir(out)
  data_dir = os.path.join(out, "data")
  model_dir = os.path.join(out, "model")
  logs = os.path.join(out, "logs")
  os.makedirs(data_dir)
  print("Corpus %s: %d documents -> %d for training, %d held out (every %d-th)" % (
      settings.corpus, len(documents), len(train_docs), len(heldout_docs), settings.heldout_every))

  parts = {"train": (train_docs, settings.dupe_factor), "heldout": (heldout_docs, 1)}
  records = {}
  for index, (name, (docs, dupe_factor)) in enumerate(parts.items()):
    text_path = os.path.join(data_dir, name + ".txt")
    write_documents(text_path, docs)
    records[name] = os.path.join(data_dir, name + ".tfrecord")
    run_stage([python, os.path.join(root, "create_pretraining_data.py"), "--input_file=" + text_path,
               "--output_file=" + records[name], "--vocab_file=" + settings.vocab_file, "--chinese_wwm",
               "--max_seq_length=%d" % settings.max_seq_length,
               "--max_predictions_per_seq=%d" % settings.max_predictions_per_seq,
               "--dupe_factor=%d" % dupe_factor, "--random_seed=%d" % (settings.random_seed + index),
               "--num_workers=%d" % settings.num_workers, "--noprogress"],
              os.path.join(logs, "create_%s_data.log" % name),
              "[%d/3] whole-word-masked %s data" % (index + 1, "training" if name == "train" else "held-out"))

  heldout_counts, heldout_records = masked_label_counts(records["heldout"])
  _, train_records = masked_label_counts(records["train"])
  print("Data: %d training instances (dupe_factor %d), %d held-out instances with %d masked tokens" % (
      train_records, settings.dupe_factor, heldout_records, sum(heldout_counts.values())))

  pretraining_command = [
      python, os.path.join(root, "run_pretraining.py"), "--bert_config_file=" + settings.bert_config_file,
      "--input_file=" + records["train"], "--eval_input_file=" + records["heldout"], "--output_dir=" + model_dir,
      "--do_train", "--do_eval", "--max_seq_length=%d" % settings.max_seq_length,
      "--max_predictions_per_seq=%d" % settings.max_predictions_per_seq,
      "--train_batch_size=%d" % settings.train_batch_size, "--eval_batch_size=32", "--max_eval_steps=100000",
      "--num_train_steps=%d" % settings.num_train_steps, "--num_warmup_steps=%d" % settings.num_warmup_steps,
      "--learning_rate=%g" % settings.learning_rate, "--save_checkpoints_steps=%d" % settings.num_train_steps,
      "--log_every_n_steps=10", "--tf_random_seed=%d" % settings.random_seed]
  run_stage(pretraining_command, os.path.join(logs, "run_pretraining.log"), "[3/3] pretraining (CPU)",
            total=settings.num_train_steps, on_line=_training_progress)

  results = read_eval_results(os.path.join(model_dir, "eval_results.txt"))
  baseline_token, baseline = majority_baseline(heldout_counts)
  summary = {
      "seconds": time.time() - started,
      "masked_lm_accuracy": results["masked_lm_accuracy"],
      "masked_lm_loss": results["masked_lm_loss"],
      "next_sentence_accuracy": results.get("next_sentence_accuracy"),
      "majority_baseline": baseline,
      "majority_token": _token(settings.vocab_file, baseline_token),
      "checkpoint": os.path.join(model_dir, "model.ckpt-%d" % int(results["global_step"])),
      "model_dir": model_dir,
      "continue_command": _continue_command(pretraining_command, settings.num_train_steps * 3, root),
  }
  print("Asking the model to fill in the masks of the first held-out examples ...")
  inv_vocab = {index: line.rstrip("\n") for index, line in enumerate(open(settings.vocab_file, encoding="utf-8"))}
  summary["examples"] = [format_prediction(record, guesses, inv_vocab) for record, guesses in
                         predict_masked_tokens(settings, model_dir, records["heldout"], 3)]
  print_summary(summary, settings)
  return summary


def _shown_python(python, root):
  """How to call the interpreter in printed commands: the project's .venv relative to here, else `python`."""
  if os.path.abspath(python).startswith(os.path.join(root, ".venv") + os.sep):
    return os.path.relpath(python, os.getcwd())
  return "python"


def _continue_command(command, num_train_steps, root):
  """The pretraining command with a larger --num_train_steps, as a copy-pasteable shell line."""
  import shlex
  parts = [_shown_python(command[0], root),
           os.path.relpath(command[1], os.getcwd()) if command[1].startswith(root) else command[1]]
  for argument in command[2:]:
    if argument.startswith("--num_train_steps="):
      argument = "--num_train_steps=%d" % num_train_steps
    elif argument.startswith("--save_checkpoints_steps="):
      argument = "--save_checkpoints_steps=1000"
    parts.append(argument)
  return " ".join(shlex.quote(part) for part in parts)


def first_records(tfrecord_path, count):
  """The first `count` records of a pretraining file as dicts of Python lists."""
  import tensorflow as tf
  rows = []
  for record in tf.data.TFRecordDataset(tfrecord_path).take(count):
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    rows.append({name: list(getattr(feature[name], feature[name].WhichOneof("kind")).value)
                 for name in ("input_ids", "masked_lm_positions", "masked_lm_ids", "masked_lm_weights")})
  return rows


def predict_masked_tokens(settings, model_dir, tfrecord_path, count):
  """The trained model's guesses for the masked tokens of the first `count` records of `tfrecord_path`.

  Returns:
    list of (record dict, list of predicted ids, one per masked_lm_positions entry).
  """
  import tensorflow as tf
  from bert import estimator_utils
  from bert import modeling
  from bert.pretraining import data as pretraining_input
  from bert.pretraining import model as pretraining_model
  tf.get_logger().setLevel("ERROR")
  config = modeling.BertConfig.from_json_file(settings.bert_config_file)
  options = estimator_utils.RunOptions()
  model_fn = pretraining_model.model_fn_builder(config, None, settings.learning_rate, settings.num_train_steps,
                                                settings.num_warmup_steps, options, model_dir)
  estimator = estimator_utils.build_estimator(model_fn, options, model_dir, settings.train_batch_size,
                                              predict_batch_size=count)
  record_format = pretraining_input.check_record_format(tfrecord_path, settings.max_seq_length,
                                                        settings.max_predictions_per_seq)
  input_fn = pretraining_input.input_fn_builder([tfrecord_path], settings.max_seq_length,
                                                settings.max_predictions_per_seq, False, record_format,
                                                repeat_eval=False)
  predictions = estimator.predict(lambda params: input_fn(params).take(1))
  guesses = [list(prediction["masked_lm_predictions"]) for prediction in predictions]
  return list(zip(first_records(tfrecord_path, count), guesses))


def format_prediction(record, guesses, inv_vocab, width=70):
  """One line per example: the text with masked tokens shown as ＿, then truth -> guess for each of them."""
  masked = {int(position): (int(label), int(guess))
            for position, label, weight, guess in zip(record["masked_lm_positions"], record["masked_lm_ids"],
                                                      record["masked_lm_weights"], guesses) if weight > 0}
  text = []
  for position, token_id in enumerate(record["input_ids"]):
    token = inv_vocab.get(token_id, "?")
    if token in (tokenization.CLS_TOKEN, tokenization.PAD_TOKEN):
      continue
    if token == tokenization.SEP_TOKEN:
      token = " / "
    text.append("＿" if position in masked else token.replace("##", ""))
  text = "".join(text).strip(" /")
  if len(text) > width:
    text = text[:width] + "…"
  pairs = ["%s%s%s" % (inv_vocab.get(label, "?"), "=" if label == guess else "→", inv_vocab.get(guess, "?"))
           for _, (label, guess) in sorted(masked.items())]
  return "  %s\n      truth→guess: %s" % (text, "  ".join(pairs))


def print_summary(summary, settings):
  """Prints what the demo measured and what to run next."""
  ratio = summary["masked_lm_accuracy"] / summary["majority_baseline"] if summary["majority_baseline"] else 0
  verdict = "the model learned from context" if ratio > 1.2 else "not clearly above the baseline"
  lines = [
      "",
      "=" * 78,
      "Demo finished in %dm%02ds." % divmod(int(round(summary["seconds"])), 60),
      "Held-out masked-LM accuracy: %.1f%%   (loss %.3f)" % (100 * summary["masked_lm_accuracy"],
                                                          summary["masked_lm_loss"]),
      "Majority-token baseline:     %.1f%%   (always guessing %r, the most frequent masked token)" % (
          100 * summary["majority_baseline"], summary["majority_token"]),
      "-> %.1fx the baseline: %s." % (ratio, verdict),
  ]
  if summary.get("examples"):
    lines.append("First held-out examples (masked tokens shown as ＿; '=' right, '→' the model's wrong guess):")
    lines += summary["examples"]
  if summary["next_sentence_accuracy"] is not None:
    lines.append("Held-out next-sentence accuracy: %.1f%% (chance: about 50%%)" %
                 (100 * summary["next_sentence_accuracy"]))
  model_dir = summary["model_dir"]
  lines += [
      "Checkpoint: %s  (config: %s/bert_config.json, logs: %s)" % (
          summary["checkpoint"], model_dir, os.path.join(os.path.dirname(model_dir), "logs")),
      "",
      "Next:",
      "  * Watch the curves:     tensorboard --logdir %s" % model_dir,
      "  * Train longer (resumes from the checkpoint, same --output_dir):",
      "      " + summary["continue_command"],
      "  * Fine-tune it:         %s run_classifier.py --task_name=chnsenticorp --data_dir=DATA_DIR "
      "--vocab_file=%s --bert_config_file=%s/bert_config.json --init_checkpoint=%s --output_dir=/tmp/cls "
      "--do_train --do_eval" % (summary["continue_command"].split()[0], settings.vocab_file, model_dir,
                                summary["checkpoint"]),
      "  * Real pretraining:     see README 'Pretraining' (more text, configs/bert_base_zh.json, --use_tpu "
      "or --num_gpus)",
      "=" * 78,
  ]
  print("\n".join(lines))
