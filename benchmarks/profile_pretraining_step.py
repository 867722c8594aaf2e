"""Where a pretraining train step spends its time: TensorFlow step traces summed by op type and by model part.

Builds this project's pretraining train step (bert.pretraining.model's model_fn in TRAIN mode: encoder, masked-LM
and next-sentence heads, gradients, clipping, AdamW; no progress host_call) on one constant batch of
benchmarks/bench_pretraining.py, runs it a few times untraced, then `--traced_steps` times with
`RunOptions(trace_level=FULL_TRACE)`, and sums each op's time (end minus start, per device thread) by op type
and by part of the model:

  forward/encoder, forward/heads, backward/encoder, backward/heads (gradient ops, named "gradients/..."),
  optimizer (clipping and the AdamW update), other.

On 2 cores ops run concurrently, so the op times of a step add up to more than its wall time (the ratio is
printed as "overlap"); compare shares, not absolute times, and trace both sides of a change in one run.

  python benchmarks/profile_pretraining_step.py --model=mini            # prints the tables
  python benchmarks/profile_pretraining_step.py --model=base --output_json=/tmp/base_profile.json
"""
import collections
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # pylint: disable=g-import-not-at-top
from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top

import bench_pretraining  # pylint: disable=g-import-not-at-top
import machine  # pylint: disable=g-import-not-at-top
from bert import file_io  # pylint: disable=g-import-not-at-top
from bert import modeling  # pylint: disable=g-import-not-at-top
from bert import run_options  # pylint: disable=g-import-not-at-top
from bert.pretraining import model as pretraining_model  # pylint: disable=g-import-not-at-top

tf1 = tf.compat.v1
ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = bench_pretraining.MODELS

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", "mini", sorted(MODELS), "Model (and its benchmark batch size).")
flags.DEFINE_integer("batch_size", 0, "Batch size (0: the model's benchmark batch).")
# --seq_length, --max_predictions_per_seq and --warmup_steps (untraced steps first) are bench_pretraining's.
flags.DEFINE_integer("timed_steps", 5, "Untraced steps timed for the wall time per step.")
flags.DEFINE_integer("traced_steps", 3, "Traced steps summed.")
flags.DEFINE_integer("top", 15, "Rows of each table.")
flags.DEFINE_string("output_json", None, "Also write the sums here (atomically).")


def model_part(op_name):
  """The part of the train step an op belongs to, from its name (see the module docstring)."""
  backward = op_name.startswith("gradients")
  name = op_name.split("/", 1)[1] if backward else op_name
  if name.startswith("bert/"):
    part = "encoder"
  elif name.startswith("cls/"):
    part = "heads"
  elif not backward and ("AdamWeightDecay" in name or "adam_" in name or "clip_by_global_norm" in name or
                         name.startswith(("global_norm", "polynomial_decay", "PolynomialDecay"))):
    return "optimizer"
  else:
    return "other"
  return ("backward/" if backward else "forward/") + part


def build_train_step(config, batch):
  """Our pretraining train op on constant features (TRAIN mode, no host_call); returns (graph, init, op)."""
  graph = tf.Graph()
  with graph.as_default():
    tf1.set_random_seed(1)
    features = {name: tf.constant(value) for name, value in batch.items()}
    model_fn = pretraining_model.model_fn_builder(config, None, learning_rate=1e-4, num_train_steps=10 ** 6,
                                                  num_warmup_steps=0, options=run_options.RunOptions(),
                                                  output_dir=None)
    spec = model_fn(features, None, tf.estimator.ModeKeys.TRAIN, {"batch_size": batch["input_ids"].shape[0]})
    init = tf1.global_variables_initializer()
  return graph, init, spec.train_op


def op_seconds(run_metadata):
  """[(op name, op type, seconds)] of one traced run, from every device thread's node stats.

  The type is the one that ran (the timeline label's "name = Type(inputs)"), so Grappler's fused kernels
  (_FusedMatMul for MatMul + BiasAdd, ...) show under their own names.
  """
  rows = []
  for device in run_metadata.step_stats.dev_stats:
    for node in device.node_stats:
      label = node.timeline_label
      op_type = label.split(" = ", 1)[1].split("(", 1)[0] if " = " in label else node.node_name
      rows.append((node.node_name.split(":")[0], op_type, node.op_end_rel_micros / 1e6))
  return rows


def profile(config, batch, warmup_steps, timed_steps, traced_steps):
  """Wall time per untraced step and op seconds per step summed by type and by part."""
  graph, init, train_op = build_train_step(config, batch)
  by_type, by_part = collections.Counter(), collections.Counter()
  with tf1.Session(graph=graph) as session:
    session.run(init)
    for _ in range(warmup_steps):
      session.run(train_op)
    start = time.perf_counter()
    for _ in range(timed_steps):
      session.run(train_op)
    wall = (time.perf_counter() - start) / timed_steps
    for _ in range(traced_steps):
      metadata = tf1.RunMetadata()
      session.run(train_op, options=tf1.RunOptions(trace_level=tf1.RunOptions.FULL_TRACE), run_metadata=metadata)
      for name, op_type, seconds in op_seconds(metadata):
        by_type[op_type] += seconds / traced_steps
        by_part[model_part(name)] += seconds / traced_steps
  return wall, by_type, by_part


def format_counter(title, counter, top):
  """A markdown table of the largest entries of `counter` with their shares."""
  total = sum(counter.values())
  lines = ["| %s | ms/step | share |" % title, "|---|---|---|"]
  for key, seconds in counter.most_common(top):
    lines.append("| %s | %.1f | %.1f%% |" % (key, 1e3 * seconds, 100 * seconds / total))
  return "\n".join(lines)


def main(_):
  config_path, default_batch = MODELS[FLAGS.model]
  config = modeling.BertConfig.from_json_file(str(ROOT / config_path))
  batch_size = FLAGS.batch_size or default_batch
  batch = bench_pretraining.make_batch(config, batch_size, FLAGS.seq_length, FLAGS.max_predictions_per_seq)
  wall, by_type, by_part = profile(config, batch, FLAGS.warmup_steps, FLAGS.timed_steps, FLAGS.traced_steps)
  op_total = sum(by_type.values())
  print("%s, batch %d, seq %d: %.3f s/step untraced; op time %.3f s/step (overlap %.2fx)" % (
      FLAGS.model, batch_size, FLAGS.seq_length, wall, op_total, op_total / wall))
  print(format_counter("part", by_part, FLAGS.top))
  print(format_counter("op type", by_type, FLAGS.top))
  if FLAGS.output_json:
    file_io.write_json_atomically(FLAGS.output_json, {
        "command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu_flags": machine.cpu_flags(),
        "model": FLAGS.model, "batch_size": batch_size, "seq_length": FLAGS.seq_length,
        "wall_s_per_step": wall, "op_s_per_step": op_total, "by_part_s": dict(by_part),
        "by_op_type_s": dict(by_type), "traced_steps": FLAGS.traced_steps})


if __name__ == "__main__":
  app.run(main)
