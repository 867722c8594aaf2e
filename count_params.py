"""Prints the parameter count of a BERT encoder (embeddings + layers + pooler, no pretraining heads).

The count is read off the variables of the built graph. Example:

  python count_params.py --bert_config_file=configs/bert_base_zh.json

The last line is `total_params=N`; the lines above break the count down by part (summed over layers).
"""
import sys

from absl import app
from absl import flags

from bert import common_flags
from bert import modeling
from bert.errors import UsageError

FLAGS = flags.FLAGS

common_flags.define_model_flags(with_init_checkpoint=False)
flags.adopt_module_key_flags(common_flags)
flags.mark_flag_as_required("bert_config_file")


def format_parameter_table(config, counts):
  """Returns the breakdown table (without the total line) as a string.

  Args:
    config: BertConfig (for the number of layers shown next to per-layer parts).
    counts: OrderedDict part -> parameters, from `modeling.encoder_parameter_counts`.

  Returns:
    Multi-line string.
  """
  total = sum(counts.values())
  width = max(len(part) for part in counts) + len(" (xx layers)")
  lines = ["%-*s %14s %7s" % (width, "part", "parameters", "share")]
  for part, count in counts.items():
    label = part + (" (%d layers)" % config.num_hidden_layers if "layer_*" in part else "")
    lines.append("%-*s %14s %6.2f%%" % (width, label, "{:,}".format(count), 100.0 * count / total))
  lines.append("%-*s %14s" % (width, "total", "{:,}".format(total)))
  return "\n".join(lines)


def main(_):
  try:
    config = modeling.BertConfig.from_json_file(FLAGS.bert_config_file)
    counts = modeling.encoder_parameter_counts(config)
  except UsageError as e:
    sys.exit("error: %s" % e)
  print(format_parameter_table(config, counts))
  print("total_params=%d" % sum(counts.values()))


if __name__ == "__main__":
  app.run(main)
