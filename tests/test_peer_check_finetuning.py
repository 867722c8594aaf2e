"""benchmarks/peer_check_finetuning.py: the reference's reader and tokenization give the project's examples and ids."""
import importlib.util

import pytest

import tokenization
from conftest import EN_VOCAB, ROOT, shared_path

@pytest.fixture(scope="module")
def peer():
  spec = importlib.util.spec_from_file_location("peer_check_finetuning",
                                                ROOT / "benchmarks" / "peer_check_finetuning.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_reference_reader_and_tokenization_match_the_project(peer, tmp_path):
  """SST-2 and MRPC subsets: the reference's reader gives the processor's examples; Google-style ids as built."""
  shared_path("glue_en", "MRPC", "train.tsv")  # skips when ../shared/data is absent
  for task in ("sst2", "mrpc"):
    data_dir = tmp_path / task
    recipe = peer.RECIPES[task]
    pool = peer.write_subset(recipe, str(data_dir), 40, max_dev_examples=30)
    assert pool > 3000
    for split, count in (("train", 40), ("dev", 30)):
      rows = peer.reference_read(str(data_dir / ("%s.tsv" % split)), recipe["columns"])
      assert len(rows) == count
      assert rows == peer.project_read(task, str(data_dir), split)
      assert all(row[2] in ("0", "1") for row in rows)
      assert all((row[1] is not None) == (task == "mrpc") for row in rows)
  # The same seeded sample every time.
  again = tmp_path / "again"
  peer.write_subset(peer.RECIPES["sst2"], str(again), 40)
  assert (again / "train.tsv").read_bytes() == (tmp_path / "sst2" / "train.tsv").read_bytes()
  tokenizer = tokenization.FullTokenizer(str(EN_VOCAB), do_lower_case=True)
  ids = peer.google_input_ids(tokenizer, "hello world", "a b c d e", 8)  # 5 tokens for the texts: b loses 2
  assert tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "hello", "world", "[SEP]", "a", "b", "c", "[SEP]"]
