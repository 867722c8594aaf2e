"""Does fine-tuning learn? A tiny BERT trained from scratch with run_classifier.py vs the majority class.

For each task (default: sst2 with the English uncased vocab, chnsenticorp with the Chinese vocab) this trains a
randomly initialised 2-layer model for a few hundred steps on CPU through the real command line
(`run_classifier.py --do_train --do_eval`), then compares the dev accuracy with the majority-class baseline
(the most frequent training label predicted for every dev example). It prints a table and writes JSON.
There is no timed assert: the numbers are for the README and for regressions spotted by eye.

  .venv/bin/python benchmarks/bench_classifier.py                     # ~1.5 min on 2 cores
  .venv/bin/python benchmarks/bench_classifier.py --steps=5 --smoke   # seconds: checks the script runs
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bert.classifier import tasks  # noqa: E402  pylint: disable=wrong-import-position

SHARED = os.environ.get("BERT_SHARED_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))
TASKS = {
    "sst2": (os.path.join(SHARED, "glue_en", "SST-2"), os.path.join(ROOT, "vocab", "en_uncased_vocab.txt")),
    "chnsenticorp": (os.path.join(SHARED, "chnsenticorp"), os.path.join(ROOT, "vocab", "zh_vocab.txt")),
}


def majority_baseline(task, data_dir):
  """(majority label of the training set, its accuracy on dev, number of dev examples)."""
  processor = tasks.get_processor(task, data_dir=data_dir)
  train_counts = collections.Counter(e.label for e in processor.get_train_examples(data_dir))
  majority = train_counts.most_common(1)[0][0]
  dev = processor.get_dev_examples(data_dir)
  return majority, sum(e.label == majority for e in dev) / len(dev), len(dev)


def vocab_size(vocab_file):
  with open(vocab_file, encoding="utf-8") as handle:
    return sum(1 for _ in handle)


def train_and_eval(task, data_dir, vocab_file, args, work_dir):
  """Runs run_classifier.py and returns (eval results dict, seconds)."""
  config = {"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "hidden_size": args.hidden_size, "initializer_range": 0.02, "intermediate_size": 4 * args.hidden_size,
            "max_position_embeddings": max(64, args.max_seq_length), "num_attention_heads": 2,
            "num_hidden_layers": args.num_layers, "type_vocab_size": 2, "vocab_size": vocab_size(vocab_file)}
  config_path = os.path.join(work_dir, "%s_config.json" % task)
  with open(config_path, "w", encoding="utf-8") as handle:
    json.dump(config, handle)
  output_dir = os.path.join(work_dir, task)
  command = [sys.executable, os.path.join(ROOT, "run_classifier.py"), "--task_name=%s" % task,
             "--data_dir=%s" % data_dir, "--vocab_file=%s" % vocab_file, "--bert_config_file=%s" % config_path,
             "--output_dir=%s" % output_dir, "--do_train", "--do_eval", "--max_seq_length=%d" % args.max_seq_length,
             "--train_batch_size=%d" % args.batch_size, "--eval_batch_size=64",
             "--num_train_steps=%d" % args.steps, "--learning_rate=%g" % args.learning_rate,
             "--log_every_n_steps=100", "--save_checkpoints_steps=100000", "--tf_random_seed=%d" % args.seed]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(args.threads),
             TF_NUM_INTEROP_THREADS="1", CUDA_VISIBLE_DEVICES="")
  start = time.time()
  result = subprocess.run(command, capture_output=True, text=True, env=env)
  seconds = time.time() - start
  if result.returncode != 0:
    sys.exit("error: run_classifier.py failed for %s:\n%s" % (task, result.stderr[-3000:]))
  with open(os.path.join(output_dir, "eval_results.json"), encoding="utf-8") as handle:
    return json.load(handle), seconds


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--tasks", default="sst2,chnsenticorp")
  parser.add_argument("--steps", type=int, default=400)
  parser.add_argument("--batch_size", type=int, default=32)
  parser.add_argument("--max_seq_length", type=int, default=64)
  parser.add_argument("--hidden_size", type=int, default=64)
  parser.add_argument("--num_layers", type=int, default=2)
  parser.add_argument("--learning_rate", type=float, default=3e-4,
                      help="from scratch a tiny model needs a larger rate than fine-tuning (2e-5..5e-5); "
                      "1e-3 left sst2 at chance after 300 steps")
  parser.add_argument("--seed", type=int, default=12345)
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--smoke", action="store_true", help="tiny sizes: only checks that everything runs")
  parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results", "bench_classifier.json"))
  args = parser.parse_args()
  if args.smoke:
    args.hidden_size, args.batch_size, args.max_seq_length = 32, 8, 32

  rows = []
  with tempfile.TemporaryDirectory(prefix="bench_classifier_") as work_dir:
    for task in args.tasks.split(","):
      data_dir, vocab_file = TASKS[task]
      majority, baseline, num_dev = majority_baseline(task, data_dir)
      results, seconds = train_and_eval(task, data_dir, vocab_file, args, work_dir)
      rows.append({"task": task, "dev_examples": num_dev, "majority_label": majority,
                   "majority_accuracy": round(baseline, 4), "dev_accuracy": round(results["eval_accuracy"], 4),
                   "margin": round(results["eval_accuracy"] - baseline, 4), "dev_loss": round(results["eval_loss"], 4),
                   "steps": args.steps, "seconds": round(seconds, 1)})

  header = ("task", "dev_examples", "majority_accuracy", "dev_accuracy", "margin", "dev_loss", "steps", "seconds")
  print(" | ".join(header))
  for row in rows:
    print(" | ".join(str(row[key]) for key in header))
  report = {"config": {key: value for key, value in vars(args).items() if key != "output"}, "results": rows}
  os.makedirs(os.path.dirname(args.output), exist_ok=True)
  with open(args.output + ".tmp", "w", encoding="utf-8") as handle:
    json.dump(report, handle, indent=2)
  os.replace(args.output + ".tmp", args.output)
  print("wrote %s" % args.output)


if __name__ == "__main__":
  main()
