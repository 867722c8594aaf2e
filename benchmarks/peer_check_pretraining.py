r"""Peer check of pretraining: this project's run_pretraining.py vs Google's original (bert-tensorflow 1.0.4).

Both are trained on the same records with the same flags and several seeds, then every final checkpoint is
evaluated on the same held-out records by the same evaluator; the two implementations must agree within seed
noise. Recipe (defaults):
  * records: the corpus (default ../shared/data/pretrain_zh/*.txt, joined with a blank line between files) is
    split with split_data.py --format=documents --heldout_every=10, and each part is turned into records by
    this project's create_pretraining_data.py --chinese_wwm --max_seq_length=128 --max_predictions_per_seq=20
    --dupe_factor=2 (train seed 12345, held-out seed 12346); the schema is Google's;
  * training, identical flags for both (Google's names): --bert_config_file=configs/bert_tiny_zh.json
    --input_file=train --do_train --do_eval --train_batch_size=32 --max_seq_length=128
    --max_predictions_per_seq=20 --num_train_steps=600 --num_warmup_steps=60 --learning_rate=5e-4
    --save_checkpoints_steps=300 (--do_eval: each one's own evaluator on the first --max_eval_steps=100 batches
    of 8 training records, a secondary number);
  * seeds: ours --tf_random_seed=S; Google's script has no seed flag, so the launcher of google_bert.py makes
    RunConfig's tf_random_seed default to S (the same graph-level seed the Estimator sets for ours);
  * evaluation (the comparison): each final checkpoint is copied into a fresh directory and evaluated by this
    project's run_pretraining.py --do_eval --eval_input_file=heldout --eval_batch_size=32 (one pass over the
    held-out records); and, as a cross-check of the evaluators (for --google_eval_seeds, default the first),
    by Google's --do_eval --input_file=heldout with
    --max_eval_steps=ceil(n/32) (Google's CPU evaluation repeats the input: the last batch is topped up with
    records from the start);
  * verdict per metric (masked_lm_accuracy, next_sentence_accuracy): the difference of the means is within seed
    noise when it is at most 2 x the pooled sd of the seeds (Welch's t-test p-value reported beside it).
  * side observation, not a throughput benchmark: steps/s of each training run, from the arrival times of the
    per-step "global_step/sec" log lines of the TPUEstimator (first 10 excluded as start-up); the machine is
    shared, so these are rough.

  python benchmarks/peer_check_pretraining.py                 # the recipe (~15 min on 2 cores)
  python benchmarks/peer_check_pretraining.py --quick         # smoke run: sample corpus, 10 steps, 1 seed
  python benchmarks/peer_check_pretraining.py --ours_from=head  # 'ours' = the committed HEAD, not the work tree

Google's code is downloaded into --work_dir (pip download --no-deps bert-tensorflow==1.0.4), never installed.
Prints a Markdown table and writes benchmarks/results/peer_check_pretraining.json (atomically).
"""
import datetime
import glob
import json
import math
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags  # pylint: disable=g-import-not-at-top

from bert import file_io  # pylint: disable=g-import-not-at-top
import google_bert  # pylint: disable=g-import-not-at-top
import peer_check  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "Smoke run: sample_data corpus, 10 steps, seed 1 only, eval batch 8.")
flags.DEFINE_string("work_dir", "/tmp/peer_check_pretraining", "Records, Google's unpacked wheel, runs, logs.")
flags.DEFINE_list("corpus", None, "Corpus files (default: ../shared/data/pretrain_zh/*.txt; --quick: "
                  "sample_data/zh_corpus.txt).")
flags.DEFINE_string("vocab_file", str(ROOT / "vocab" / "zh_vocab.txt"), "Vocabulary for the records.")
flags.DEFINE_string("bert_config_file", str(ROOT / "configs" / "bert_tiny_zh.json"), "Model config.")
flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds (each trains both implementations).")
flags.DEFINE_integer("num_train_steps", 600, "Training steps.")
flags.DEFINE_integer("num_warmup_steps", 60, "Warmup steps.")
flags.DEFINE_float("learning_rate", 5e-4, "Peak learning rate.")
flags.DEFINE_integer("train_batch_size", 32, "Training batch size.")
flags.DEFINE_integer("save_checkpoints_steps", 300, "Checkpoint interval.")
flags.DEFINE_integer("eval_batch_size", 32, "Held-out evaluation batch size.")
flags.DEFINE_integer("dupe_factor", 2, "create_pretraining_data.py --dupe_factor (train and held-out).")
flags.DEFINE_integer("heldout_every", 10, "split_data.py --heldout_every.")
flags.DEFINE_list("google_eval_seeds", ["1"], "Seeds whose two checkpoints are also evaluated by Google's evaluator "
                  "(a cross-check of the evaluators; 'all' for every seed, empty for none).")
flags.DEFINE_string("output", str(ROOT / "benchmarks" / "results" / "peer_check_pretraining.json"), "JSON path.")
flags.DEFINE_enum("ours_from", "worktree", ["worktree", "head"],
                  "Which of this project's code runs as 'ours' (and makes the records): the working tree, or the "
                  "committed HEAD exported with git archive into --work_dir (a checkout with edits in progress).")

SEQ, PREDS = 128, 20
IMPLS = ("ours", "google")
OURS = {"root": ROOT}  # where this project's scripts are run from (see --ours_from)
METRICS = ("masked_lm_accuracy", "next_sentence_accuracy", "masked_lm_loss", "next_sentence_loss")
COMPARED = ("masked_lm_accuracy", "next_sentence_accuracy")
STARTUP_LINES = 10


def log(message):
  print("[%s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def check_call(cmd, log_path):
  """Runs a project script, output to log_path; raises with the log's tail on failure."""
  rc, lines = google_bert.run_logged(cmd, log_path)
  if rc != 0:
    tail = "\n".join(line for _, line in lines[-15:])
    raise RuntimeError("exit code %d: %s\n(log %s)\n%s" % (rc, " ".join(cmd[:3]), log_path, tail))
  return lines


def export_head(dest):
  """The committed HEAD of this checkout, exported (git archive) into dest; returns its path."""
  if os.path.exists(dest):
    shutil.rmtree(dest)
  os.makedirs(dest)
  archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", "HEAD"], capture_output=True,
                           check=True).stdout
  subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
  return pathlib.Path(dest)


def make_records(work, corpus):
  """Train/held-out records from the corpus with this project's tools (reused when already made)."""
  data = os.path.join(work, "data")
  os.makedirs(data, exist_ok=True)
  done = os.path.join(data, "done.json")
  recipe = {"ours": str(OURS["root"]), "ours_commit": OURS.get("commit"), "corpus": corpus, "dupe_factor": FLAGS.dupe_factor, "heldout_every": FLAGS.heldout_every,
            "vocab_file": FLAGS.vocab_file, "max_seq_length": SEQ, "max_predictions_per_seq": PREDS}
  if os.path.exists(done):
    with open(done, encoding="utf-8") as handle:
      previous = json.load(handle)
    if previous["recipe"] == recipe:
      log("records: reusing %s" % data)
      return previous
  started = time.time()
  with open(os.path.join(data, "corpus.txt"), "w", encoding="utf-8") as out:
    for path in corpus:
      with open(path, encoding="utf-8") as handle:
        out.write(handle.read())
      out.write("\n\n")
  py = sys.executable
  check_call([py, str(OURS["root"] / "split_data.py"), "--format=documents", "--input_file=%s/corpus.txt" % data,
              "--heldout_every=%d" % FLAGS.heldout_every, "--train_output=%s/train.txt" % data,
              "--heldout_output=%s/heldout.txt" % data], os.path.join(data, "split.log"))
  counts = {}
  for part, seed in (("train", 12345), ("heldout", 12346)):
    check_call([py, str(OURS["root"] / "create_pretraining_data.py"), "--input_file=%s/%s.txt" % (data, part),
                "--output_file=%s/%s.tfrecord" % (data, part), "--vocab_file=%s" % FLAGS.vocab_file,
                "--do_lower_case=true", "--chinese_wwm", "--max_seq_length=%d" % SEQ,
                "--max_predictions_per_seq=%d" % PREDS, "--masked_lm_prob=0.15",
                "--dupe_factor=%d" % FLAGS.dupe_factor, "--random_seed=%d" % seed, "--noprogress"],
               os.path.join(data, "create_%s.log" % part))
    with open("%s/%s.tfrecord.stats.json" % (data, part), encoding="utf-8") as handle:
      stats = json.load(handle)
    counts[part] = {"documents": stats["documents"], "instances": stats["instances"]}
  result = {"recipe": recipe, "counts": counts, "train": "%s/train.tfrecord" % data,
            "heldout": "%s/heldout.tfrecord" % data, "seconds": round(time.time() - started, 1)}
  file_io.write_json_atomically(done, result)
  log("records: %s" % json.dumps(counts))
  return result


def train_flags(records, output_dir):
  """Google's flag names, the same for both implementations."""
  return ["--bert_config_file=%s" % FLAGS.bert_config_file, "--input_file=%s" % records["train"],
          "--output_dir=%s" % output_dir, "--do_train", "--do_eval",
          "--train_batch_size=%d" % FLAGS.train_batch_size, "--max_seq_length=%d" % SEQ,
          "--max_predictions_per_seq=%d" % PREDS, "--num_train_steps=%d" % FLAGS.num_train_steps,
          "--num_warmup_steps=%d" % FLAGS.num_warmup_steps, "--learning_rate=%g" % FLAGS.learning_rate,
          "--save_checkpoints_steps=%d" % FLAGS.save_checkpoints_steps]


def impl_command(impl, google_root, script_flags, seed):
  if impl == "ours":
    extra = [] if seed is None else ["--tf_random_seed=%d" % seed]
    return [sys.executable, str(OURS["root"] / "run_pretraining.py")] + script_flags + extra
  return google_bert.command(google_root, "run_pretraining", script_flags, seed=seed)


def read_eval_results(output_dir):
  """Google's eval_results.txt ('key = value' lines) -> dict of floats."""
  values = {}
  with open(os.path.join(output_dir, "eval_results.txt"), encoding="utf-8") as handle:
    for line in handle:
      key, _, value = line.partition(" = ")
      if value:
        values[key.strip()] = float(value)
  return values


def step_rate(lines):
  """Steps/s between the per-step 'global_step/sec' lines of training (the first STARTUP_LINES excluded)."""
  times, reported = [], []
  for arrival, line in lines:
    match = re.match(r"INFO:tensorflow:global_step/sec: ([0-9.eE+-]+)", line)
    if match:
      times.append(arrival)
      reported.append(float(match.group(1)))
  times, reported = times[STARTUP_LINES:], reported[STARTUP_LINES:]
  if len(times) < 2:
    return {"steps_per_second": None, "median_reported": None, "logged_steps": len(times)}
  return {"steps_per_second": round((len(times) - 1) / (times[-1] - times[0]), 3),
          "median_reported": round(statistics.median(reported), 3), "logged_steps": len(times)}


def copy_checkpoint(run_dir, dest):
  """Copies the latest checkpoint of run_dir (its files and a `checkpoint` index) into the new dest."""
  with open(os.path.join(run_dir, "checkpoint"), encoding="utf-8") as handle:
    name = re.search(r'^model_checkpoint_path: "([^"]+)"', handle.read(), re.M).group(1)
  name = os.path.basename(name)
  if os.path.exists(dest):
    shutil.rmtree(dest)
  os.makedirs(dest)
  for path in glob.glob(os.path.join(run_dir, name + ".*")):
    shutil.copy2(path, dest)
  with open(os.path.join(dest, "checkpoint"), "w", encoding="utf-8") as handle:
    handle.write('model_checkpoint_path: "%s"\nall_model_checkpoint_paths: "%s"\n' % (name, name))
  return int(name.rsplit("-", 1)[1])


def evaluate(evaluator, run_dir, dest, records, google_root):
  """Held-out metrics of run_dir's latest checkpoint by `evaluator` (ours or google), on a copy."""
  step = copy_checkpoint(run_dir, dest)
  common = ["--bert_config_file=%s" % FLAGS.bert_config_file, "--output_dir=%s" % dest, "--do_eval",
            "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PREDS,
            "--eval_batch_size=%d" % FLAGS.eval_batch_size]
  n = records["counts"]["heldout"]["instances"]
  if evaluator == "ours":
    cmd = impl_command("ours", None, common + ["--input_file=%s" % records["heldout"],
                                               "--eval_input_file=%s" % records["heldout"],
                                               "--max_eval_steps=1000000"], None)
  else:
    cmd = impl_command("google", google_root, common + [
        "--input_file=%s" % records["heldout"],
        "--max_eval_steps=%d" % math.ceil(n / FLAGS.eval_batch_size)], None)
  check_call(cmd, dest + ".log")
  result = read_eval_results(dest)
  if int(result["global_step"]) != step:
    raise RuntimeError("%s evaluated step %s, expected %d" % (dest, result["global_step"], step))
  return {key: result[key] for key in METRICS}


def compare(ours, google):
  """The verdict of benchmarks/peer_check.py for one metric, in this report's terms (google_*, within_seed_noise)."""
  row = peer_check.compare(ours, google)
  return {"ours_mean": row["ours_mean"], "ours_sd": row["ours_sd"], "google_mean": row["reference_mean"],
          "google_sd": row["reference_sd"], "difference": row["difference"], "pooled_sd": row["pooled_sd"],
          "welch_p": row["welch_p"],
          "within_seed_noise": None if row["threshold"] is None else row["verdict"] == "agree"}


def machine():
  """peer_check.machine_info, the load and the project commit (with any uncommitted edits: "ours" is the tree)."""
  commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
  status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                          capture_output=True, text=True, check=False).stdout.split("\n")
  return dict(peer_check.machine_info(("tensorflow-cpu", "tensorflow", "tensorflow-estimator", "tf-slim")),
              load_average_at_start=peer_check.load_average(), project_commit=commit,
              project_files_modified_uncommitted=sorted(line[3:] for line in status if line.strip()))


def pct(value):
  return "%.2f" % (100 * value)


def markdown(result):
  lines = []
  seeds = result["seeds"]
  lines.append("Held-out metrics of the final checkpoint (%d steps), evaluated by this project's evaluator; "
               "mean ± sd over seeds %s (%%):" % (result["recipe"]["num_train_steps"], ",".join(map(str, seeds))))
  lines.append("")
  lines.append("| metric | ours | Google | difference | 2 × pooled sd | Welch p | within seed noise |")
  lines.append("|---|---|---|---|---|---|---|")
  for metric in COMPARED:
    row = result["comparison"]["ours_evaluator"][metric]
    sd = lambda value: "—" if value is None else pct(value)  # pylint: disable=unnecessary-lambda-assignment
    lines.append("| %s | %s ± %s | %s ± %s | %+.2f | %s | %s | %s |" % (
        metric, pct(row["ours_mean"]), sd(row["ours_sd"]), pct(row["google_mean"]), sd(row["google_sd"]),
        100 * row["difference"], "—" if row["pooled_sd"] is None else pct(2 * row["pooled_sd"]),
        "—" if row["welch_p"] is None else "%.2f" % row["welch_p"],
        {True: "yes", False: "**no**", None: "—"}[row["within_seed_noise"]]))
  lines.append("")
  lines.append("Per seed (held-out %; ours evaluator / Google's evaluator; own evaluator on training records):")
  lines.append("")
  lines.append("| impl | seed | masked_lm_acc | next_sentence_acc | masked_lm_loss | mlm acc, Google eval | "
               "nsp acc, Google eval | mlm acc on train (own eval) | steps/s (side obs.) |")
  lines.append("|---|---|---|---|---|---|---|---|---|")
  for run in result["runs"]:
    ours_eval, google_eval = run["heldout_ours_evaluator"], run.get("heldout_google_evaluator")
    rate = run["timing"]["steps_per_second"]
    lines.append("| %s | %d | %s | %s | %.4f | %s | %s | %s | %s |" % (
        run["impl"], run["seed"], pct(ours_eval["masked_lm_accuracy"]), pct(ours_eval["next_sentence_accuracy"]),
        ours_eval["masked_lm_loss"],
        pct(google_eval["masked_lm_accuracy"]) if google_eval else "—",
        pct(google_eval["next_sentence_accuracy"]) if google_eval else "—",
        pct(run["train_records_own_evaluator"]["masked_lm_accuracy"]),
        "—" if rate is None else "%.2f" % rate))
  lines.append("")
  lines.append("Verdict: %s" % result["verdict"])
  return "\n".join(lines)


def main(_):
  if FLAGS.quick:
    FLAGS.num_train_steps, FLAGS.num_warmup_steps, FLAGS.save_checkpoints_steps = 10, 2, 10
    FLAGS.seeds, FLAGS.eval_batch_size = ["1"], 8
    if FLAGS.output == flags.FLAGS["output"].default:
      FLAGS.output = os.path.join(FLAGS.work_dir, "peer_check_pretraining.quick.json")
  corpus = FLAGS.corpus or (
      [str(ROOT / "sample_data" / "zh_corpus.txt")] if FLAGS.quick
      else sorted(glob.glob(str(ROOT.parent / "shared" / "data" / "pretrain_zh" / "*.txt"))))
  if not corpus:
    sys.exit("error: no corpus (give --corpus)")
  seeds = [int(seed) for seed in FLAGS.seeds]
  work = os.path.abspath(FLAGS.work_dir)
  os.makedirs(work, exist_ok=True)
  started = time.time()
  info = machine()
  log("work dir %s; corpus %s" % (work, " ".join(corpus)))

  if FLAGS.ours_from == "head":
    OURS["root"] = export_head(os.path.join(work, "ours_head"))
    OURS["commit"] = info["project_commit"]
    log("ours: committed HEAD %s exported to %s" % (info["project_commit"], OURS["root"]))
  records = make_records(work, corpus)
  google_root = google_bert.prepare(os.path.join(work, "google_bert"))
  log("Google's code: %s (bert-tensorflow %s, unpacked, not installed)" % (google_root, google_bert.VERSION))

  runs = []
  for index, seed in enumerate(seeds):
    # Alternate which implementation goes first, so a drift of the machine's load favours neither.
    order = IMPLS if index % 2 == 0 else IMPLS[::-1]
    for impl in order:
      run_dir = os.path.join(work, "runs", "%s_seed%d" % (impl, seed))
      if os.path.exists(run_dir):
        shutil.rmtree(run_dir)
      log("train %s seed %d" % (impl, seed))
      begin = time.time()
      lines = check_call(impl_command(impl, google_root, train_flags(records, run_dir), seed), run_dir + ".log")
      seconds = time.time() - begin
      own = read_eval_results(run_dir)
      if int(own["global_step"]) != FLAGS.num_train_steps:
        raise RuntimeError("%s stopped at step %s" % (run_dir, own["global_step"]))
      seeds_used = sorted({int(match.group(1)) for _, line in lines
                           for match in [re.search(r"'_tf_random_seed': (\d+)", line)] if match})
      if seeds_used != [seed]:
        raise RuntimeError("%s: RunConfig tf_random_seed %s, expected %d" % (run_dir, seeds_used, seed))
      run = {"impl": impl, "seed": seed, "run_config_tf_random_seed": seeds_used[0],
             "train_seconds_wall": round(seconds, 1), "timing": step_rate(lines),
             "train_records_own_evaluator": {key: own[key] for key in METRICS}}
      log("  %s seed %d: %.0f s, %s steps/s; evaluating" % (impl, seed, seconds, run["timing"]["steps_per_second"]))
      run["heldout_ours_evaluator"] = evaluate("ours", run_dir, os.path.join(work, "eval", "ours_eval_%s_seed%d" % (
          impl, seed)), records, google_root)
      if str(seed) in FLAGS.google_eval_seeds or "all" in FLAGS.google_eval_seeds:
        run["heldout_google_evaluator"] = evaluate("google", run_dir, os.path.join(
            work, "eval", "google_eval_%s_seed%d" % (impl, seed)), records, google_root)
      log("  held-out: %s" % json.dumps(run["heldout_ours_evaluator"]))
      runs.append(run)

  def values(key, impl, metric):
    return [run[key][metric] for run in runs if run["impl"] == impl]

  comparison = {}
  comparison["ours_evaluator"] = {
      metric: compare(values("heldout_ours_evaluator", "ours", metric),
                      values("heldout_ours_evaluator", "google", metric)) for metric in METRICS}
  # The same checkpoints through both evaluators: how far apart the evaluators are (not a verdict input).
  both = [run for run in runs if "heldout_google_evaluator" in run]
  comparison["evaluator_cross_check"] = [
      {"impl": run["impl"], "seed": run["seed"],
       "google_minus_ours_evaluator": {metric: run["heldout_google_evaluator"][metric] -
                                       run["heldout_ours_evaluator"][metric] for metric in METRICS}}
      for run in both]
  primary = comparison["ours_evaluator"]
  flags_ok = [primary[metric]["within_seed_noise"] for metric in COMPARED]
  if None in flags_ok:
    verdict = "undecided (one seed: no seed noise to compare against)"
  elif all(flags_ok):
    verdict = ("agree within seed noise: |difference of means| <= 2 x pooled sd for masked_lm_accuracy and "
               "next_sentence_accuracy")
  else:
    verdict = "DISAGREE beyond seed noise on %s" % ", ".join(
        metric for metric, ok in zip(COMPARED, flags_ok) if not ok)
  timing = {impl: [run["timing"]["steps_per_second"] for run in runs if run["impl"] == impl] for impl in IMPLS}
  result = {
      "benchmark": "peer_check_pretraining",
      "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      "quick": FLAGS.quick,
      "peer": "Google's run_pretraining.py from the registry package %s==%s, run under TF 2.15 through the shim of "
              "benchmarks/google_bert.py (never installed)" % (google_bert.PACKAGE, google_bert.VERSION),
      "recipe": {
          "corpus": corpus, "records": records["counts"], "split": "split_data.py --format=documents "
          "--heldout_every=%d" % FLAGS.heldout_every,
          "create_pretraining_data": "--chinese_wwm --do_lower_case=true --max_seq_length=%d "
                                     "--max_predictions_per_seq=%d --masked_lm_prob=0.15 --dupe_factor=%d "
                                     "(train --random_seed=12345, held-out 12346)" % (SEQ, PREDS, FLAGS.dupe_factor),
          "bert_config_file": os.path.relpath(FLAGS.bert_config_file, ROOT),
          "train_flags": [flag for flag in train_flags({"train": "TRAIN"}, "OUT")],
          "num_train_steps": FLAGS.num_train_steps,
          "seeding": "ours --tf_random_seed=SEED; Google's: RunConfig tf_random_seed defaulted to SEED by the "
                     "launcher's shim (graph-level seed of every graph the Estimator builds)",
          "evaluation": "final checkpoint copied to a fresh directory; primary: this project's run_pretraining.py "
                        "--do_eval --eval_input_file=heldout --eval_batch_size=%d --max_eval_steps=1000000 (one "
                        "pass); cross-check: Google's --do_eval --input_file=heldout --max_eval_steps=ceil(n/%d) "
                        "(repeated input tops up the last batch) for seeds %s" % (
                            FLAGS.eval_batch_size, FLAGS.eval_batch_size, ",".join(FLAGS.google_eval_seeds)),
          "verdict_rule": "within seed noise when |mean difference| <= 2 x pooled sd (Welch p-value beside it)",
      },
      "seeds": seeds,
      "ours": {"from": FLAGS.ours_from, "commit": info["project_commit"], "root": str(OURS["root"])},
      "runs": runs,
      "comparison": comparison,
      "verdict": verdict,
      "side_observation_steps_per_second": {
          "note": "not a throughput benchmark: steps/s of the training runs from the arrival times of the "
                  "per-step global_step/sec log lines (first %d excluded), on a shared 2-core machine; "
                  "checkpoint saves included" % STARTUP_LINES,
          "ours": timing["ours"], "google": timing["google"]},
      "machine": dict(info, load_average_at_end=peer_check.load_average()),
      "seconds_total": round(time.time() - started, 1),
  }
  os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
  file_io.write_json_atomically(FLAGS.output, result)
  print()
  print(markdown(result))
  print()
  print("side observation (not a throughput benchmark), training steps/s: ours %s, Google %s" % (
      timing["ours"], timing["google"]))
  print("wrote %s (%.0f s)" % (FLAGS.output, result["seconds_total"]))


if __name__ == "__main__":
  app.run(main)
