"""Throughput and model-FLOP utilisation of the BERT encoder (forward, and a full pretraining train step).

For each model (tiny, mini: batch 32; base: batch 8; sequence length 128, float32) it measures
  * forward: sequences/s of the encoder in inference mode (no dropout), all outputs computed;
  * train:   sequences/s of forward + backward + AdamW update of the pretraining loss (masked-LM + NSP);
and compares the achieved FLOP/s with a large float32 matmul timed in the same process with the same session
settings, before the first model and after each one (MFU = model FLOP/s / the fastest matmul sample), because
the machine is shared and absolute numbers drift.

Model FLOPs: 2 x (parameters used in matmuls) per token, plus attention (QK^T and PV: 4 x seq x hidden per token
and layer), plus the pretraining heads on the masked positions; a train step counts 3x its forward pass.

  python benchmarks/bench_model.py                 # full run (a few minutes on 2 cores)
  python benchmarks/bench_model.py --quick         # smoke run: tiny model, few steps
  python benchmarks/bench_model.py --use_xla       # compile the model with XLA

Prints a table and writes benchmarks/results/bench_model.json (atomically).
"""
import contextlib
import json
import os
import pathlib
import platform
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top
from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top

from bert import modeling  # pylint: disable=g-import-not-at-top
from bert import optimization  # pylint: disable=g-import-not-at-top

tf1 = tf.compat.v1
ROOT = pathlib.Path(__file__).resolve().parents[1]

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "Smoke run: tiny model only, sequence 32, two timed steps.")
flags.DEFINE_list("models", "tiny,mini,base", "Models to run (tiny, mini, base).")
flags.DEFINE_integer("seq_length", 128, "Sequence length.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per sequence in the train step.")
flags.DEFINE_integer("min_steps", 3, "Minimum timed steps per measurement.")
flags.DEFINE_float("min_seconds", 8.0, "Minimum timed seconds per measurement (after the warm-up steps).")
flags.DEFINE_integer("warmup_steps", 2, "Untimed steps before each measurement.")
flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow intra-op threads (0: TensorFlow's default).")
flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow inter-op threads (0: TensorFlow's default).")
flags.DEFINE_bool("use_xla", False, "Compile the model with XLA (ops marked by jit_scope, session jit level ON_1).")
flags.DEFINE_enum("compute_type", "float32", ["float32", "bfloat16", "float16"],
                  "Activation dtype of the encoder (variables stay float32). MFU is always relative to the float32 "
                  "matmul reference.")
flags.DEFINE_integer("matmul_size", 2048, "Side of the square float32 matmul used as the FLOP/s reference.")
flags.DEFINE_string("output", str(ROOT / "benchmarks" / "results" / "bench_model.json"), "JSON output path.")

MODELS = {
    "tiny": ("configs/bert_tiny_zh.json", 32),
    "mini": ("configs/bert_mini_zh.json", 32),
    "base": ("configs/bert_base_zh.json", 8),
}


def session_config(intra_op_threads, inter_op_threads, use_xla):
  """Returns the tf.compat.v1.ConfigProto shared by every measurement."""
  config = tf1.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                           inter_op_parallelism_threads=inter_op_threads)
  if use_xla:
    # On CPU the session's auto-clustering is ignored unless TF_XLA_FLAGS has --tf_xla_cpu_global_jit (read
    # when TensorFlow loads); `xla_scope` below marks the model's ops explicitly, which works either way.
    config.graph_options.optimizer_options.global_jit_level = tf1.OptimizerOptions.ON_1
  return config


def xla_scope(use_xla):
  """Returns a context that marks the ops built inside it for XLA compilation (or a no-op context)."""
  return tf.xla.experimental.jit_scope(compile_ops=True) if use_xla else contextlib.nullcontext()


def time_op(sess, op, min_steps, min_seconds, warmup_steps):
  """Runs `op` warm-up times, then at least `min_steps` times and `min_seconds`; returns seconds per run."""
  for _ in range(warmup_steps):
    sess.run(op)
  steps = 0
  start = time.perf_counter()
  while steps < min_steps or time.perf_counter() - start < min_seconds:
    sess.run(op)
    steps += 1
  return (time.perf_counter() - start) / steps


def measure_matmul_flops(size, config, min_steps, min_seconds):
  """Returns the FLOP/s of a float32 [size x size] @ [size x size] matmul (inputs resident in variables)."""
  with tf.Graph().as_default(), tf1.Session(config=config) as sess:
    a = tf1.get_variable("a", [size, size], initializer=tf1.random_normal_initializer())
    b = tf1.get_variable("b", [size, size], initializer=tf1.random_normal_initializer())
    # Reducing to a scalar keeps the result from being copied out; its cost is O(size^2), negligible.
    op = tf.reduce_sum(tf.matmul(a, b))
    sess.run(tf1.global_variables_initializer())
    seconds = time_op(sess, op, min_steps, min_seconds, warmup_steps=2)
  return 2.0 * size ** 3 / seconds


def forward_flops_per_sequence(config, seq_length, num_predictions=0, last_layer_rows=None):
  """Model FLOPs of one forward pass of one sequence (matmuls and attention; heads if predictions > 0).

  Args:
    config: BertConfig.
    seq_length: tokens per sequence.
    num_predictions: masked-LM positions per sequence (0: encoder only).
    last_layer_rows: rows the last layer computes (None: all seq_length; pretraining computes only the masked
      positions and [CLS], see BertModel's sequence_output_positions): the FLOPs executed rather than the
      model's nominal FLOPs.

  Returns:
    float FLOPs.
  """
  hidden, inter, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
  rows = seq_length if last_layer_rows is None else last_layer_rows
  # Per computed row: its query, attention output and feed-forward matmuls and its attention over the sequence;
  # per position: its key and value projections.
  per_row = 2 * (2 * hidden * hidden + 2 * hidden * inter) + 4 * seq_length * hidden
  per_position = 2 * 2 * hidden * hidden
  flops = layers * seq_length * per_position + ((layers - 1) * seq_length + rows) * per_row
  flops += 2 * hidden * hidden  # pooler
  if num_predictions:
    flops += 2 * num_predictions * (hidden * hidden + hidden * config.vocab_size)  # masked-LM head
    flops += 2 * hidden * 2  # next-sentence head
  return float(flops)


def _random_inputs(config, batch_size, seq_length, num_predictions, rng):
  """Constant input tensors of a padded batch (about 10% padding) with masked positions."""
  lengths = rng.randint(int(seq_length * 0.8), seq_length + 1, size=batch_size)
  input_mask = (np.arange(seq_length)[None, :] < lengths[:, None]).astype(np.int32)
  input_ids = rng.randint(100, config.vocab_size, size=[batch_size, seq_length]).astype(np.int32) * input_mask
  segment_ids = (np.arange(seq_length)[None, :] >= lengths[:, None] // 2).astype(np.int32) * input_mask
  positions = np.stack([rng.choice(length, num_predictions, replace=False) for length in lengths]).astype(np.int32)
  return dict(input_ids=tf.constant(input_ids), input_mask=tf.constant(input_mask),
              segment_ids=tf.constant(segment_ids), positions=tf.constant(positions),
              label_ids=tf.constant(rng.randint(100, config.vocab_size, size=positions.shape).astype(np.int32)),
              nsp_labels=tf.constant(rng.randint(0, 2, size=[batch_size]).astype(np.int32)))


def measure_model(config, batch_size, seq_length, num_predictions, session_cfg, min_steps, min_seconds,
                  warmup_steps, use_xla=False, compute_type=tf.float32):
  """Times the forward pass and the train step of one model; returns a dict of measurements."""
  rng = np.random.RandomState(0)
  results = {}
  with tf.Graph().as_default(), tf1.Session(config=session_cfg) as sess:
    inputs = _random_inputs(config, batch_size, seq_length, num_predictions, rng)
    with xla_scope(use_xla):
      model = modeling.BertModel(config, is_training=False, input_ids=inputs["input_ids"],
                                 input_mask=inputs["input_mask"], token_type_ids=inputs["segment_ids"],
                                 compute_type=compute_type)
    # Fetch a scalar that depends on every output: a fetched NoOp lets Grappler prune the stateless model.
    forward_op = tf.reduce_sum(model.get_sequence_output()) + tf.reduce_sum(model.get_pooled_output())
    sess.run(tf1.global_variables_initializer())
    results["forward_s"] = time_op(sess, forward_op, min_steps, min_seconds, warmup_steps)

  with tf.Graph().as_default(), tf1.Session(config=session_cfg) as sess:
    inputs = _random_inputs(config, batch_size, seq_length, num_predictions, rng)
    with xla_scope(use_xla):
      model = modeling.BertModel(config, is_training=True, input_ids=inputs["input_ids"],
                                 input_mask=inputs["input_mask"], token_type_ids=inputs["segment_ids"],
                                 compute_type=compute_type)
      mlm_loss, _, _ = modeling.get_masked_lm_output(
          config, model.get_sequence_output(), model.get_embedding_table(), inputs["positions"],
          inputs["label_ids"], tf.ones([batch_size, num_predictions]))
      nsp_loss, _, _ = modeling.get_next_sentence_output(config, model.get_pooled_output(), inputs["nsp_labels"])
      train_op = optimization.create_optimizer(mlm_loss + nsp_loss, 1e-4, 1000000, 100, use_tpu=False)
    sess.run(tf1.global_variables_initializer())
    results["train_s"] = time_op(sess, train_op, min_steps, min_seconds, warmup_steps)
  return results


def format_table(rows, matmul_flops, settings):
  """Returns the result table as text (`settings`: a short description of precision, XLA and threads)."""
  header = "%-6s %5s %5s %12s %12s %10s %10s %9s %9s" % (
      "model", "batch", "seq", "params", "fwd seq/s", "train seq/s", "fwd GF/s", "fwd MFU", "train MFU")
  lines = ["%s; reference float32 matmul: %.1f GFLOP/s" % (settings, matmul_flops / 1e9), header]
  for row in rows:
    lines.append("%-6s %5d %5d %12s %12.1f %12.1f %10.1f %8.1f%% %8.1f%%" % (
        row["model"], row["batch_size"], row["seq_length"], "{:,}".format(row["params"]),
        row["forward_seq_per_s"], row["train_seq_per_s"], row["forward_flops_per_s"] / 1e9,
        100 * row["forward_mfu"], 100 * row["train_mfu"]))
  return "\n".join(lines)


def write_json_atomically(path, payload):
  """Writes JSON to a temporary name in the same directory, then renames it into place."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
  os.replace(tmp, path)


def main(_):
  names = ["tiny"] if FLAGS.quick else FLAGS.models
  seq_length = 32 if FLAGS.quick else FLAGS.seq_length
  num_predictions = min(FLAGS.max_predictions_per_seq, seq_length // 4)
  min_steps, min_seconds = (2, 0.0) if FLAGS.quick else (FLAGS.min_steps, FLAGS.min_seconds)
  warmup_steps = 1 if FLAGS.quick else FLAGS.warmup_steps
  cfg = session_config(FLAGS.intra_op_threads, FLAGS.inter_op_threads, FLAGS.use_xla)

  matmul_size = 1024 if FLAGS.quick else FLAGS.matmul_size
  matmul_samples = [measure_matmul_flops(matmul_size, cfg, min_steps, max(min_seconds / 2, 1.0))]
  rows = []
  for name in names:
    if name not in MODELS:
      sys.exit("error: --models: unknown model %r (choose from %s)" % (name, ", ".join(MODELS)))
    config_file, batch_size = MODELS[name]
    config = modeling.BertConfig.from_json_file(str(ROOT / config_file))
    timings = measure_model(config, batch_size, seq_length, num_predictions, cfg, min_steps, min_seconds,
                            warmup_steps, FLAGS.use_xla, tf.as_dtype(FLAGS.compute_type))
    forward_flops = batch_size * forward_flops_per_sequence(config, seq_length)
    train_flops = 3 * batch_size * forward_flops_per_sequence(config, seq_length, num_predictions)
    row = dict(model=name, config_file=config_file, batch_size=batch_size, seq_length=seq_length,
               params=sum(modeling.encoder_parameter_counts(config).values()),
               forward_seconds=timings["forward_s"], train_seconds=timings["train_s"],
               forward_seq_per_s=batch_size / timings["forward_s"], train_seq_per_s=batch_size / timings["train_s"],
               forward_flops_per_s=forward_flops / timings["forward_s"],
               train_flops_per_s=train_flops / timings["train_s"])
    rows.append(row)
    matmul_samples.append(measure_matmul_flops(matmul_size, cfg, min_steps, max(min_seconds / 2, 1.0)))
    print("%s done: forward %.3f s, train %.3f s per batch" % (name, timings["forward_s"], timings["train_s"]),
          flush=True)

  # The machine is shared: the reference is timed before the first model and after each one, and the fastest
  # sample is used, so a slow moment during the reference cannot inflate the utilisation.
  matmul_flops = max(matmul_samples)
  for row in rows:
    row["forward_mfu"] = row["forward_flops_per_s"] / matmul_flops
    row["train_mfu"] = row["train_flops_per_s"] / matmul_flops
  settings = "compute %s, XLA %s, threads intra=%d inter=%d (0: default)" % (
      FLAGS.compute_type, "on" if FLAGS.use_xla else "off", FLAGS.intra_op_threads, FLAGS.inter_op_threads)
  print(format_table(rows, matmul_flops, settings))
  write_json_atomically(FLAGS.output, dict(
      benchmark="bench_model", quick=FLAGS.quick, use_xla=FLAGS.use_xla, precision=FLAGS.compute_type,
      intra_op_threads=FLAGS.intra_op_threads, inter_op_threads=FLAGS.inter_op_threads,
      cpu_count=os.cpu_count(), platform=platform.platform(), tensorflow=tf.__version__,
      matmul_size=matmul_size, matmul_flops_per_s=matmul_flops,
      matmul_flops_per_s_samples=matmul_samples, rows=rows,
      load_average=list(os.getloadavg())))
  print("wrote %s" % FLAGS.output)


if __name__ == "__main__":
  app.run(main)
