"""Shared test fixtures: project paths, ../shared/data access, quiet TensorFlow."""
import os
import pathlib

import pytest

# Quiet TensorFlow and keep each pytest-xdist worker to one core's worth of threads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# sentence-transformers sets TF_USE_LEGACY_KERAS=1 on import, after which tf.estimator cannot load (no tf_keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "0")

ROOT = pathlib.Path(__file__).resolve().parents[1]
ZH_VOCAB = ROOT / "vocab" / "zh_vocab.txt"
EN_VOCAB = ROOT / "vocab" / "en_uncased_vocab.txt"
CONFIGS = ROOT / "configs"
SHARED_DATA = pathlib.Path(os.environ.get("BERT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts):
  """Returns a path under ../shared/data, or skips the calling test with the reason when it is absent."""
  path = SHARED_DATA.joinpath(*parts)
  if not path.exists():
    pytest.skip("needs ../shared/data (%s is absent); CI has it" % path)
  return path


@pytest.fixture
def zh_vocab():
  return str(ZH_VOCAB)


@pytest.fixture
def en_vocab():
  return str(EN_VOCAB)


@pytest.fixture(scope="session")
def zh_tokenizer():
  """FullTokenizer over the shipped Chinese vocabulary, lower-casing (Google's default)."""
  import tokenization
  return tokenization.FullTokenizer(str(ZH_VOCAB), do_lower_case=True)


@pytest.fixture(scope="session")
def en_tokenizer():
  """FullTokenizer over the shipped English uncased vocabulary."""
  import tokenization
  return tokenization.FullTokenizer(str(EN_VOCAB), do_lower_case=True)
