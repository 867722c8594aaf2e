"""Exports a TF checkpoint with Google BERT's variable names to a Hugging Face `transformers` directory.

Example:
  python export_hf.py --init_checkpoint=out/pretrain/model.ckpt-100000 \
    --bert_config_file=configs/bert_config_base.json --vocab_file=vocab/zh_vocab.txt \
    --output_dir=out/hf_model --head=pretraining

The directory loads with transformers.AutoModel / BertForPreTraining / BertForSequenceClassification /
BertForQuestionAnswering.from_pretrained and AutoTokenizer.from_pretrained; with --sentence_pooling=mean also
with sentence_transformers.SentenceTransformer. Torch is not needed for the export.
"""
import sys

from absl import app
from absl import flags
from absl import logging

from bert import common_flags
from bert import hf_interop
from bert.errors import UsageError

FLAGS = flags.FLAGS

common_flags.define_model_flags()
common_flags.define_tokenizer_flags()
flags.DEFINE_string("output_dir", None, "Hugging Face model directory to write.")
flags.DEFINE_enum("head", "auto", ("auto",) + hf_interop.HEADS,
                  "Which model to export: none (BertModel), pretraining (BertForPreTraining: masked LM + next "
                  "sentence), masked_lm (BertForMaskedLM: checkpoints pretrained without NSP, e.g. RoBERTa-wwm), "
                  "classifier (BertForSequenceClassification, run_classifier.py checkpoints), squad "
                  "(BertForQuestionAnswering, run_squad.py checkpoints); auto picks it from the variables.")
flags.DEFINE_list("label_names", None,
                  "Classifier head: label names in label-id order (run_classifier.py's label list) for id2label.")
flags.DEFINE_enum("sentence_pooling", "none", hf_interop.SENTENCE_POOLING_MODES,
                  "Also write sentence-transformers module files with this pooling (mean or cls).")
# `--help` lists the shared flags with the script's own.
flags.adopt_module_key_flags(common_flags)

for _name in ("init_checkpoint", "bert_config_file", "vocab_file", "output_dir"):
  flags.mark_flag_as_required(_name)


def main(_):
  logging.set_verbosity(logging.INFO)
  try:
    summary = hf_interop.export_hf(FLAGS.init_checkpoint, FLAGS.bert_config_file, FLAGS.vocab_file,
                                   FLAGS.output_dir, head=FLAGS.head, do_lower_case=FLAGS.do_lower_case,
                                   label_names=FLAGS.label_names, sentence_pooling=FLAGS.sentence_pooling)
  except UsageError as e:
    sys.exit("error: %s" % e)
  if summary.left_out:
    logging.info("left out %d checkpoint variables (optimizer slots, step counters, other heads), e.g. %s",
                 len(summary.left_out), ", ".join(summary.left_out[:5]))
  logging.info("wrote %s (%s, %d tensors) to %s", summary.architecture, summary.head, len(summary.exported),
               FLAGS.output_dir)


if __name__ == "__main__":
  app.run(main)
