"""bert/checkpoints.py: initialisation from a checkpoint (vocabulary extension, shape errors), config checks on
resume, interrupted saves."""
import os

import numpy as np
import pytest
import tensorflow as tf

from bert import checkpoints
from bert import estimator_utils
from bert.errors import UsageError

tf1 = tf.compat.v1


def _save_checkpoint(path, arrays):
  """Writes a checkpoint holding exactly `arrays` (name -> numpy array)."""
  with tf.Graph().as_default():
    for name, value in arrays.items():
      tf1.get_variable(name, initializer=tf.constant(value))
    saver = tf1.train.Saver()
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      return saver.save(session, path)


def _tiny_bert_checkpoint(output_dir, config, step=4):
  """A checkpoint in output_dir with the config-shaped BERT variables (model.ckpt-<step>) and its config."""
  hidden, inter = config["hidden_size"], config["intermediate_size"]
  arrays = {"bert/embeddings/word_embeddings": np.zeros([config["vocab_size"], hidden], np.float32),
            "bert/embeddings/position_embeddings": np.zeros([config["max_position_embeddings"], hidden],
                                                            np.float32),
            "bert/embeddings/token_type_embeddings": np.zeros([config["type_vocab_size"], hidden], np.float32)}
  for layer in range(config["num_hidden_layers"]):
    arrays["bert/encoder/layer_%d/intermediate/dense/kernel" % layer] = np.zeros([hidden, inter], np.float32)
  _save_checkpoint(os.path.join(str(output_dir), "model.ckpt-%d" % step), arrays)
  estimator_utils.write_run_metadata(str(output_dir), config, {})


TINY = {"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 16, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 16, "type_vocab_size": 2,
        "initializer_range": 0.02}


def test_resuming_with_another_config_is_refused_and_the_saved_config_kept(tmp_path):
  out = tmp_path / "out"
  _tiny_bert_checkpoint(out, TINY)
  saved = (out / "bert_config.json").read_text()
  estimator_utils.write_run_metadata(str(out), TINY, {"again": True})  # the same config resumes
  with pytest.raises(UsageError, match=r"^--output_dir .*/out holds checkpoints \(model.ckpt-4\) of another model "
                                       r"config: intermediate_size 16 there, 32 in --bert_config_file, "
                                       r"num_hidden_layers 2 there, 3 in --bert_config_file; resume with the "
                                       r"config they were made with \(.*/out/bert_config.json\) or use a new "
                                       r"--output_dir$"):
    estimator_utils.write_run_metadata(str(out), dict(TINY, intermediate_size=32, num_hidden_layers=3), {})
  assert (out / "bert_config.json").read_text() == saved
  # Fields that shape no variable are compared with the saved bert_config.json.
  with pytest.raises(UsageError, match=r"config: hidden_act gelu there, relu in --bert_config_file;"):
    estimator_utils.write_run_metadata(str(out), dict(TINY, hidden_act="relu"), {})
  # Without bert_config.json, the checkpoint's shapes still tell.
  os.remove(out / "bert_config.json")
  with pytest.raises(UsageError, match=r"config: vocab_size 30 there, 40 in --bert_config_file;"):
    estimator_utils.write_run_metadata(str(out), dict(TINY, vocab_size=40), {})
  assert not (out / "bert_config.json").exists()
  # No checkpoint yet: any config may start there.
  estimator_utils.write_run_metadata(str(tmp_path / "fresh"), dict(TINY, vocab_size=40), {})


def test_folders_of_interrupted_checkpoint_saves_are_removed(tmp_path, caplog):
  out = tmp_path / "out"
  _tiny_bert_checkpoint(out, TINY, step=20)
  (out / "model.ckpt-40_temp").mkdir()
  (out / "model.ckpt-40_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"partial")
  (out / "model.ckpt-60_temp_0123abcd").mkdir()  # older TensorFlow's name
  (out / "notes_temp").mkdir()  # not a checkpoint's: kept
  with caplog.at_level("INFO", logger="absl"):  # absl.logging may have been quietened by an earlier test
    estimator_utils.write_run_metadata(str(out), TINY, {})
  assert not (out / "model.ckpt-40_temp").exists() and not (out / "model.ckpt-60_temp_0123abcd").exists()
  assert (out / "notes_temp").exists() and tf.train.latest_checkpoint(str(out)).endswith("model.ckpt-20")
  assert "model.ckpt-40_temp, left by a checkpoint save that was interrupted" in caplog.text


def _init_and_read(checkpoint, shapes, use_tpu=False):
  """Builds variables of `shapes`, initialises them from `checkpoint`, returns their values."""
  with tf.Graph().as_default():
    variables = {name: tf1.get_variable(name, shape=shape, initializer=tf1.random_normal_initializer(10.0, 0.1))
                 for name, shape in shapes.items()}
    scaffold_fn = checkpoints.init_from_checkpoint(checkpoint, use_tpu=use_tpu)
    if use_tpu:
      assert callable(scaffold_fn)
      scaffold_fn()
    else:
      assert scaffold_fn is None
    with tf1.Session() as session:
      session.run(tf1.global_variables_initializer())
      return session.run(variables)


def test_init_from_checkpoint_restores_matching_variables_and_extends_the_vocab(tmp_path):
  rng = np.random.RandomState(0)
  saved = {"bert/embeddings/word_embeddings": rng.rand(6, 4).astype(np.float32),
           "cls/predictions/output_bias": rng.rand(6).astype(np.float32),
           "bert/pooler/dense/kernel": rng.rand(4, 4).astype(np.float32)}
  checkpoint = _save_checkpoint(str(tmp_path / "model.ckpt"), saved)
  for use_tpu in (False, True):
    values = _init_and_read(checkpoint, {"bert/embeddings/word_embeddings": [9, 4],
                                         "cls/predictions/output_bias": [9], "bert/pooler/dense/kernel": [4, 4],
                                         "cls/new_head/kernel": [4, 2]}, use_tpu=use_tpu)
    np.testing.assert_allclose(values["bert/pooler/dense/kernel"], saved["bert/pooler/dense/kernel"])
    # Old rows copied, new rows keep their own initialiser (mean 10 here), as resize_token_embeddings does.
    np.testing.assert_allclose(values["bert/embeddings/word_embeddings"][:6], saved["bert/embeddings/word_embeddings"])
    assert np.all(np.abs(values["bert/embeddings/word_embeddings"][6:] - 10.0) < 1.0)
    np.testing.assert_allclose(values["cls/predictions/output_bias"][:6], saved["cls/predictions/output_bias"])
    assert np.all(np.abs(values["cls/predictions/output_bias"][6:] - 10.0) < 1.0)
    assert np.all(np.abs(values["cls/new_head/kernel"] - 10.0) < 1.0)


def test_init_from_checkpoint_accepts_a_directory(tmp_path):
  saved = {"bert/pooler/dense/bias": np.arange(3, dtype=np.float32)}
  _save_checkpoint(str(tmp_path / "model.ckpt"), saved)
  values = _init_and_read(str(tmp_path), {"bert/pooler/dense/bias": [3]})
  np.testing.assert_allclose(values["bert/pooler/dense/bias"], [0, 1, 2])


def test_smaller_vocab_than_checkpoint_is_a_usage_error(tmp_path):
  checkpoint = _save_checkpoint(str(tmp_path / "model.ckpt"),
                                {"bert/embeddings/word_embeddings": np.zeros((8, 4), np.float32)})
  with pytest.raises(UsageError, match=r"vocabulary of 8 tokens.*vocab_size is 5"):
    _init_and_read(checkpoint, {"bert/embeddings/word_embeddings": [5, 4]})


def test_other_shape_mismatches_are_listed(tmp_path):
  checkpoint = _save_checkpoint(str(tmp_path / "model.ckpt"), {
      "bert/embeddings/word_embeddings": np.zeros((8, 4), np.float32),
      "bert/encoder/layer_0/output/dense/kernel": np.zeros((4, 4), np.float32),
      "bert/pooler/dense/bias": np.zeros((4,), np.float32)})
  with pytest.raises(UsageError) as error:
    _init_and_read(checkpoint, {"bert/embeddings/word_embeddings": [8, 6],
                                "bert/encoder/layer_0/output/dense/kernel": [6, 6],
                                "bert/pooler/dense/bias": [4]})
  message = str(error.value)
  assert "2 variable(s) differ" in message
  assert "bert/embeddings/word_embeddings: checkpoint [8, 4] vs model [8, 6]" in message
  assert "bert/encoder/layer_0/output/dense/kernel: checkpoint [4, 4] vs model [6, 6]" in message
  assert "pooler" not in message


def test_missing_init_checkpoint_is_a_usage_error(tmp_path):
  with pytest.raises(UsageError, match="no checkpoint there"):
    _init_and_read(str(tmp_path / "nothing.ckpt"), {"bert/pooler/dense/bias": [3]})


