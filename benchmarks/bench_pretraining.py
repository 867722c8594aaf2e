"""Pretraining throughput: this project's run_pretraining path vs Hugging Face BertForPreTraining (torch, CPU).

For each model (tiny, mini: batch 32; base: batch 8; sequence length 128, 20 masked positions, fp32 on CPU):
  * ours:      examples/s of training steps of the pretraining model_fn (masked-LM + NSP, AdamW, clipping,
               progress host_call) run by the TPUEstimator from estimator_utils.build_estimator, exactly as
               run_pretraining.py runs it (input from memory, so the disk is not measured);
  * ours+xla:  the same with --use_xla;
  * hf:        transformers' BertForPreTraining with the same config, batch, sequence length and number of
               masked positions (labels -100 elsewhere), torch.optim.AdamW and clip_grad_norm_(1.0);
and the ratios ours/hf. Steps are timed by a hook between session runs (graph building, initialisation and
checkpoint writing are excluded); both frameworks get the same thread count. Machines are shared and noisy:
compare the ratios, measured in the same run.

  python benchmarks/bench_pretraining.py            # tiny, mini, base (several minutes on 2 cores)
  python benchmarks/bench_pretraining.py --quick    # smoke run: tiny model, sequence 32, few steps

Prints a table and writes benchmarks/results/bench_pretraining.json (atomically).
"""
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top
from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top
from absl import logging  # pylint: disable=g-import-not-at-top

from bert import estimator_utils  # pylint: disable=g-import-not-at-top
from bert import modeling  # pylint: disable=g-import-not-at-top
from bert.pretraining import model as pretraining_model  # pylint: disable=g-import-not-at-top

ROOT = pathlib.Path(__file__).resolve().parents[1]
FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "Smoke run: tiny model, sequence 32, 3 timed steps.")
flags.DEFINE_list("models", "tiny,mini,base", "Models to run (tiny, mini, base).")
flags.DEFINE_integer("seq_length", 128, "Sequence length.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per sequence.")
flags.DEFINE_integer("steps", 10, "Timed training steps per measurement.")
flags.DEFINE_integer("warmup_steps", 3, "Untimed steps before the timed ones.")
flags.DEFINE_integer("threads", 0, "Intra-op threads for both frameworks (0: number of CPUs).")
flags.DEFINE_bool("xla", True, "Also measure ours with --use_xla.")
flags.DEFINE_string("output", str(ROOT / "benchmarks" / "results" / "bench_pretraining.json"), "JSON output path.")

MODELS = {
    "tiny": ("configs/bert_tiny_zh.json", 32),
    "mini": ("configs/bert_mini_zh.json", 32),
    "base": ("configs/bert_base_zh.json", 8),
}


def make_batch(config, batch_size, seq_length, num_predictions, seed=0):
  """One batch of pretraining features (numpy) shared by both frameworks."""
  rng = np.random.RandomState(seed)
  input_ids = rng.randint(106, config.vocab_size, size=(batch_size, seq_length)).astype(np.int32)
  input_ids[:, 0] = 101
  positions = np.sort(np.stack([rng.choice(np.arange(1, seq_length), num_predictions, replace=False)
                                for _ in range(batch_size)]), axis=1).astype(np.int32)
  return {
      "input_ids": input_ids,
      "input_mask": np.ones((batch_size, seq_length), np.int32),
      "segment_ids": np.concatenate([np.zeros((batch_size, seq_length // 2), np.int32),
                                     np.ones((batch_size, seq_length - seq_length // 2), np.int32)], axis=1),
      "masked_lm_positions": positions,
      "masked_lm_ids": rng.randint(106, config.vocab_size, size=(batch_size, num_predictions)).astype(np.int32),
      "masked_lm_weights": np.ones((batch_size, num_predictions), np.float32),
      "next_sentence_labels": rng.randint(0, 2, size=(batch_size, 1)).astype(np.int32),
  }


class StepTimer(tf.compat.v1.train.SessionRunHook):
  """Records the wall time of each session run after `warmup` runs."""

  def __init__(self, warmup):
    self.warmup = warmup
    self.runs = 0
    self.start_time = None
    self.end_time = None

  def after_run(self, run_context, run_values):
    self.runs += 1
    if self.runs == self.warmup:
      self.start_time = time.perf_counter()
    elif self.runs > self.warmup:
      self.end_time = time.perf_counter()


def measure_ours(config, batch, steps, warmup_steps, threads, use_xla):
  """Examples/s of the project's pretraining train step under the TPUEstimator (use_tpu=False)."""
  batch_size = batch["input_ids"].shape[0]
  options = estimator_utils.RunOptions(use_xla=use_xla, save_checkpoints_steps=10 ** 6, log_every_n_steps=10 ** 6,
                                       tf_random_seed=1)
  with tempfile.TemporaryDirectory() as output_dir:
    model_fn = pretraining_model.model_fn_builder(config, None, learning_rate=1e-4, num_train_steps=10 ** 6,
                                                  num_warmup_steps=0, options=options, output_dir=output_dir)
    estimator = estimator_utils.build_estimator(model_fn, options, output_dir, train_batch_size=batch_size)
    session_config = estimator.config.session_config
    session_config.intra_op_parallelism_threads = threads
    estimator._config = estimator.config.replace(session_config=session_config)  # pylint: disable=protected-access

    def input_fn(params):
      del params
      return tf.data.Dataset.from_tensors(batch).repeat()

    timer = StepTimer(warmup_steps)
    estimator.train(input_fn, max_steps=warmup_steps + steps, hooks=[timer])
  return steps * batch_size / (timer.end_time - timer.start_time)


def measure_hf(config, batch, steps, warmup_steps, threads):
  """Examples/s of transformers' BertForPreTraining training on the same batch."""
  import torch  # pylint: disable=import-outside-toplevel
  import transformers  # pylint: disable=import-outside-toplevel
  torch.set_num_threads(threads)
  torch.manual_seed(0)
  hf_config = transformers.BertConfig(
      vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.num_hidden_layers,
      num_attention_heads=config.num_attention_heads, intermediate_size=config.intermediate_size,
      hidden_act=config.hidden_act, hidden_dropout_prob=config.hidden_dropout_prob,
      attention_probs_dropout_prob=config.attention_probs_dropout_prob,
      max_position_embeddings=config.max_position_embeddings, type_vocab_size=config.type_vocab_size,
      initializer_range=config.initializer_range)
  model = transformers.BertForPreTraining(hf_config)
  model.train()
  optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01, eps=1e-6)
  labels = np.full(batch["input_ids"].shape, -100, np.int64)
  rows = np.arange(labels.shape[0])[:, None]
  labels[rows, batch["masked_lm_positions"]] = batch["masked_lm_ids"]
  inputs = {
      "input_ids": torch.from_numpy(batch["input_ids"].astype(np.int64)),
      "attention_mask": torch.from_numpy(batch["input_mask"].astype(np.int64)),
      "token_type_ids": torch.from_numpy(batch["segment_ids"].astype(np.int64)),
      "labels": torch.from_numpy(labels),
      "next_sentence_label": torch.from_numpy(batch["next_sentence_labels"][:, 0].astype(np.int64)),
  }

  def step():
    optimizer.zero_grad(set_to_none=True)
    loss = model(**inputs).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss

  for _ in range(warmup_steps):
    step()
  start = time.perf_counter()
  for _ in range(steps):
    step()
  return steps * batch["input_ids"].shape[0] / (time.perf_counter() - start)


def write_json_atomically(path, payload):
  """Writes JSON through a temporary file and a rename."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  temporary = path.with_name(path.name + ".tmp")
  temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
  os.replace(temporary, path)


def main(_):
  logging.set_verbosity(logging.ERROR)
  tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
  models = ["tiny"] if FLAGS.quick else FLAGS.models
  seq_length = 32 if FLAGS.quick else FLAGS.seq_length
  num_predictions = min(FLAGS.max_predictions_per_seq, 5) if FLAGS.quick else FLAGS.max_predictions_per_seq
  steps = 3 if FLAGS.quick else FLAGS.steps
  warmup_steps = 2 if FLAGS.quick else FLAGS.warmup_steps
  threads = FLAGS.threads or os.cpu_count()
  rows = []
  for name in models:
    if name not in MODELS:
      sys.exit("error: --models: unknown model %r (choose from %s)" % (name, ", ".join(MODELS)))
    config_path, batch_size = MODELS[name]
    config = modeling.BertConfig.from_json_file(str(ROOT / config_path))
    batch = make_batch(config, batch_size, seq_length, num_predictions)
    row = {"model": name, "batch_size": batch_size, "seq_length": seq_length,
           "masked_positions": num_predictions}
    row["ours"] = measure_ours(config, batch, steps, warmup_steps, threads, use_xla=False)
    if FLAGS.xla:
      row["ours_xla"] = measure_ours(config, batch, steps, warmup_steps, threads, use_xla=True)
    row["hf"] = measure_hf(config, batch, steps, warmup_steps, threads)
    row["ratio"] = row["ours"] / row["hf"]
    if FLAGS.xla:
      row["ratio_xla"] = row["ours_xla"] / row["hf"]
    rows.append(row)
    print("measured %s: %s" % (name, json.dumps(row)), flush=True)

  header = "%-6s %6s %5s %10s %10s %10s %9s %9s" % ("model", "batch", "seq", "ours ex/s", "xla ex/s", "hf ex/s",
                                                   "ours/hf", "xla/hf")
  print("\nPretraining train-step throughput, fp32 CPU (%d threads, %s)" % (threads, platform.processor() or
                                                                           platform.machine()))
  print(header)
  print("-" * len(header))
  for row in rows:
    print("%-6s %6d %5d %10.1f %10s %10.1f %8.2fx %9s" % (
        row["model"], row["batch_size"], row["seq_length"], row["ours"],
        "%.1f" % row["ours_xla"] if "ours_xla" in row else "-", row["hf"], row["ratio"],
        "%.2fx" % row["ratio_xla"] if "ratio_xla" in row else "-"))
  payload = {"benchmark": "bench_pretraining", "quick": FLAGS.quick, "threads": threads, "steps": steps,
             "warmup_steps": warmup_steps, "tensorflow": tf.__version__, "rows": rows}
  write_json_atomically(FLAGS.output, payload)
  print("\nwrote %s" % FLAGS.output)


if __name__ == "__main__":
  app.run(main)
