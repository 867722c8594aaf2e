"""Tests for bert/vocab_builder.py and build_vocab.py."""
import subprocess
import sys

import pytest

import tokenization
from bert import vocab_builder
from bert.errors import UsageError
from conftest import ROOT, shared_path

CORPUS = [
    "北京大学的研究生在研究生命科学。",
    "今天天气很好，我们去公园散步吧！",
    "BERT模型在2018年发布，Transformer结构非常流行。",
    "Café au lait costs 3.50 euros; naïve résumé.",
    "Hello World, hello again: the WORLD is big.",
    "数字1234和字母abc混合在一起，还有符号@#%&*()。",
    "",
    "機器學習與深度學習（繁體中文）也應該被覆蓋。",
    "emoji 😀 and 𠀀 (CJK extension B) are characters too",
]


def write_corpus(tmp_path, lines=CORPUS, name="corpus.txt"):
  path = tmp_path / name
  path.write_text("\n".join(lines) + "\n", encoding="utf-8")
  return str(path)


def assert_no_unk_for_present_characters(vocab_file, lines, do_lower_case=True):
  """Every token FullTokenizer produces from the training text is in the vocabulary and is not [UNK]."""
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=do_lower_case)
  total = 0
  for line in lines:
    tokens = tokenizer.tokenize(line)
    assert "[UNK]" not in tokens, (line, tokens)
    total += len(tokens)
  assert total > 0


def test_reserved_tokens_come_first_in_order(tmp_path):
  corpus = write_corpus(tmp_path)
  tokens = vocab_builder.train_vocab([corpus], vocab_size=400, num_unused_tokens=3, extra_tokens=["<S>", "<T>"])
  assert tokens[:10] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]", "[unused2]",
                         "<S>", "<T>"]
  assert len(tokens) == len(set(tokens))
  # Learned pieces follow: single characters of the text and ## continuations.
  assert "北" in tokens and "##e" in tokens


def test_vocab_size_is_respected_when_the_corpus_is_rich_enough(tmp_path):
  corpus = write_corpus(tmp_path, CORPUS * 5)
  tokens = vocab_builder.train_vocab([corpus], vocab_size=200, min_frequency=1)
  assert len(tokens) == 200
  # Characters are never dropped to meet a size below the alphabet: the vocabulary grows instead.
  alphabet_only = vocab_builder.train_vocab([corpus], vocab_size=100, min_frequency=1)
  assert len(alphabet_only) > 100 and "😀" in alphabet_only and "𠀀" in alphabet_only


def test_default_size_is_googles_chinese_vocab_size():
  assert vocab_builder.DEFAULT_VOCAB_SIZE == 21128


def test_training_text_never_tokenizes_to_unk(tmp_path):
  corpus = write_corpus(tmp_path)
  tokens = vocab_builder.train_vocab([corpus], vocab_size=400)
  vocab_file = str(tmp_path / "vocab.txt")
  vocab_builder.write_vocab(tokens, vocab_file)
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
  assert tokenizer.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]) == [0, 1, 2, 3, 4]
  assert_no_unk_for_present_characters(vocab_file, CORPUS)
  # CJK characters are split one per token, exactly as the BERT scripts will see them.
  assert tokenizer.tokenize("研究生命") == ["研", "究", "生", "命"]
  # A character absent from the training text is unknown, so the check above is not vacuous.
  assert tokenizer.tokenize("鑫") == ["[UNK]"]


def test_real_chinese_text_never_tokenizes_to_unk(tmp_path):
  news = shared_path("pretrain_zh", "news_zh_1.txt")
  lines = news.read_text(encoding="utf-8").splitlines()
  tokens = vocab_builder.train_vocab([str(news)], vocab_size=3000)
  vocab_file = str(tmp_path / "vocab.txt")
  vocab_builder.write_vocab(tokens, vocab_file)
  assert_no_unk_for_present_characters(vocab_file, lines)


def test_cased_vocab_keeps_case_and_accents(tmp_path):
  corpus = write_corpus(tmp_path)
  cased = vocab_builder.train_vocab([corpus], vocab_size=400, do_lower_case=False)
  assert "H" in cased and "W" in cased and "##é" in cased
  vocab_file = str(tmp_path / "cased.txt")
  vocab_builder.write_vocab(cased, vocab_file)
  assert_no_unk_for_present_characters(vocab_file, CORPUS, do_lower_case=False)

  lowered = vocab_builder.train_vocab([corpus], vocab_size=400, do_lower_case=True)
  assert "H" not in lowered and "W" not in lowered
  assert not any("é" in token for token in lowered)  # accents stripped with lower-casing (Google's behaviour)

  lower_keep_accents = vocab_builder.train_vocab([corpus], vocab_size=400, do_lower_case=True, strip_accents=False)
  assert "H" not in lower_keep_accents and any("é" in token for token in lower_keep_accents)


def test_bad_reserved_tokens_and_sizes(tmp_path):
  corpus = write_corpus(tmp_path)
  with pytest.raises(UsageError, match="twice"):
    vocab_builder.train_vocab([corpus], extra_tokens=["[CLS]"])
  with pytest.raises(UsageError, match="whitespace"):
    vocab_builder.reserved_tokens(extra_tokens=["a b"])
  with pytest.raises(UsageError, match="no room"):
    vocab_builder.train_vocab([corpus], vocab_size=5)
  empty = tmp_path / "empty.txt"
  empty.write_text("\n\n", encoding="utf-8")
  with pytest.raises(UsageError, match="no text"):
    vocab_builder.train_vocab([str(empty)], vocab_size=100)
  with pytest.raises(UsageError, match="matches no file"):
    vocab_builder.expand_input_files(str(tmp_path / "missing*.txt"))


def test_expand_input_files_accepts_commas_and_globs(tmp_path):
  a = write_corpus(tmp_path, name="a.txt")
  b = write_corpus(tmp_path, name="b.txt")
  assert vocab_builder.expand_input_files("%s,%s" % (b, a)) == [b, a]
  assert vocab_builder.expand_input_files(str(tmp_path / "*.txt")) == [a, b]


def run_script(*args):
  return subprocess.run([sys.executable, str(ROOT / "build_vocab.py")] + list(args), cwd=str(ROOT),
                        capture_output=True, text=True, timeout=120)


def test_script_writes_vocab_readable_by_full_tokenizer(tmp_path):
  corpus = write_corpus(tmp_path, CORPUS * 5)
  output = tmp_path / "out" / "vocab.txt"
  result = run_script("--input_file=" + corpus, "--output_file=" + str(output), "--vocab_size=200",
                      "--min_frequency=1", "--num_unused_tokens=2", "--extra_tokens=<S>,<T>")
  assert result.returncode == 0, result.stderr
  lines = output.read_text(encoding="utf-8").splitlines()
  assert lines[:9] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]", "<S>", "<T>"]
  assert len(lines) == 200
  assert_no_unk_for_present_characters(str(output), CORPUS)


def test_script_reports_missing_input_in_one_line(tmp_path):
  result = run_script("--input_file=" + str(tmp_path / "nope.txt"), "--output_file=" + str(tmp_path / "v.txt"))
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == "error: --input_file %s matches no file" % (tmp_path / "nope.txt")
  assert "Traceback" not in result.stderr
  assert not (tmp_path / "v.txt").exists()
