"""The floor of Chinese whole-word-masking data creation: tokenizing and segmenting a corpus, nothing else.

Reads every non-empty line of the corpus, tokenizes it with the pipeline's default tokenizer
(wwm.fast_tokenizer.FastTokenizer: tokenization.py, with its ids from the C pass) and segments each run of Han
characters (U+4E00-U+9FFF, nearly all of the CJK runs the pipeline segments) with its default segmenter (jieba's
words, from the C segmenter where it is built), then prints one JSON line of counts. No alignment, instances, masking or records: any pipeline that must give exactly these
tokens and jieba's words pays at least this much, so Google's time divided by this one bounds how far ahead
of Google's create_pretraining_data.py such a pipeline can be. Run by bench_pretraining_data.py ("floor").

  python benchmarks/data_floor.py CORPUS VOCAB
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from wwm import fast_tokenizer  # pylint: disable=g-import-not-at-top,wrong-import-position
from wwm import segmenters  # pylint: disable=g-import-not-at-top,wrong-import-position

HAN_RUN = re.compile("[\u4e00-\u9fff]+")
BATCH_LINES = 5000  # the pipeline's chunks are of this order too


def main(argv):
  corpus, vocab = argv[1:3]
  tokenizer = fast_tokenizer.FastTokenizer(vocab, do_lower_case=True)
  segmenter = segmenters.create_segmenter("jieba")
  with open(corpus, encoding="utf-8") as reader:
    lines = [line.strip() for line in reader if line.strip()]
  tokens = words = 0
  for start in range(0, len(lines), BATCH_LINES):
    batch = lines[start:start + BATCH_LINES]
    tokens += sum(len(ids) for ids in tokenizer.ids_of_lines(batch))
    for line in batch:
      for run in HAN_RUN.findall(line):
        words += len(segmenter.word_lengths(run))
  print(json.dumps({"lines": len(lines), "tokens": tokens, "words": words,
                    "segmenter": segmenter.implementation}))


if __name__ == "__main__":
  main(sys.argv)
