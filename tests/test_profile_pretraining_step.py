"""benchmarks/profile_pretraining_step.py: a traced train step's op times, split by model part and op type."""
import sys

import pytest

from bert import modeling
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import profile_pretraining_step as profiler  # noqa: E402  pylint: disable=wrong-import-position


@pytest.mark.parametrize("name, part", [
    ("bert/encoder/layer_0/attention/self/query/MatMul", "forward/encoder"),
    ("bert/embeddings/dropout/random_uniform/RandomUniform", "forward/encoder"),
    ("cls/predictions/transform/dense/MatMul", "forward/heads"),
    ("gradients/bert/encoder/layer_3/intermediate/Pow_grad/mul", "backward/encoder"),
    ("gradients/cls/seq_relationship/MatMul_grad/MatMul", "backward/heads"),
    ("AdamWeightDecayOptimizer/update_bert/embeddings/word_embeddings/mul_1", "optimizer"),
    ("clip_by_global_norm/mul_18", "optimizer"),
    ("global_step/add", "other"),
])
def test_model_part_of_op_names(name, part):
  assert profiler.model_part(name) == part


def test_profile_of_a_tiny_step_covers_every_part():
  """One traced step of a 2-layer model: all parts and the matmuls appear, and both sums are the same time."""
  config = modeling.BertConfig(vocab_size=200, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=32)
  batch = profiler.bench_pretraining.make_batch(config, batch_size=2, seq_length=16, num_predictions=3)
  wall, by_type, by_part = profiler.profile(config, batch, warmup_steps=1, timed_steps=1, traced_steps=1)
  assert wall > 0
  assert {"forward/encoder", "backward/encoder", "forward/heads", "backward/heads", "optimizer"} <= set(by_part)
  assert all(seconds >= 0 for seconds in by_part.values())
  assert any("MatMul" in op_type for op_type in by_type)
  assert sum(by_type.values()) == pytest.approx(sum(by_part.values()))
  assert "| optimizer |" in profiler.format_counter("part", by_part, top=10)
