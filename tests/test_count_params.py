"""Tests for count_params.py and modeling.encoder_parameter_counts: the model-zoo sizes."""
import subprocess
import sys

import pytest

from bert import modeling
from conftest import CONFIGS, ROOT

# Published sizes of these shapes (embeddings + encoder + pooler, no pretraining heads).
EXPECTED_PARAMS = {
    "bert_tiny_zh.json": 3183488,
    "bert_mini_zh.json": 8765696,
    "bert_3l_768_zh.json": 38476800,
    "bert_3l_1024_zh.json": 61001728,
    "bert_base_zh.json": 102267648,
    "bert_large_zh.json": 325522432,
    "bert_giant_zh.json": 476677120,
    "bert_base_en.json": 109482240,
}


def test_every_shipped_config_is_tested():
  assert sorted(p.name for p in CONFIGS.glob("*.json")) == sorted(EXPECTED_PARAMS)


@pytest.mark.parametrize("config_name", sorted(EXPECTED_PARAMS))
def test_zoo_config_parameter_count(config_name):
  config = modeling.BertConfig.from_json_file(str(CONFIGS / config_name))
  assert config.intermediate_size == 4 * config.hidden_size
  assert config.max_position_embeddings == 512 and config.type_vocab_size == 2
  assert config.vocab_size == (30522 if config_name.endswith("_en.json") else 21128)
  counts = modeling.encoder_parameter_counts(config)
  assert sum(counts.values()) == EXPECTED_PARAMS[config_name]
  # The breakdown covers embeddings, every layer kind and the pooler, and nothing of the heads.
  assert counts["embeddings/word_embeddings"] == config.vocab_size * config.hidden_size
  assert counts["encoder/layer_*/intermediate/dense"] == config.num_hidden_layers * (
      config.hidden_size * config.intermediate_size + config.intermediate_size)
  assert counts["pooler/dense"] == config.hidden_size * (config.hidden_size + 1)
  assert not any(part.startswith("cls") for part in counts)


def test_script_prints_breakdown_and_total_last():
  result = subprocess.run([sys.executable, "count_params.py", "--bert_config_file=configs/bert_tiny_zh.json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  assert lines[-1] == "total_params=3183488"
  assert any(line.startswith("encoder/layer_*/attention/self (2 layers)") and "99,072" in line for line in lines)
  assert any(line.startswith("embeddings/word_embeddings") and "2,704,384" in line for line in lines)


def test_script_missing_config_is_one_error_line(tmp_path):
  import count_params
  missing = str(tmp_path / "missing_config.json")
  count_params.FLAGS(["count_params.py", "--bert_config_file=" + missing])
  try:
    with pytest.raises(SystemExit) as exit_info:
      count_params.main(None)
  finally:
    count_params.FLAGS.unparse_flags()
  assert str(exit_info.value) == "error: BERT config file %s does not exist" % missing
