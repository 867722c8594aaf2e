"""Create masked-LM/next-sentence TFRecords from raw text (Google's flags; Chinese whole-word masking).

Input: one sentence per line, a blank line between documents. Output: TFRecords with exactly Google's
features (readable by Google's run_pretraining.py), plus `word_ids` with --dynamic_masking, and a stats JSON
beside the first output file. See wwm/pipeline.py for the streaming/parallel design.
"""
import logging
import os
import sys

from absl import app
from absl import flags

from bert.errors import UsageError
from wwm import masking
from wwm import pipeline

FLAGS = flags.FLAGS

# Google's flags (names, defaults and meanings unchanged).
flags.DEFINE_string("input_file", None, "Plain-text corpus: comma-separated paths or glob patterns; one sentence a "
                    "line, a blank line between documents.")
flags.DEFINE_string("output_file", None, "TFRecord file(s) to write, comma separated; instances are spread over "
                    "them.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary (vocab.txt) of the model the data is made for.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the text and strip accents before WordPiece splitting; "
                  "must match the vocabulary (True for uncased models such as Google's Chinese BERT).")
flags.DEFINE_bool("do_whole_word_mask", False, "Mask a word's WordPiece pieces together (a piece and the ## "
                  "pieces after it), not each piece alone; --chinese_wwm does this for Chinese words.")
flags.DEFINE_integer("max_seq_length", 128, "Length in WordPiece tokens, [CLS] and [SEP] included, of every "
                     "instance written (shorter ones are padded).")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Upper bound on the masked positions of one instance (the "
                     "masked-LM feature lists have this length).")
flags.DEFINE_integer("random_seed", 12345, "Seed of every random choice (pairing, lengths, masks); the same "
                     "seed and input give the same output.")
flags.DEFINE_integer("dupe_factor", 10, "How many passes over the corpus to write, each with fresh masks and "
                     "pairings.")
flags.DEFINE_float("masked_lm_prob", 0.15, "Share of an instance's tokens picked for masked-LM prediction "
                   "(at most --max_predictions_per_seq).")
flags.DEFINE_float("short_seq_prob", 0.1, "Chance that an instance is given a random target length below "
                   "--max_seq_length, so that training also sees short inputs.")

# New flags.
flags.DEFINE_bool("chinese_wwm", False, "Chinese whole-word masking: CJK runs are segmented by --segmenter and "
                  "each word is masked completely or not at all (## pieces, digit and Latin runs are one word).")
flags.DEFINE_enum("segmenter", "jieba", ["jieba", "char"], "Word segmenter for --chinese_wwm.")
flags.DEFINE_bool("jieba_hmm", True, "Let jieba's HMM join characters the dictionary lacks (names, new words) "
                  "into words; --nojieba_hmm is about 15% faster and uses dictionary words only.")
flags.DEFINE_bool("fast_segmenter", True, "Segment Chinese runs with jieba's algorithm in C (wwm/_fast_segmenter.c; "
                  "without the extension, rjieba's route where shown equal): jieba's words, see "
                  "wwm/segmenters.py; --nofast_segmenter segments with jieba alone. Never used with --user_dict.")
flags.DEFINE_string("user_dict", None, "jieba user dictionary for --chinese_wwm (one 'word [freq] [tag]' a line).")
flags.DEFINE_bool("mask_decision_per_token", False, "Make the 80% [MASK] / 10% random / 10% keep choice per "
                  "token instead of once per whole word.")
flags.DEFINE_bool("no_nsp", False, "RoBERTa style: no next-sentence pairs; pack whole sentences up to "
                  "max_seq_length across document boundaries (a [SEP] between documents); labels are 0.")
flags.DEFINE_bool("dynamic_masking", False, "Write unmasked sequences plus an int64 word_ids feature (word "
                  "index per position, -1 for [CLS]/[SEP]/padding) so masks can be drawn each epoch.")
flags.DEFINE_integer("num_workers", None, "Processes making records (default: all CPU cores): this one and "
                     "N-1 forked workers. The output is byte-identical for any value.")
flags.DEFINE_integer("num_output_shards", 1, "Split a single --output_file into this many shards "
                     "(NAME-00000-of-0000N), each a contiguous 1/N of the input, committed on its own with a "
                     "NAME-0000i-of-0000N.manifest.json; a rerun keeps complete shards and builds the rest.")
flags.DEFINE_enum("runner", "local", ["local", "beam"], "local: this machine's processes (--num_workers). beam: "
                  "an Apache Beam pipeline (needs the [beam] extra), one work item per output shard, the same "
                  "bytes as local.")
flags.DEFINE_string("beam_pipeline_options", "", "With --runner=beam: Beam's pipeline options, e.g. "
                    "\"--runner=DirectRunner --direct_running_mode=multi_processing --direct_num_workers=2\" or "
                    "\"--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp\".")
flags.DEFINE_integer("nsp_buffer_documents", 128, "Documents per work chunk; NSP random-next segments come "
                     "from other documents of the same chunk (bounds memory; Google uses the whole corpus).")
flags.DEFINE_bool("fast_tokenizer", False, "Tokenize through the Rust `tokenizers` WordPiece where it is "
                  "identical to tokenization.py (per character check). Off by default: tokenization.py is "
                  "about 2x faster (bench_pretraining_data.py --verify_tokenizer); same output either way.")
flags.DEFINE_bool("fast_records", True, "Build instances, masks and records in the C extension wwm/_fast_records.c "
                  "(same bytes as the Python code, which runs when the extension is not built or with "
                  "--nofast_records).")
flags.DEFINE_string("stats_file", None, "Where to write the stats JSON (default: first output + .stats.json).")
flags.DEFINE_bool("progress", True, "tqdm progress bar on a terminal, periodic log lines otherwise.")


def options_from_flags():
  """Builds pipeline.Options from FLAGS; raises UsageError for bad combinations."""
  for name in ("input_file", "output_file", "vocab_file"):
    if not getattr(FLAGS, name):
      raise UsageError("--%s is required" % name)
  if FLAGS.chinese_wwm and FLAGS.do_whole_word_mask:
    raise UsageError("--chinese_wwm and --do_whole_word_mask are exclusive (--chinese_wwm already groups ##)")
  if FLAGS.chinese_wwm:
    mode = masking.MASK_CHINESE_WORDS
  elif FLAGS.do_whole_word_mask:
    mode = masking.MASK_WORDPIECE_WORDS
  else:
    mode = masking.MASK_TOKENS
  outputs = pipeline.output_paths(FLAGS.output_file, FLAGS.num_output_shards)
  num_workers = FLAGS.num_workers if FLAGS.num_workers is not None else (os.cpu_count() or 1)
  if num_workers < 1:
    raise UsageError("--num_workers must be >= 1, got %d" % num_workers)
  return pipeline.Options(
      input_files=pipeline.expand_input_patterns(FLAGS.input_file), output_files=outputs,
      stats_file=FLAGS.stats_file or pipeline.default_stats_file(FLAGS.output_file), vocab_file=FLAGS.vocab_file,
      do_lower_case=FLAGS.do_lower_case, masking_mode=mode, segmenter=FLAGS.segmenter, user_dict=FLAGS.user_dict,
      max_seq_length=FLAGS.max_seq_length, max_predictions_per_seq=FLAGS.max_predictions_per_seq,
      random_seed=FLAGS.random_seed, dupe_factor=FLAGS.dupe_factor, masked_lm_prob=FLAGS.masked_lm_prob,
      short_seq_prob=FLAGS.short_seq_prob, nsp=not FLAGS.no_nsp, dynamic_masking=FLAGS.dynamic_masking,
      per_token_decision=FLAGS.mask_decision_per_token, num_workers=num_workers,
      nsp_buffer_documents=FLAGS.nsp_buffer_documents, fast_tokenizer=FLAGS.fast_tokenizer,
      progress=FLAGS.progress, jieba_hmm=FLAGS.jieba_hmm, fast_segmenter=FLAGS.fast_segmenter,
      fast_records=FLAGS.fast_records, sharded=FLAGS.num_output_shards > 1)


def main(_):
  logging.getLogger().setLevel(logging.INFO)
  try:
    options = options_from_flags()
    logging.info("*** Reading from %d input file(s), writing %d output file(s) ***", len(options.input_files),
                 len(options.output_files))
    if FLAGS.runner == "beam":
      from wwm import beam_runner  # pylint: disable=g-import-not-at-top
      stats = beam_runner.run(options, FLAGS.beam_pipeline_options)
    else:
      if FLAGS.beam_pipeline_options:
        raise UsageError("--beam_pipeline_options needs --runner=beam")
      stats = pipeline.run(options)
  except (UsageError, pipeline.RunAborted) as e:
    sys.exit("error: %s" % e)
  except pipeline.Terminated as e:  # SIGTERM or Ctrl-C
    print("error: %s" % e, file=sys.stderr)
    sys.exit(e.exit_code)
  logging.info("Wrote %d instances from %d documents (%.0f KB/s); stats in %s", stats["instances"],
               stats["documents"], stats["input_kb_per_second"], options.stats_file)


if __name__ == "__main__":
  app.run(main)
