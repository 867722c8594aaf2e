"""Pinned output of create_pretraining_data: the bytes a fixed input, flags and seed give never change.

Datasets made with an earlier version must stay reproducible, so every speed-up of segmentation, alignment,
instance creation, masking or encoding has to keep these digests. The input is real text (the 526 KB
CLUECorpusSmall sample of ../shared/data/pretrain_zh); each case is one masking mode of the pipeline. If a
digest changes on purpose (a bug fix that changes the data), say so in the commit and the changelog.
"""
import hashlib

import pytest

from conftest import shared_path
from test_wwm_pipeline import make_options
from wwm import fast_records
from wwm import fast_tokenizer
from wwm import masking
from wwm import pipeline
from wwm import segmenters

CASES = {
    # name: (pipeline options, sha256 of the output records)
    "chinese_wwm_nsp": (dict(masking_mode=masking.MASK_CHINESE_WORDS),
                        "7826c5bc63eef52707fba083d9c316956c1401e2736dc30a4aa227ca075e8d99"),
    "chinese_wwm_dynamic": (dict(masking_mode=masking.MASK_CHINESE_WORDS, dynamic_masking=True),
                            "6b1c1aacc548a7854896c2109898067fb78327235d63aece5ef34f5c3158ba7b"),
    "wordpiece_words_packed": (dict(masking_mode=masking.MASK_WORDPIECE_WORDS, nsp=False),
                               "b8c1ed74797531216195a5790295177c70c30911c8196445e2839b40d6e13f00"),
    "tokens_per_token_decision": (dict(masking_mode=masking.MASK_TOKENS, per_token_decision=True,
                                       short_seq_prob=0.3),
                                  "54ce0ff04bd3adb340a40ca9a91d18f5547b187e1bd84dd9d73a99d4c377ea57"),
}


def _digest(path):
  return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _run(tmp_path, overrides):
  corpus = shared_path("pretrain_zh", "CLUECorpusSmall_5000_lines_bert.txt")
  values = dict(max_seq_length=128, max_predictions_per_seq=20, dupe_factor=1, nsp_buffer_documents=128)
  values.update(overrides)
  options = make_options(tmp_path, [corpus], **values)
  stats = pipeline.run(options)
  return _digest(options.output_files[0]), stats


@pytest.mark.parametrize("implementation", ["c", "python"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_output_bytes_are_pinned(tmp_path, name, implementation):
  overrides, expected = CASES[name]
  digest, stats = _run(tmp_path, dict(overrides, fast_records=implementation == "c"))
  assert stats["records_implementation"] == implementation  # the C extension (wwm/_fast_records.c) or Python
  assert stats["instances"] > 1000
  assert stats["tokenizer_rust_lines"] == 0  # the default: tokenization.py itself
  assert digest == expected, "output of %s changed: %s" % (name, digest)


def test_the_rust_tokenizer_option_gives_the_same_bytes(tmp_path):
  overrides, expected = CASES["chinese_wwm_nsp"]
  digest, stats = _run(tmp_path, dict(overrides, fast_tokenizer=True))
  rust, python = stats["tokenizer_rust_lines"], stats["tokenizer_python_lines"]
  assert rust > 0.9 * (rust + python)
  assert digest == expected


def test_jieba_alone_gives_the_same_bytes_as_the_fast_segmenter(tmp_path):
  overrides, expected = CASES["chinese_wwm_nsp"]
  digest, stats = _run(tmp_path, dict(overrides, fast_segmenter=False))
  assert stats["segmenter_implementation"] == "jieba"
  assert digest == expected


def test_an_install_without_the_c_extensions_gives_the_same_bytes(tmp_path, monkeypatch):
  # What runs where no C compiler built them: the Python records, rjieba's route, tokenization.py's own ids.
  monkeypatch.setattr(fast_records, "_fast_records", None)
  monkeypatch.setattr(segmenters, "_fast_segmenter", None)
  monkeypatch.setattr(fast_tokenizer, "_fast_wordpiece", None)
  overrides, expected = CASES["chinese_wwm_nsp"]
  digest, stats = _run(tmp_path, overrides)
  assert stats["records_implementation"] == "python"
  assert stats["segmenter_implementation"] == "rjieba+jieba-hmm"
  assert digest == expected
