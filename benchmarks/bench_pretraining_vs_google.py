r"""Training throughput in one run: this project's run_pretraining.py vs Google's original (bert-tensorflow 1.0.4).

Both scripts train the same model on the same records with the same flags (Google's names; ours with its
defaults, so progress logging is on at --log_every_n_steps=100). A step time excludes start-up: each
measurement runs the script twice, for N1 and for N2 training steps, and takes (wall(N2) - wall(N1)) / (N2 -
N1), so interpreter start, graph building, initialisation and the final checkpoint cancel out (XLA compilation
only as far as it takes as long in both runs: for base it varies by more than the measured steps take).
The programs alternate (Google, ours, ours --use_xla, Google, ...) over --repeats repeats; the table gives the
median step time, min and max, and the ratio of the medians (Google / this: above 1 means this is faster).
"ours --use_xla" is a column beside the same-flags one, not instead of it: Google's script has no XLA flag.

Records: made from ../shared/data/pretrain_zh (the three files) with --max_seq_length=128
--max_predictions_per_seq=20 --dupe_factor=1, by this project's create_pretraining_data.py (--chinese_wwm)
and by Google's create_pretraining_data.py; --records picks which to train on.

FLOP utilisation: the train step is counted as 3 x the forward FLOPs of benchmarks/bench_model.py (matmuls,
attention, pooler, masked-LM and next-sentence heads) and divided by the float32 matmul rate measured in the
same run (a 2048 x 2048 matmul, best of several samples between the training runs). Two columns: model FLOP
utilisation counts the model's nominal FLOPs for both programs; executed FLOP utilisation counts what each
program computes -- the same for Google's, less for ours, whose last layer runs only at the masked positions
and [CLS] (BertModel's sequence_output_positions; 94% of base's nominal FLOPs, 86% of mini's, 81% of tiny's).

Google's code is downloaded into a temporary directory (pip download --no-deps bert-tensorflow==1.0.4) and run
there through benchmarks/google_bert.py; it is never installed and never committed.

  python benchmarks/bench_pretraining_vs_google.py                      # tiny, mini, base (1-2 hours, 2 cores)
  python benchmarks/bench_pretraining_vs_google.py --models=tiny --repeats=1 --records=ours   # a few minutes
  python benchmarks/bench_pretraining_vs_google.py --quick              # smoke run: numbers mean nothing

Prints a Markdown table and writes benchmarks/results/bench_pretraining_vs_google.json (atomically).
"""
import argparse
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bert import file_io  # pylint: disable=g-import-not-at-top,wrong-import-position
import google_bert  # pylint: disable=g-import-not-at-top,wrong-import-position
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position

SEQ, PREDS = 128, 20
CORPUS = ("CLUECorpusSmall_bert_sampled.txt", "CLUECorpusSmall_5000_lines_bert.txt", "news_zh_1.txt")
# model: (config, train batch size, N1, N2)
MODELS = {
    "tiny": ("configs/bert_tiny_zh.json", 32, 20, 220),
    "mini": ("configs/bert_mini_zh.json", 32, 10, 110),
    "base": ("configs/bert_base_zh.json", 8, 2, 12),
}
QUICK = {"tiny": ("configs/bert_tiny_zh.json", 8, 2, 6)}
# program: the extra flags of this project's run (none for Google's).
PROGRAMS = {"google": [], "ours": [], "ours_xla": ["--use_xla=True"]}


def _shared():
  return pathlib.Path(os.environ.get("BERT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _check_call(cmd, log_path):
  with open(log_path, "w", encoding="utf-8") as log:
    if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(), check=False).returncode:
      raise SystemExit("failed: %s (log: %s)" % (" ".join(map(str, cmd)), log_path))


def _env():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
  env["PYTHONPATH"] = str(ROOT)
  return env


def make_records(work, google_root, quick):
  """The training records of both makers; returns {"ours": path, "google": path}."""
  corpus = work / "corpus.txt"
  with open(corpus, "wb") as writer:
    for name in CORPUS[2:] if quick else CORPUS:
      writer.write((_shared() / "pretrain_zh" / name).read_bytes().rstrip(b"\n") + b"\n\n")
  flags = ["--input_file=%s" % corpus, "--vocab_file=%s" % (ROOT / "vocab" / "zh_vocab.txt"),
           "--do_lower_case=True", "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PREDS,
           "--masked_lm_prob=0.15", "--random_seed=12345", "--dupe_factor=1"]
  records = {"ours": work / "ours.tfrecord", "google": work / "google.tfrecord"}
  _check_call([sys.executable, str(ROOT / "create_pretraining_data.py")] + flags + [
      "--output_file=%s" % records["ours"], "--chinese_wwm", "--noprogress"], work / "data_ours.log")
  _check_call(google_bert.command(google_root, "create_pretraining_data", flags + [
      "--output_file=%s" % records["google"]]), work / "data_google.log")
  return records


def train_command(program, google_root, config, batch, steps, records, output_dir):
  """argv of one training run of `program` (Google's flags for both)."""
  flags = ["--bert_config_file=%s" % (ROOT / config), "--input_file=%s" % records, "--output_dir=%s" % output_dir,
           "--do_train=True", "--train_batch_size=%d" % batch, "--max_seq_length=%d" % SEQ,
           "--max_predictions_per_seq=%d" % PREDS, "--num_train_steps=%d" % steps, "--num_warmup_steps=1",
           "--learning_rate=1e-4", "--save_checkpoints_steps=100000", "--iterations_per_loop=1000"]
  if program == "google":
    return google_bert.command(google_root, "run_pretraining", flags, seed=1)
  return [sys.executable, str(ROOT / "run_pretraining.py")] + flags + ["--tf_random_seed=1"] + PROGRAMS[program]


def timed_run(cmd, output_dir, work, name):
  """Wall seconds of one run (fresh output directory), or SystemExit with its log."""
  shutil.rmtree(output_dir, ignore_errors=True)
  log_path = work / ("%s.log" % name)
  start = time.time()
  _check_call(cmd, log_path)
  seconds = time.time() - start
  shutil.rmtree(output_dir, ignore_errors=True)
  return seconds


def step_seconds(program, google_root, model, settings, records, work, tag):
  """Seconds per training step of `program` (and the two wall times it is the difference of)."""
  config, batch, first, second = settings
  output_dir = work / ("run_%s" % program)
  times = []
  for steps in (first, second):
    cmd = train_command(program, google_root, config, batch, steps, records, output_dir)
    times.append(timed_run(cmd, output_dir, work, "%s_%s_%s_%d" % (tag, model, program, steps)))
  return (times[1] - times[0]) / (second - first), times


def matmul_flops():
  """Best float32 matmul rate (FLOP/s) of a few samples, in a subprocess (benchmarks/bench_model.py's)."""
  code = ("import sys; sys.path.insert(0, %r); import bench_model, tensorflow as tf;"
          "cfg = bench_model.session_config(0, 0, False);"
          "print(bench_model.measure_matmul_flops(2048, cfg, 5, 2.0))" % str(ROOT / "benchmarks"))
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
  return float(result.stdout.strip().splitlines()[-1])


def train_flops_per_step(config_path, batch, last_layer_rows=None):
  """3 x the forward FLOPs of a batch: the model's (nominal) FLOPs, or with `last_layer_rows` those executed by
  a program whose last layer computes only that many rows per sequence."""
  import bench_model  # pylint: disable=g-import-not-at-top
  from bert import modeling  # pylint: disable=g-import-not-at-top
  config = modeling.BertConfig.from_json_file(str(ROOT / config_path))
  return 3 * batch * bench_model.forward_flops_per_sequence(config, SEQ, PREDS, last_layer_rows)


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--models", default="tiny,mini,base")
  parser.add_argument("--records", default="ours,google", help="which records to train on: ours, google or both")
  parser.add_argument("--google_records_models", default="tiny,mini",
                      help="models also measured on Google-made records (when --records has google)")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--programs", default="google,ours,ours_xla",
                      help="which runs to alternate: google, ours (Google's flags), ours_xla (plus --use_xla)")
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--work_dir", default=None)
  parser.add_argument("--output_json", default=str(ROOT / "benchmarks" / "results" /
                                                   "bench_pretraining_vs_google.json"))
  args = parser.parse_args()
  models = QUICK if args.quick else MODELS
  if args.quick:
    args.models, args.repeats, args.google_records_models = "tiny", 1, "tiny"
  work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="bench_vs_google_"))
  work.mkdir(parents=True, exist_ok=True)
  google_root = google_bert.prepare(str(work / "google_bert"))
  records = make_records(work, google_root, args.quick)
  kinds = args.records.split(",")
  programs = args.programs.split(",")
  if not {"google", "ours"} <= set(programs) or not set(programs) <= set(PROGRAMS):
    raise SystemExit("error: --programs must hold google and ours, and only %s" % ", ".join(PROGRAMS))
  peaks = [matmul_flops()]
  rows = []
  for model in args.models.split(","):
    for kind in kinds:
      if kind == "google" and model not in args.google_records_models.split(","):
        continue
      samples = {program: [] for program in programs}
      walls = {program: [] for program in programs}
      for repeat in range(args.repeats):
        for program in programs:
          seconds, times = step_seconds(program, google_root, model, models[model], records[kind], work,
                                        "%s_r%d" % (kind, repeat))
          samples[program].append(seconds)
          walls[program].append(times)
          print("  %s on %s records, repeat %d: %s %.4f s/step" % (model, kind, repeat, program, seconds),
                flush=True)
      peaks.append(matmul_flops())
      config, batch, first, second = models[model]
      row = {"model": model, "records": kind, "batch": batch, "steps": [first, second], "repeats": args.repeats}
      for program in programs:
        row[program] = {"median_s": statistics.median(samples[program]), "min_s": min(samples[program]),
                        "max_s": max(samples[program]), "samples_s": samples[program],
                        "walls_s": walls[program]}
      for program in [name for name in programs if name != "google"]:
        row["ratio_google_over_%s" % program] = row["google"]["median_s"] / row[program]["median_s"]
      row["train_flops_per_step"] = train_flops_per_step(config, batch)
      # This project's last layer runs only at the masked positions and [CLS] (BertModel's
      # sequence_output_positions); Google's executes the nominal FLOPs.
      row["ours_executed_flops_per_step"] = train_flops_per_step(config, batch, last_layer_rows=PREDS + 1)
      rows.append(row)
      # Written after every row (marked incomplete), so a long run that is stopped keeps what it measured.
      file_io.write_json_atomically(args.output_json, make_result(rows, peaks, args, complete=False))
  result = make_result(rows, peaks, args, complete=True)
  print(format_table(result))
  file_io.write_json_atomically(args.output_json, result)
  print("wrote %s" % args.output_json)


def make_result(rows, peaks, args, complete):
  """The JSON of the rows measured so far; FLOP utilisation against the best matmul rate seen yet."""
  peak = max(peaks)
  for row in rows:
    for program in PROGRAMS:
      if program in row:
        # Model FLOP utilisation (the nominal FLOPs per step, as "MFU" is defined) and hardware FLOP utilisation
        # (the FLOPs the program executes); they differ only for ours, which skips most of the last layer.
        executed = row["train_flops_per_step"] if program == "google" else row["ours_executed_flops_per_step"]
        row[program]["flop_utilisation"] = row["train_flops_per_step"] / row[program]["median_s"] / peak
        row[program]["executed_flop_utilisation"] = executed / row[program]["median_s"] / peak
  return {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
          "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor(), "cpu_flags": machine.cpu_flags()},
          "matmul_flops_per_s": peak, "matmul_samples": peaks, "sequence_length": SEQ,
          "max_predictions_per_seq": PREDS, "rows": rows, "quick": args.quick, "complete": complete}


def format_table(result):
  """Markdown: one line per model, records and program, with its ratio to Google's run of the same row."""
  lines = ["| model | records | batch | program | s/step (median, min-max) | Google / this | model FLOP utilisation "
           "| executed FLOP utilisation |", "|---|---|---|---|---|---|---|---|"]
  names = {"google": "Google's", "ours": "ours", "ours_xla": "ours --use_xla"}
  for row in result["rows"]:
    for program in [name for name in PROGRAMS if name in row]:
      run = row[program]
      lines.append("| %s | %s | %d | %s | %.4f (%.4f-%.4f) | %.2f | %.1f%% | %.1f%% |" % (
          row["model"], row["records"], row["batch"], names[program], run["median_s"], run["min_s"],
          run["max_s"], row["google"]["median_s"] / run["median_s"], 100 * run["flop_utilisation"],
          100 * run["executed_flop_utilisation"]))
  lines.append("float32 matmul peak measured in the run: %.1f GFLOP/s; CPU flags: %s" % (
      result["matmul_flops_per_s"] / 1e9, " ".join(result["machine"]["cpu_flags"])))
  return "\n".join(lines)


if __name__ == "__main__":
  main()
