r"""Collects a results table from its run directories: Markdown, JSON (every run) and PNG plots.

  python reproduce/collect.py --table=glue --runs_dir=reproduce/runs/glue --output_dir=reproduce/results

Tables: pretrain_small, glue, squad, chinese, sts (see bert/results_tables.py for what each cell means).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the project root

from absl import app  # pylint: disable=wrong-import-position
from absl import flags  # pylint: disable=wrong-import-position

from bert import results_tables  # pylint: disable=wrong-import-position
from bert.errors import UsageError  # pylint: disable=wrong-import-position

FLAGS = flags.FLAGS
flags.DEFINE_string("table", None, "One of: %s." % ", ".join(results_tables.TABLE_NAMES))
flags.DEFINE_string("runs_dir", None, "The table's run directory (OUTPUT_DIR/<table> of the table script).")
flags.DEFINE_string("output_dir", None, "Where <table>.md, <table>.json and the plots go.")
flags.DEFINE_string("scale", "full", "The SCALE the runs were made at (named in the heading).")
flags.DEFINE_bool("update_readme", False,
                  "Instead: rewrite the results block of README.md from the tables in reproduce/results and "
                  "the peer-check reports in benchmarks/results.")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(_):
  try:
    if FLAGS.update_readme:
      results_tables.update_readme(os.path.join(ROOT, "README.md"), os.path.join(ROOT, "reproduce", "results"),
                                   os.path.join(ROOT, "benchmarks", "results"))
      print("updated README.md from reproduce/results and benchmarks/results/peer_check_*.json")
      return
    if not FLAGS.table or not FLAGS.runs_dir or not FLAGS.output_dir:
      raise UsageError("--table, --runs_dir and --output_dir are required")
    paths = results_tables.collect(FLAGS.table, FLAGS.runs_dir, FLAGS.output_dir, FLAGS.scale)
  except UsageError as error:
    sys.exit("error: %s" % error)
  with open(paths["markdown"], encoding="utf-8") as handle:
    print(handle.read())
  print("wrote " + ", ".join(sorted(paths.values())))


if __name__ == "__main__":
  app.run(main)
