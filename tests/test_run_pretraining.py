"""Tests for run_pretraining.py / bert.pretraining.run: training, evaluation, resume, checkpoint contract."""
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format

from bert import estimator_utils
from bert.pretraining import run as pretraining_run
from bert.errors import UsageError
from conftest import ROOT
from pretraining_fixtures import TINY_CONFIG, write_config, write_records

SEQ, PRED = 32, 5


def _args(tmp_path, **overrides):
  values = dict(output_dir=str(tmp_path / "out"), max_seq_length=SEQ, max_predictions_per_seq=PRED,
                train_batch_size=8, eval_batch_size=8, learning_rate=1e-3, num_train_steps=4, num_warmup_steps=1,
                do_train=True)
  values.update(overrides)
  if "bert_config_file" not in values:
    values["bert_config_file"] = write_config(tmp_path / "bert_config.json")
  if "input_file" not in values:
    values["input_file"] = write_records(tmp_path / "default_train.tfrecord", 64)
  return pretraining_run.PretrainingArgs(**values)


def _options(**overrides):
  values = dict(save_checkpoints_steps=1000, log_every_n_steps=1000, tf_random_seed=1)
  values.update(overrides)
  return estimator_utils.RunOptions(**values)


def _googles_variables(config):
  """Name -> shape of every variable of Google's pretraining checkpoint for `config` (DESIGN.md), with the
  AdamWeightDecayOptimizer slots and global_step."""
  hidden, inter, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
  weights = {
      "bert/embeddings/word_embeddings": [vocab, hidden],
      "bert/embeddings/token_type_embeddings": [config["type_vocab_size"], hidden],
      "bert/embeddings/position_embeddings": [config["max_position_embeddings"], hidden],
      "bert/embeddings/LayerNorm/beta": [hidden], "bert/embeddings/LayerNorm/gamma": [hidden],
      "bert/pooler/dense/kernel": [hidden, hidden], "bert/pooler/dense/bias": [hidden],
      "cls/predictions/transform/dense/kernel": [hidden, hidden],
      "cls/predictions/transform/dense/bias": [hidden],
      "cls/predictions/transform/LayerNorm/beta": [hidden],
      "cls/predictions/transform/LayerNorm/gamma": [hidden],
      "cls/predictions/output_bias": [vocab],
      "cls/seq_relationship/output_weights": [2, hidden], "cls/seq_relationship/output_bias": [2],
  }
  for layer in range(config["num_hidden_layers"]):
    prefix = "bert/encoder/layer_%d/" % layer
    for part in ("query", "key", "value"):
      weights[prefix + "attention/self/%s/kernel" % part] = [hidden, hidden]
      weights[prefix + "attention/self/%s/bias" % part] = [hidden]
    weights[prefix + "attention/output/dense/kernel"] = [hidden, hidden]
    weights[prefix + "attention/output/dense/bias"] = [hidden]
    weights[prefix + "intermediate/dense/kernel"] = [hidden, inter]
    weights[prefix + "intermediate/dense/bias"] = [inter]
    weights[prefix + "output/dense/kernel"] = [inter, hidden]
    weights[prefix + "output/dense/bias"] = [hidden]
    for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
      weights[prefix + norm + "/beta"] = [hidden]
      weights[prefix + norm + "/gamma"] = [hidden]
  expected = dict(weights)
  for name, shape in weights.items():
    expected[name + "/adam_m"] = shape
    expected[name + "/adam_v"] = shape
  expected["global_step"] = []
  return expected


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  """A 4-step run with held-out eval, shared by the contract tests."""
  tmp_path = tmp_path_factory.mktemp("trained")
  args = _args(tmp_path, do_eval=True, eval_input_file=write_records(tmp_path / "eval.tfrecord", 20, seed=7))
  result = pretraining_run.run(args, _options(), {"note": "from test"})
  return args, result


def test_checkpoint_has_exactly_googles_variable_names_and_shapes(trained_run):
  args, _ = trained_run
  checkpoint = tf.train.latest_checkpoint(args.output_dir)
  assert checkpoint.endswith("model.ckpt-4")
  assert dict(tf.train.list_variables(checkpoint)) == _googles_variables(TINY_CONFIG)


def test_eval_writes_googles_metrics_and_run_metadata(trained_run):
  args, result = trained_run
  lines = open(os.path.join(args.output_dir, "eval_results.txt")).read().splitlines()
  keys = [line.split(" = ")[0] for line in lines]
  assert keys == ["global_step", "loss", "masked_lm_accuracy", "masked_lm_loss", "next_sentence_accuracy",
                  "next_sentence_loss"]
  values = {line.split(" = ")[0]: float(line.split(" = ")[1]) for line in lines}
  assert values["global_step"] == 4 and 0 <= values["masked_lm_accuracy"] <= 1
  assert values["masked_lm_loss"] == pytest.approx(result["masked_lm_loss"])
  # The untrained model is near the uniform guess over the vocabulary: loss ~ ln(120).
  assert 3.0 < values["masked_lm_loss"] < 6.0
  assert json.load(open(os.path.join(args.output_dir, "bert_config.json")))["vocab_size"] == 120
  assert json.load(open(os.path.join(args.output_dir, "run_flags.json"))) == {"note": "from test"}


def test_transformers_loads_the_checkpoint_with_the_same_masked_lm_logits(trained_run):
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  args, _ = trained_run
  checkpoint = tf.train.latest_checkpoint(args.output_dir)
  # Our predictions on the eval file (PREDICT mode: log-probabilities at the masked positions).
  from bert import modeling
  from bert.pretraining import data as pretraining_input
  from bert.pretraining import model as pretraining_model
  config = modeling.BertConfig.from_json_file(args.bert_config_file)
  options = _options()
  model_fn = pretraining_model.model_fn_builder(config, None, 1e-3, 4, 1, options, args.output_dir)
  estimator = estimator_utils.build_estimator(model_fn, options, args.output_dir, 8, predict_batch_size=4)
  record_format = pretraining_input.check_record_format(args.eval_input_file, SEQ, PRED)
  input_fn = pretraining_input.input_fn_builder([args.eval_input_file], SEQ, PRED, False, record_format,
                                                repeat_eval=False)
  batch = next(input_fn({"batch_size": 4}).as_numpy_iterator())
  ours = [p["masked_lm_log_probs"] for p in estimator.predict(input_fn, checkpoint_path=checkpoint,
                                                              yield_single_examples=True)][:4]

  hf_config = transformers.BertConfig(**dict(TINY_CONFIG, hidden_act="gelu_new"))
  model = transformers.BertForPreTraining(hf_config)
  transformers.load_tf_weights_in_bert(model, hf_config, checkpoint)
  model.eval()
  with torch.no_grad():
    output = model(input_ids=torch.tensor(batch["input_ids"], dtype=torch.long),
                   attention_mask=torch.tensor(batch["input_mask"], dtype=torch.long),
                   token_type_ids=torch.tensor(batch["segment_ids"], dtype=torch.long))
  logits = output.prediction_logits.numpy()
  for row in range(4):
    hf_log_probs = torch.log_softmax(torch.tensor(logits[row, batch["masked_lm_positions"][row]]), -1).numpy()
    np.testing.assert_allclose(ours[row], hf_log_probs, atol=1e-4)


def test_no_nsp_training_learns_the_masked_tokens(tmp_path):
  # Every masked token is id 110: any model that learns gets them right; records carry no NSP labels.
  args = _args(tmp_path, input_file=write_records(tmp_path / "train.tfrecord", 64, label_id=110, with_nsp=False),
               eval_input_file=write_records(tmp_path / "eval.tfrecord", 16, seed=2, label_id=110, with_nsp=False), do_eval=True,
               no_nsp=True, num_train_steps=30, learning_rate=5e-3, num_warmup_steps=3)
  result = pretraining_run.run(args, _options())
  assert result["masked_lm_accuracy"] > 0.95
  assert "next_sentence_accuracy" not in result


def test_eval_only_needs_a_checkpoint(tmp_path):
  with pytest.raises(UsageError, match="--do_eval without --do_train .* has none"):
    pretraining_run.run(_args(tmp_path, do_train=False, do_eval=True), _options())


def test_eval_only_evaluates_the_existing_checkpoint(trained_run):
  source, result = trained_run
  again = pretraining_run.run(dataclasses.replace(source, do_train=False), _options())
  assert again["global_step"] == 4
  assert again["masked_lm_loss"] == pytest.approx(result["masked_lm_loss"], rel=1e-5)


def test_records_without_nsp_labels_need_no_nsp(tmp_path):
  args = _args(tmp_path, input_file=write_records(tmp_path / "t.tfrecord", 4, with_nsp=False))
  with pytest.raises(UsageError, match="pass --no_nsp"):
    pretraining_run.run(args, _options())


def test_continued_pretraining_with_a_larger_vocab_copies_the_old_rows(trained_run, tmp_path):
  source, _ = trained_run
  checkpoint = tf.train.latest_checkpoint(source.output_dir)
  args = _args(tmp_path, bert_config_file=write_config(tmp_path / "big.json", vocab_size=130),
               init_checkpoint=source.output_dir, num_train_steps=1)
  pretraining_run.run(args, _options())
  start = os.path.join(args.output_dir, "model.ckpt-0")  # the initial values, before the first update
  old = tf.train.load_variable(checkpoint, "bert/embeddings/word_embeddings")
  new = tf.train.load_variable(start, "bert/embeddings/word_embeddings")
  assert new.shape == (130, TINY_CONFIG["hidden_size"])
  np.testing.assert_array_equal(new[:120], old)
  assert 0 < np.std(new[120:]) < 0.05  # freshly initialised (truncated normal, stddev 0.02)
  np.testing.assert_array_equal(tf.train.load_variable(start, "cls/predictions/output_bias")[:120],
                                tf.train.load_variable(checkpoint, "cls/predictions/output_bias"))
  smaller = tmp_path / "smaller"
  smaller.mkdir()
  # (Records whose ids fit the smaller vocabulary: ids beyond vocab_size are refused before the checkpoint.)
  with pytest.raises(UsageError, match="vocabulary of 120 tokens .* vocab_size is 110"):
    pretraining_run.run(_args(smaller, bert_config_file=write_config(smaller / "small.json", vocab_size=110),
                              input_file=write_records(smaller / "t.tfrecord", 8, vocab_size=110),
                              init_checkpoint=checkpoint, num_train_steps=1), _options())

def _script(args, **kwargs):
  """Runs run_pretraining.py in a subprocess; returns CompletedProcess (or Popen with popen=True)."""
  command = [sys.executable, str(ROOT / "run_pretraining.py")] + args
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.run(command, cwd=str(ROOT), capture_output=True, text=True, env=env, **kwargs)


def test_script_reports_bad_input_in_one_line(tmp_path):
  config = write_config(tmp_path / "c.json")
  records = write_records(tmp_path / "t.tfrecord", 2)
  common = ["--bert_config_file=" + config, "--output_dir=" + str(tmp_path / "out"), "--do_train",
            "--max_predictions_per_seq=%d" % PRED]
  missing = _script(common + ["--input_file=%s/nothing_*.tfrecord" % tmp_path, "--max_seq_length=32"])
  assert missing.returncode == 1
  assert missing.stderr.strip().splitlines()[-1] == "error: --input_file %s/nothing_*.tfrecord matches no file" % tmp_path
  assert "Traceback" not in missing.stderr
  wrong_length = _script(common + ["--input_file=" + records, "--max_seq_length=64"])
  assert wrong_length.returncode == 1
  assert wrong_length.stderr.strip().splitlines()[-1] == (
      "error: --input_file %s: feature input_ids has 32 values per record but --max_seq_length=64; rerun with "
      "--max_seq_length=32 or recreate the data" % records)
  assert "Traceback" not in wrong_length.stderr
  # Every input file is checked before training, not only the first one.
  (tmp_path / "notes.txt").write_text("这不是 TFRecord 文件\n" * 20)
  later_text = _script(common + ["--input_file=%s,%s/notes.txt" % (records, tmp_path), "--max_seq_length=32"])
  assert later_text.returncode == 1
  assert re.fullmatch(r"error: --input_file %s/notes.txt is not a readable TFRecord file: .*" % tmp_path,
                      later_text.stderr.strip().splitlines()[-1])
  assert "Traceback" not in later_text.stderr
  # Ids the model's embedding table does not have (records made with a larger vocabulary).
  small_vocab = _script(["--bert_config_file=" + write_config(tmp_path / "small.json", vocab_size=104)] +
                        common[1:] + ["--input_file=" + records, "--max_seq_length=32"])
  assert small_vocab.returncode == 1
  assert re.fullmatch(r"error: --input_file %s: the records hold token id 1[01]\d but vocab_size in "
                      r"--bert_config_file is 104 \(data made with a larger vocabulary\?\)" % records,
                      small_vocab.stderr.strip().splitlines()[-1])
  assert not os.path.exists(tmp_path / "out")


def _latest_step(output_dir):
  latest = tf.train.latest_checkpoint(output_dir)
  return int(latest.rsplit("-", 1)[1]) if latest else None


def _interrupted_saves(output_dir, min_step=0):
  """The temporary folders of checkpoint saves in progress (or killed): model.ckpt-N_temp/, N >= min_step."""
  try:
    names = os.listdir(output_dir)
  except FileNotFoundError:
    return []
  return [name for name in names
          if re.fullmatch(r"model\.ckpt-\d+_temp.*", name) and int(re.findall(r"\d+", name)[0]) >= min_step]


def test_kill_during_a_checkpoint_save_then_rerun_resumes_and_finishes(tmp_path):
  steps = 800
  config = write_config(tmp_path / "c.json")
  records = write_records(tmp_path / "t.tfrecord", 64)
  out = str(tmp_path / "out")
  argv = ["--bert_config_file=" + config, "--input_file=" + records, "--output_dir=" + out, "--do_train",
          "--max_seq_length=32", "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=4",
          "--num_train_steps=%d" % steps, "--num_warmup_steps=10", "--learning_rate=1e-3",
          "--save_checkpoints_steps=20", "--log_every_n_steps=1"]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  process = subprocess.Popen([sys.executable, str(ROOT / "run_pretraining.py")] + argv, cwd=str(ROOT), env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    # SIGKILL the moment a save's temporary folder shows up (mid-save), from the third save on (step 0 is the
    # first) so that a checkpoint to resume from exists; saves of this tiny model are quick, so give up
    # waiting once a few checkpoints exist.
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None and not _interrupted_saves(out, min_step=40):
      if (_latest_step(out) or 0) >= 100:
        break
      time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
  finally:
    process.wait()
  assert process.returncode == -signal.SIGKILL
  killed_at = _latest_step(out)
  assert killed_at is not None and 20 <= killed_at < steps
  leftovers = _interrupted_saves(out)
  if not leftovers:
    # Not caught mid-save: leave what such a kill leaves, the next save's temporary folder with a partial file.
    leftovers = ["model.ckpt-%d_temp" % (killed_at + 20)]
    os.makedirs(os.path.join(out, leftovers[0]))
    with open(os.path.join(out, leftovers[0], "part-00000-of-00001.data-00000-of-00001"), "wb") as handle:
      handle.write(b"partial")

  rerun = _script(argv)
  assert rerun.returncode == 0, rerun.stderr[-2000:]
  assert _latest_step(out) == steps
  assert tf.train.load_variable(os.path.join(out, "model.ckpt-%d" % steps), "global_step") == steps
  assert not _interrupted_saves(out)
  for leftover in leftovers:
    assert "Removed %s, left by a checkpoint save that was interrupted" % os.path.join(out, leftover) in rerun.stderr
  progress = [line.split() for line in rerun.stderr.splitlines() if line.startswith("step ")]
  # The rerun starts right after the last checkpoint, with the learning rate of that point of the schedule.
  first = progress[0]
  assert first[1] == "%d/%d" % (killed_at + 1, steps)
  lr_index = first.index("learning_rate") + 1
  assert float(first[lr_index]) == pytest.approx(1e-3 * (1 - killed_at / steps), rel=1e-2)
  assert progress[-1][1] == "%d/%d" % (steps, steps)


def test_resuming_with_another_config_is_one_line_before_any_step(trained_run, tmp_path):
  source, _ = trained_run
  out = tmp_path / "out"
  shutil.copytree(source.output_dir, out)
  saved = (out / "bert_config.json").read_text()
  argv = ["--bert_config_file=" + write_config(tmp_path / "wider.json", intermediate_size=128),
          "--input_file=" + source.input_file, "--output_dir=%s" % out, "--do_train", "--max_seq_length=%d" % SEQ,
          "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=8", "--num_train_steps=8",
          "--log_every_n_steps=1"]
  result = _script(argv)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
      "error: --output_dir %s holds checkpoints (model.ckpt-4) of another model config: intermediate_size 64 "
      "there, 128 in --bert_config_file; resume with the config they were made with (%s/bert_config.json) or "
      "use a new --output_dir" % (out, out))
  assert "Traceback" not in result.stderr and not re.search(r"^step ", result.stderr, re.M)
  assert (out / "bert_config.json").read_text() == saved
  assert _latest_step(str(out)) == 4


def _corrupt_middle(path):
  data = bytearray(open(path, "rb").read())
  data[len(data) // 2] ^= 0xFF
  open(path, "wb").write(bytes(data))
  return path


def _write_examples(path, vocab_sizes, seed=0):
  """One record per entry of vocab_sizes, its ids drawn below that size."""
  import pretraining_fixtures
  rng = np.random.RandomState(seed)
  with tf.io.TFRecordWriter(str(path)) as writer:
    for vocab_size in vocab_sizes:
      writer.write(pretraining_fixtures.make_example(rng, SEQ, PRED, vocab_size).SerializeToString())
  return str(path)


def test_data_errors_during_training_are_one_line_naming_the_file(tmp_path):
  # A corrupt record in the middle of a file whose first record is fine.
  good = write_records(tmp_path / "good.tfrecord", 16)
  corrupt = _corrupt_middle(write_records(tmp_path / "corrupt.tfrecord", 64, seed=1))
  with pytest.raises(UsageError, match=r"^--input_file one of %s, %s: a record is corrupt or truncated \(corrupted "
                                       r"record at \d+\); recreate or leave out that file$" % (good, corrupt)):
    pretraining_run.run(_args(tmp_path, input_file="%s,%s" % (good, corrupt), output_dir=str(tmp_path / "o1")),
                        _options())
  # Records after the first one hold ids beyond vocab_size: caught in the pipeline (never an embedding
  # lookup of a row that does not exist, which on GPU would silently read garbage).
  later = _write_examples(tmp_path / "later.tfrecord", [110] + [130] * 63)
  with pytest.raises(UsageError, match=r"^--input_file %s: the records hold token id 1[1-2]\d but vocab_size in "
                                       r"--bert_config_file is 110 \(data made with a larger vocabulary\?\)$" % later):
    pretraining_run.run(_args(tmp_path, input_file=later, output_dir=str(tmp_path / "o2"),
                              bert_config_file=write_config(tmp_path / "c110.json", vocab_size=110)), _options())


# build_vocab.py's layout: the five specials first ([MASK] = 4), [unusedN] slots, then WordPieces.
_CHARS = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学"


def _build_vocab_style_vocab(path):
  tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"]
  tokens += list(_CHARS) + ["##" + char for char in _CHARS]
  path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
  return {token: index for index, token in enumerate(tokens)}


def _dynamic_masking_records(tmp_path):
  """create_pretraining_data.py --dynamic_masking over a small corpus with a build_vocab-style vocabulary."""
  vocab = _build_vocab_style_vocab(tmp_path / "vocab.txt")
  rng = np.random.RandomState(0)
  documents = ["\n".join("".join(rng.choice(list(_CHARS), size=rng.randint(8, 20))) for _ in range(4))
               for _ in range(12)]
  (tmp_path / "corpus.txt").write_text("\n\n".join(documents) + "\n", encoding="utf-8")
  records = tmp_path / "data" / "dyn.tfrecord"
  records.parent.mkdir()
  command = [sys.executable, str(ROOT / "create_pretraining_data.py"), "--input_file=%s" % (tmp_path / "corpus.txt"),
             "--output_file=%s" % records, "--vocab_file=%s" % (tmp_path / "vocab.txt"), "--dynamic_masking",
             "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PRED, "--dupe_factor=2",
             "--num_workers=1", "--noprogress"]
  result = subprocess.run(command, cwd=str(ROOT), capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
  return vocab, str(records)


def test_pretraining_dynamic_masking_uses_the_mask_and_tokens_of_the_records_vocabulary(tmp_path, monkeypatch):
  vocab, records = _dynamic_masking_records(tmp_path)
  from bert.pretraining import data as pretraining_input
  built = []
  original_builder = pretraining_input.input_fn_builder
  monkeypatch.setattr(pretraining_input, "input_fn_builder",
                      lambda *args, **kwargs: built.append(original_builder(*args, **kwargs)) or built[-1])
  # No --vocab_file: the stats JSON beside the records names the vocabulary they were made with.
  pretraining_run.run(_args(tmp_path, input_file=records, num_train_steps=1), _options())
  candidates = {index for token, index in vocab.items() if token in _CHARS}
  kinds = {"mask": 0, "keep": 0, "random": 0}
  for batch in built[0]({"batch_size": 8}).take(20).as_numpy_iterator():
    for row in range(8):
      for slot in np.flatnonzero(batch["masked_lm_weights"][row]):
        new = batch["input_ids"][row, batch["masked_lm_positions"][row, slot]]
        label = batch["masked_lm_ids"][row, slot]
        kind = "mask" if new == vocab["[MASK]"] else "keep" if new == label else "random"
        kinds[kind] += 1
        # A random replacement is an ordinary token: never 103, a special, an [unusedN] or a ## piece.
        assert kind != "random" or new in candidates, new
  total = sum(kinds.values())
  assert 0.7 < kinds["mask"] / total < 0.9 and kinds["random"] > 0, kinds

  # --vocab_file must agree with the vocabulary recorded beside the records.
  with pytest.raises(UsageError, match=r"^--vocab_file .*zh_vocab.txt \(\d+ tokens\) is not the vocabulary "
                                       r"--input_file was made with \(.*/vocab.txt, %d tokens, per "
                                       r".*/dyn.tfrecord.stats.json\)$" % len(vocab)):
    pretraining_run.run(_args(tmp_path, input_file=records, vocab_file=str(ROOT / "vocab" / "zh_vocab.txt"),
                              output_dir=str(tmp_path / "o2")), _options())
  # Neither a stats JSON nor --vocab_file: no guessing.
  os.rename(records + ".stats.json", str(tmp_path / "moved.stats.json"))
  with pytest.raises(UsageError, match=r"^--input_file .*/dyn.tfrecord holds dynamic-masking records \(word_ids\) "
                                       r"and no .stats.json beside them records their vocabulary: pass "
                                       r"--vocab_file"):
    pretraining_run.run(_args(tmp_path, input_file=records, output_dir=str(tmp_path / "o3")), _options())
  from bert.pretraining import dynamic_masking
  given = dynamic_masking.resolve_masking_vocab([records], str(tmp_path / "vocab.txt"), 120)
  assert given.mask_id == 4 and set(given.replacement_ids) == candidates


def _xla_compiled_node_names(graph_path):
  graph = text_format.Parse(open(graph_path).read(), tf.compat.v1.GraphDef())
  return [node.name for node in graph.node if node.attr["_XlaCompile"].b]

def test_use_xla_compiles_the_model_and_matches_the_plain_run(trained_run, tmp_path):
  source, _ = trained_run
  results = {}
  for use_xla in (False, True):
    run_dir = tmp_path / ("xla" if use_xla else "plain")
    run_dir.mkdir()
    # No dropout and the same starting checkpoint: both runs compute the same function.
    args = _args(run_dir, bert_config_file=write_config(run_dir / "c.json", hidden_dropout_prob=0.0,
                                                        attention_probs_dropout_prob=0.0),
                 input_file=source.input_file, eval_input_file=source.eval_input_file,
                 init_checkpoint=source.output_dir, num_train_steps=2, do_eval=True)
    results[use_xla] = pretraining_run.run(args, _options(use_xla=use_xla))
    compiled = _xla_compiled_node_names(os.path.join(args.output_dir, "graph.pbtxt"))
    assert bool(compiled) == use_xla
    # The optimizer's update is in the same XLA scope as the model, so its elementwise ops are fused too.
    assert any("/update_bert/" in name for name in compiled) == use_xla
  # Losses, not accuracies: the barely trained model has near-ties whose argmax float rounding may flip.
  for key in ("loss", "masked_lm_loss", "next_sentence_loss"):
    assert results[True][key] == pytest.approx(results[False][key], abs=1e-3)


GOOGLES_FLAGS = {
    "bert_config_file": None, "input_file": None, "output_dir": None, "init_checkpoint": None,
    "max_seq_length": 128, "max_predictions_per_seq": 20, "do_train": False, "do_eval": False,
    "train_batch_size": 32, "eval_batch_size": 8, "learning_rate": 5e-05, "num_train_steps": 100000,
    "num_warmup_steps": 10000, "save_checkpoints_steps": 1000, "iterations_per_loop": 1000, "max_eval_steps": 100,
    "use_tpu": False, "tpu_name": None, "tpu_zone": None, "gcp_project": None, "master": None, "num_tpu_cores": 8,
}


def test_script_keeps_googles_flags_and_defaults():
  # In a subprocess: importing the script here would define its flags in this process's global FLAGS.
  code = ("import json, sys; sys.argv = ['run_pretraining.py']; import run_pretraining; from absl import flags; "
          "print(json.dumps({name: flags.FLAGS[name].default for name in %r}))" % sorted(GOOGLES_FLAGS))
  result = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  assert result.returncode == 0, result.stderr[-2000:]
  assert json.loads(result.stdout.strip().splitlines()[-1]) == GOOGLES_FLAGS
