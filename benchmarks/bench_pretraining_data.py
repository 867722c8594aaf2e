"""Speed, scaling and memory of create_pretraining_data.py against Google's (and checks of the fast paths).

Runs the real command lines on ../shared/data/pretrain_zh (the three files concatenated, 2.5 MB; the 25 MB input
is that corpus repeated 10 times) with --dupe_factor 5 --max_seq_length 128 --max_predictions_per_seq 20, for
each input size: Google's create_pretraining_data.py (bert-tensorflow 1.0.4, downloaded into a temporary
directory and run there through benchmarks/google_bert.py; one process, no Chinese whole-word masking), then
the floor (benchmarks/data_floor.py: this project's tokenizer and segmenter over the corpus once, nothing
else -- Google's time over the floor's bounds how far ahead of Google an exact Chinese WWM pipeline can get),
this project's with --chinese_wwm --nofast_records on 1 worker (the records built by the Python code instead of
the C extension wwm/_fast_records.c; same bytes), then this project's with --chinese_wwm for each worker count,
all under /usr/bin/time -v when it exists. Reported
per run:
  * KB/s: input bytes / wall seconds of the whole command (interpreter start, jieba load and all);
  * KB/s per CPU: input bytes / (user + system CPU seconds of all processes) -- the per-worker speed, which a
    busy shared machine disturbs much less than wall time;
  * instances/s, peak RSS of the largest process (time -v / ru_maxrss) and of the whole process tree (sampled
    from /proc every 0.1 s).
The floor and ours run --runs times (default 3), alternating, and each row is the run of median wall time;
Google's script and the --nofast_records run, which take minutes, run once. Ratios compare runs of the same
invocation: ours with 1 worker vs Google's (wall and CPU), the C extension vs
the Python records (CPU), 2 workers vs 1 (same size; and with start-up excluded, the extra wall time of 25 MB
over 2.5 MB on 1 worker over that on 2), 25 MB vs 2.5 MB (same workers). Because a shared host's speed drifts
between minutes, the worker ratios also come "paired" (each round's 1-worker run over the run right after it,
median over rounds), and each round also runs the pair: two 1-worker runs of ours at the same time, whose
speed over one alone is what this host gives two independent processes, so the most 2 workers can reach. The 25 MB input repeats
the 2.5 MB one, so the tokenizer's per-word cache hits more often than on 25 MB of distinct text; Google's
script has no such cache.
There is no timed assert. Prints a table and writes benchmarks/results/bench_pretraining_data.json.

  .venv/bin/python benchmarks/bench_pretraining_data.py                  # ~8 min on 2 quiet cores
  .venv/bin/python benchmarks/bench_pretraining_data.py --quick          # seconds: checks the script runs
  .venv/bin/python benchmarks/bench_pretraining_data.py --verify_tokenizer   # Rust == Python on all shared text
  .venv/bin/python benchmarks/bench_pretraining_data.py --verify_segmenter   # rjieba path == jieba, same text
"""
import argparse
import gzip
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import google_bert  # pylint: disable=g-import-not-at-top,wrong-import-position
import machine  # pylint: disable=g-import-not-at-top,wrong-import-position
SHARED = os.environ.get("BERT_SHARED_DATA", os.path.join(os.path.dirname(ROOT), "shared", "data"))
CORPUS_FILES = ("CLUECorpusSmall_bert_sampled.txt", "CLUECorpusSmall_5000_lines_bert.txt", "news_zh_1.txt")
TIME_BINARY = "/usr/bin/time"


def build_corpus(directory, repeats, limit_bytes=None):
  """Writes the pretrain_zh corpus `repeats` times into one file; returns (path, size)."""
  base = b"".join(open(os.path.join(SHARED, "pretrain_zh", name), "rb").read().rstrip(b"\n") + b"\n\n"
                  for name in CORPUS_FILES)
  if limit_bytes:
    cut = base.rfind(b"\n\n", 0, limit_bytes)
    base = base[:cut + 2]
  path = os.path.join(directory, "corpus_x%d.txt" % repeats)
  with open(path, "wb") as writer:
    for _ in range(repeats):
      writer.write(base)
  return path, os.path.getsize(path)


def _tree_rss_kb(pid):
  """Sum of VmRSS (KB) of `pid` and all its descendants."""
  children = {}
  for entry in os.listdir("/proc"):
    if entry.isdigit():
      try:
        with open("/proc/%s/stat" % entry) as reader:
          fields = reader.read().rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
      except OSError:
        continue
  total, stack = 0, [pid]
  while stack:
    current = stack.pop()
    stack.extend(children.get(current, []))
    try:
      with open("/proc/%d/status" % current) as reader:
        match = re.search(r"VmRSS:\s+(\d+)", reader.read())
      total += int(match.group(1)) if match else 0
    except OSError:
      continue
  return total


def _command(program, corpus, output, workers, dupe_factor, max_seq_length, google_root):
  """argv of one run: this project's script with --chinese_wwm, or Google's with the same flags."""
  flags = ["--input_file=" + corpus, "--output_file=" + output,
           "--vocab_file=" + os.path.join(ROOT, "vocab", "zh_vocab.txt"), "--do_lower_case=True",
           "--max_seq_length=%d" % max_seq_length, "--max_predictions_per_seq=20", "--masked_lm_prob=0.15",
           "--random_seed=12345", "--dupe_factor=%d" % dupe_factor]
  if program == "google":
    return google_bert.command(google_root, "create_pretraining_data", flags)
  if program == "floor":
    return [sys.executable, os.path.join(ROOT, "benchmarks", "data_floor.py"), corpus,
            os.path.join(ROOT, "vocab", "zh_vocab.txt")]
  own = [sys.executable, os.path.join(ROOT, "create_pretraining_data.py")] + flags + [
      "--chinese_wwm", "--num_workers=%d" % workers, "--noprogress"]
  # "ours_python": the same run with the records built by the Python code instead of wwm/_fast_records.c.
  return own + ["--nofast_records"] if program == "ours_python" else own


def run_once(corpus, workers, output_dir, dupe_factor, max_seq_length, program="ours", google_root=None):
  """Runs one script once (program "ours", "ours_python", "google" or "floor"; the last two single-process), or,
  for program "pair", two 1-worker runs of ours at the same time (the host's own speed-up for two independent
  processes: the most 2 workers could reach there).

  Returns:
    dict of measurements (for "pair": wall until both ended, CPU of both, the larger peak RSS).
  """
  copies = ("a", "b") if program == "pair" else ("",)
  outputs = [os.path.join(output_dir, "out_%s%s_w%d.tfrecord" % (program, copy, workers)) for copy in copies]
  # Every run writes a new file: replacing the previous run's (ext4 frees its 420 MB during the rename) would
  # time the file system's clean-up of the last run, not the making of this one.
  for stale in [name for output in outputs for name in (output, output + ".stats.json")]:
    if os.path.exists(stale):
      os.remove(stale)
  use_time = os.path.exists(TIME_BINARY)
  commands = []
  for output in outputs:
    command = _command("ours" if program == "pair" else program, corpus, output, workers, dupe_factor,
                       max_seq_length, google_root)
    commands.append([TIME_BINARY, "-v"] + command if use_time else command)
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  start = time.time()
  processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for command in commands]
  peak_tree = [0]

  def sample():
    while any(process.poll() is None for process in processes):
      peak_tree[0] = max(peak_tree[0], sum(_tree_rss_kb(process.pid) for process in processes))
      time.sleep(0.1)

  sampler = threading.Thread(target=sample, daemon=True)
  sampler.start()
  stderrs = [process.communicate()[1] for process in processes]
  wall = time.time() - start
  sampler.join()
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  for process, stderr in zip(processes, stderrs):
    if process.returncode != 0:
      raise SystemExit("%s create_pretraining_data.py failed:\n%s" % (program, stderr[-3000:]))
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  max_rss_kb = after.ru_maxrss
  if use_time:
    max_rss_kb = max(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1))
                     for stderr in stderrs)
  if program == "google":
    instances = int(re.findall(r"Wrote (\d+) total instances", stderrs[0])[-1])
  elif program == "floor":
    instances = 0  # it makes none (data_floor.py)
  else:
    instances = json.load(open(outputs[0] + ".stats.json", encoding="utf-8"))["instances"]
  size = os.path.getsize(corpus)
  instances *= len(outputs)
  total_kb = size * len(outputs) / 1e3  # a pair makes the corpus twice
  digests = [_file_digest(output) for output in outputs] if program != "floor" else [None]
  if len(set(digests)) != 1:
    raise SystemExit("the two runs of the pair wrote different bytes: %s" % digests)
  return {
      "program": program, "input_mb": round(size / 1e6, 2), "workers": workers, "wall_seconds": round(wall, 2),
      "cpu_seconds": round(cpu, 2), "kb_per_s": round(total_kb / wall, 1),
      "kb_per_cpu_s": round(total_kb / cpu, 1), "instances": instances,
      "instances_per_s": round(instances / wall, 1), "peak_rss_mb": round(max_rss_kb / 1024, 1),
      "peak_tree_rss_mb": round(peak_tree[0] / 1024, 1), "rss_source": "time -v" if use_time else "ru_maxrss",
      "output_sha_prefix": digests[0],
  }


def _file_digest(path):
  import hashlib  # pylint: disable=g-import-not-at-top
  return hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]


def verify_tokenizer():
  """Compares the Rust tokenizer option and the pipeline's ids with tokenization.py on every text line of
  ../shared/data; times all three.

  They alternate file by file, so that their times come from the same run: the Rust option and tokenization.py
  through FastTokenizer.tokenize_lines (tokens and ids), then the default FastTokenizer.ids_of_lines, the call
  the pipeline makes (tokenization.py's basic tokenizer, then the split and the ids in wwm/_fast_wordpiece.c),
  whose ids must equal those of tokenization.py's tokens.
  """
  from wwm import fast_tokenizer  # pylint: disable=g-import-not-at-top
  vocab = os.path.join(ROOT, "vocab", "zh_vocab.txt")
  rust = fast_tokenizer.FastTokenizer(vocab, do_lower_case=True, use_rust=True)
  python = fast_tokenizer.FastTokenizer(vocab, do_lower_case=True)  # the default: tokenization.py
  totals = {"lines": 0, "rust_lines": 0, "mismatches": 0, "bytes": 0, "rust_seconds": 0.0, "python_seconds": 0.0,
            "ids_mismatches": 0, "ids_seconds": 0.0}
  start = time.time()
  for name, lines in _shared_text_sources():
    before = rust.lines_fast
    begin = time.time()
    rust_tokens = [tokens for tokens, _ in rust.tokenize_lines(lines)]
    totals["rust_seconds"] += time.time() - begin
    begin = time.time()
    python_results = python.tokenize_lines(lines)
    totals["python_seconds"] += time.time() - begin
    begin = time.time()
    pipeline_ids = python.ids_of_lines(lines)
    totals["ids_seconds"] += time.time() - begin
    for line, got, (expected, expected_ids), ids in zip(lines, rust_tokens, python_results, pipeline_ids):
      if got != expected:
        totals["mismatches"] += 1
        print("MISMATCH in %s: %r" % (name, line[:200]))
      if ids != expected_ids:
        totals["ids_mismatches"] += 1
        print("IDS MISMATCH in %s: %r" % (name, line[:200]))
    totals["lines"] += len(lines)
    totals["rust_lines"] += rust.lines_fast - before
    totals["bytes"] += sum(len(line.encode("utf-8")) for line in lines)
  totals["seconds"] = round(time.time() - start, 1)
  totals["python_vs_rust_speed"] = round(totals["rust_seconds"] / totals["python_seconds"], 2)
  totals["ids_vs_python_speed"] = round(totals["python_seconds"] / totals["ids_seconds"], 2)
  for key in ("rust_seconds", "python_seconds", "ids_seconds"):
    totals[key] = round(totals[key], 1)
  print("tokenizer check over all of %s: %d lines (%.1f MB), %d through Rust, %d mismatches; Rust option "
        "%.1f s, tokenization.py %.1f s (%.2fx as fast); the pipeline's ids %.1f s (%.2fx tokenization.py), %d "
        "mismatches" % (SHARED, totals["lines"], totals["bytes"] / 1e6, totals["rust_lines"], totals["mismatches"],
                        totals["rust_seconds"], totals["python_seconds"], totals["python_vs_rust_speed"],
                        totals["ids_seconds"], totals["ids_vs_python_speed"], totals["ids_mismatches"]))
  return totals


class _RecordingSegmenter(object):
  """Collects the texts alignment hands to a segmenter (one word per character meanwhile)."""

  def __init__(self):
    self.texts = set()

  def word_lengths(self, text):
    self.texts.add(text)
    return [1] * len(text)


def verify_segmenter():
  """Compares the fast segmenter with jieba on exactly the CJK runs the pipeline segments in ../shared/data.

  Every text line is tokenized and aligned as create_pretraining_data.py does (wwm.alignment.assign_word_ids),
  which records each run it would give the segmenter; the distinct runs are then segmented by jieba alone and
  by segmenters.FastJiebaSegmenter in both forms (jieba's algorithm in C, the default; rjieba's route with the
  Python HMM decoder, used without the extension), with the HMM on (the default) and off.
  """
  from wwm import alignment  # pylint: disable=g-import-not-at-top
  from wwm import fast_tokenizer  # pylint: disable=g-import-not-at-top
  from wwm import segmenters  # pylint: disable=g-import-not-at-top
  tokenizer = fast_tokenizer.FastTokenizer(os.path.join(ROOT, "vocab", "zh_vocab.txt"), do_lower_case=True)
  classes = alignment.TokenClasses(tokenizer.vocab)
  recorder = _RecordingSegmenter()
  for _, lines in _shared_text_sources():
    for ids in tokenizer.ids_of_lines([line.strip() for line in lines if line.strip()]):
      alignment.assign_word_ids(ids, classes, recorder, 0)
  runs = sorted(recorder.texts)
  result = {"distinct_runs": len(runs), "characters": sum(len(run) for run in runs)}
  for hmm in (True, False):
    reference = segmenters.create_segmenter("jieba", hmm=hmm, fast=False)
    start = time.time()
    expected = [reference.word_lengths(run) for run in runs]
    jieba_seconds = time.time() - start
    # The default fast path (jieba's algorithm in C), then the one used without the extension (rjieba's route).
    for native in (True, False):
      if native and not segmenters.native_segmenter_available():
        raise SystemExit("the C segmenter (wwm/_fast_segmenter.c) is not built: pip install -e .")
      if not native and not segmenters.rjieba_available():
        continue
      fast = segmenters.FastJiebaSegmenter(hmm=hmm, native=native)
      key = ("" if native else "rjieba_") + ("hmm" if hmm else "no_hmm")
      start = time.time()
      got = [fast.word_lengths(run) for run in runs]
      fast_seconds = time.time() - start
      differences = [run for run, a, b in zip(runs, expected, got) if a != b]
      for run in differences[:20]:
        print("DIFFERENCE (%s): %s" % (key, run[:200]))
      handled = (sum(1 for run in runs if segmenters.JIEBA_HAN_RUN.match(run)) if native
                 else sum(1 for run in runs if segmenters.takes_fast_path(run)))
      result[key] = {"implementation": fast.implementation, "differences": len(differences),
                     "jieba_seconds": round(jieba_seconds, 2), "fast_seconds": round(fast_seconds, 2),
                     "speedup": round(jieba_seconds / max(fast_seconds, 1e-9), 2), "fast_path_runs": handled}
      print("segmenter check (%s, %s) over %d distinct runs (%d characters) of %s: %d differences; jieba %.1f s, "
            "fast path %.1f s (%.1fx)" % (key, fast.implementation, len(runs), result["characters"], SHARED,
                                          len(differences), jieba_seconds, fast_seconds, result[key]["speedup"]))
  return result


def _shared_text_sources():
  """(name, lines) for every text file, zip member and gzip file under ../shared/data (raw lines)."""
  for directory, _, names in sorted(os.walk(SHARED)):
    for name in sorted(names):
      path = os.path.join(directory, name)
      if name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
          for member in archive.namelist():
            if not member.endswith("/"):
              yield path + ":" + member, archive.read(member).decode("utf-8", "replace").split("\n")
      elif name.endswith(".gz"):
        yield path, gzip.open(path).read().decode("utf-8", "replace").split("\n")
      elif name.endswith((".txt", ".tsv", ".csv", ".json", ".md")):
        yield path, open(path, "rb").read().decode("utf-8", "replace").split("\n")


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--sizes", default="1,10", help="corpus repeats (1 = 2.5 MB)")
  parser.add_argument("--workers", default="1,2")
  parser.add_argument("--dupe_factor", type=int, default=5)
  parser.add_argument("--max_seq_length", type=int, default=128)
  parser.add_argument("--quick", action="store_true", help="tiny input and dupe_factor 1 (smoke run)")
  parser.add_argument("--runs", type=int, default=3, help="runs of the floor and of ours per size (the median "
                      "by wall time is reported); Google's and --nofast_records run once")
  parser.add_argument("--no_google", action="store_true", help="skip Google's create_pretraining_data.py "
                      "(bert-tensorflow 1.0.4, downloaded into a temporary directory; see google_bert.py)")
  parser.add_argument("--no_floor", action="store_true", help="skip the floor run (benchmarks/data_floor.py: "
                      "tokenizing and segmenting alone, the least any exact Chinese WWM pipeline must do)")
  parser.add_argument("--no_python_records", action="store_true", help="skip the single-worker run with "
                      "--nofast_records (records built by the Python code, not the C extension)")
  parser.add_argument("--no_pair", action="store_true", help="skip the pair: two 1-worker runs of ours at once, "
                      "the speed-up two independent processes get on this host (what 2 workers can reach there)")
  parser.add_argument("--verify_tokenizer", action="store_true")
  parser.add_argument("--verify_segmenter", action="store_true")
  parser.add_argument("--output_json", default=None, help="default: benchmarks/results/"
                      "bench_pretraining_data.json, or ...checks.json for --verify_*")
  args = parser.parse_args()
  checks = args.verify_tokenizer or args.verify_segmenter
  args.output_json = args.output_json or os.path.join(
      ROOT, "benchmarks", "results", "bench_pretraining_data%s.json" % ("_checks" if checks else ""))
  results = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "cpu_count": os.cpu_count(), "cpu_flags": machine.cpu_flags(),
             "load_average_at_start": os.getloadavg()}
  if checks:
    if args.verify_tokenizer:
      results["tokenizer_check"] = verify_tokenizer()
    if args.verify_segmenter:
      results["segmenter_check"] = verify_segmenter()
  else:
    temp = tempfile.mkdtemp(prefix="bench_pretraining_data_")
    try:
      runs = []
      sizes = [1] if args.quick else [int(s) for s in args.sizes.split(",")]
      google_root = None if args.no_google else google_bert.prepare(os.path.join(temp, "google_bert"))
      for repeats in sizes:
        corpus, _ = build_corpus(temp, repeats, limit_bytes=200000 if args.quick else None)
        plan = [("ours", int(w)) for w in args.workers.split(",")]
        if not args.no_pair:
          plan.append(("pair", 1))
        if not args.no_python_records:
          plan.insert(0, ("ours_python", 1))
        if not args.no_floor:
          plan.insert(0, ("floor", 1))
        if google_root:
          plan.insert(0, ("google", 1))
        # Google's and the Python-records runs once (minutes); the short ones args.runs times, alternating,
        # each row the run of median wall time (with every run's times beside it).
        measured = {key: [] for key in plan}
        for round_index in range(1 if args.quick else args.runs):
          for program, workers in plan:
            if round_index and program in ("google", "ours_python"):
              continue
            run = run_once(corpus, workers, temp, 1 if args.quick else args.dupe_factor, args.max_seq_length,
                           program, google_root)
            measured[program, workers].append(run)
            print("  done: %s" % json.dumps(run), flush=True)
        for key in plan:
          each = measured[key]
          run = dict(sorted(each, key=lambda r: r["wall_seconds"])[len(each) // 2])
          run.update(repeats=repeats, runs=len(each), wall_seconds_each=[r["wall_seconds"] for r in each],
                     cpu_seconds_each=[r["cpu_seconds"] for r in each])
          runs.append(run)
    finally:
      shutil.rmtree(temp, ignore_errors=True)
    results["runs"] = runs
    results["ratios"] = _ratios(runs)
    _print_table(runs, results["ratios"])
  results["load_average_at_end"] = os.getloadavg()
  os.makedirs(os.path.dirname(args.output_json), exist_ok=True)
  with open(args.output_json + ".tmp", "w", encoding="utf-8") as writer:
    json.dump(results, writer, indent=2)
  os.replace(args.output_json + ".tmp", args.output_json)
  print("wrote %s" % args.output_json)


def _ratios(runs):
  ratios = {}
  for google in [r for r in runs if r["program"] == "google"]:
    ours = [r for r in runs if r["program"] == "ours" and r["workers"] == 1 and r["repeats"] == google["repeats"]]
    if ours:
      ratios["ours_1w_vs_google_wall_x%d" % google["repeats"]] = round(
          google["wall_seconds"] / ours[0]["wall_seconds"], 2)
      ratios["ours_1w_vs_google_cpu_x%d" % google["repeats"]] = round(
          google["cpu_seconds"] / ours[0]["cpu_seconds"], 2)
      ratios["google_vs_ours_peak_rss_x%d" % google["repeats"]] = round(
          google["peak_rss_mb"] / ours[0]["peak_rss_mb"], 1)
  single = {(r["program"], r["repeats"]): r for r in runs if r["workers"] == 1}
  for repeats in sorted({size for _, size in single}):
    floor, google, ours, python = (single.get((program, repeats))
                                   for program in ("floor", "google", "ours", "ours_python"))
    if floor and google:
      ratios["floor_vs_google_wall_x%d" % repeats] = round(google["wall_seconds"] / floor["wall_seconds"], 2)
      ratios["floor_vs_google_cpu_x%d" % repeats] = round(google["cpu_seconds"] / floor["cpu_seconds"], 2)
    if floor and ours:
      ratios["floor_share_of_ours_1w_cpu_x%d" % repeats] = round(floor["cpu_seconds"] / ours["cpu_seconds"], 2)
    if python and ours:
      ratios["fast_records_vs_python_cpu_x%d" % repeats] = round(python["cpu_seconds"] / ours["cpu_seconds"], 2)
      ratios["same_output_fast_records_vs_python_x%d" % repeats] = (
          python["output_sha_prefix"] == ours["output_sha_prefix"])
  by_key = {(r["repeats"], r["workers"]): r for r in runs if r["program"] == "ours"}
  smallest = min((repeats for repeats, _ in by_key), default=None)
  for (repeats, workers), run in by_key.items():
    one = by_key.get((repeats, 1))
    if workers > 1 and one:
      ratios["speedup_%dw_vs_1w_x%d" % (workers, repeats)] = round(run["kb_per_s"] / one["kb_per_s"], 2)
      ratios["same_output_%dw_vs_1w_x%d" % (workers, repeats)] = run["output_sha_prefix"] == one["output_sha_prefix"]
      ratios["speedup_%dw_vs_1w_x%d_paired" % (workers, repeats)] = _paired(one, run)
    pair = next((r for r in runs if r["program"] == "pair" and r["repeats"] == repeats), None)
    if workers == 1 and pair:
      # The host's own scaling: two independent 1-worker runs at once over one alone (a shared machine's two
      # cores may not give 2x), and below how much of it the 2-worker run reaches.
      ratios["pair_vs_1w_x%d" % repeats] = round(pair["kb_per_s"] / run["kb_per_s"], 2)
      ratios["pair_vs_1w_x%d_paired" % repeats] = _paired(run, pair, factor=2)
    if workers == 2 and pair:
      ratios["speedup_2w_share_of_pair_x%d" % repeats] = round(run["kb_per_s"] / pair["kb_per_s"], 2)
    small, small_one = by_key.get((smallest, workers)), by_key.get((smallest, 1))
    if workers > 1 and one and small and small_one and repeats > small["repeats"]:
      # The same speed-up with start-up excluded: the extra wall time the larger corpus takes, 1 worker over
      # `workers` (interpreter, imports, vocabulary and dictionary loading cancel out, as in the training
      # benchmark's difference of two step counts).
      ratios["speedup_%dw_vs_1w_x%d_minus_x%d" % (workers, repeats, small["repeats"])] = round(
          (one["wall_seconds"] - small_one["wall_seconds"]) / (run["wall_seconds"] - small["wall_seconds"]), 2)
    if small and repeats > small["repeats"]:
      ratios["peak_rss_x%d_vs_x%d_%dw" % (repeats, small["repeats"], workers)] = round(
          run["peak_rss_mb"] / small["peak_rss_mb"], 3)
      ratios["peak_tree_rss_x%d_vs_x%d_%dw" % (repeats, small["repeats"], workers)] = round(
          run["peak_tree_rss_mb"] / small["peak_tree_rss_mb"], 3)
  return ratios


def _paired(slower, faster, factor=1):
  """Each round's wall time of `slower` over that of `faster` (which did `factor` times the work), median over
  the rounds: a shared host's speed drifts by 10-20% between minutes, which moves both runs of a round alike
  but not the medians of runs minutes apart."""
  return round(statistics.median(factor * a / b for a, b in zip(slower["wall_seconds_each"],
                                                                  faster["wall_seconds_each"])), 2)


def _print_table(runs, ratios):
  header = "%-11s %8s %7s %8s %9s %11s %11s %12s %10s %14s" % (
      "program", "input MB", "workers", "wall s", "KB/s", "KB/cpu-s", "instances", "instances/s", "peak RSS",
      "tree RSS MB")
  print(header)
  print("-" * len(header))
  for run in runs:
    print("%-11s %8.2f %7d %8.1f %9.1f %11.1f %11d %12.1f %8.1fMB %14.1f" % (
        run["program"], run["input_mb"], run["workers"], run["wall_seconds"], run["kb_per_s"], run["kb_per_cpu_s"],
        run["instances"], run["instances_per_s"], run["peak_rss_mb"], run["peak_tree_rss_mb"]))
  for key, value in sorted(ratios.items()):
    print("%s: %s" % (key, value))


if __name__ == "__main__":
  main()
