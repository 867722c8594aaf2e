"""The shared model_fn skeleton (bert/model_fn.py): every stage's model_fn is built by it, logs the same
progress scalars, counts examples/s one way, and refuses the modes it lacks."""
import pytest
import tensorflow as tf

from bert.classifier import model as classifier_model
from bert import progress
from bert import estimator_utils
from bert import model_fn as model_fn_lib
from bert import modeling
from bert.pretraining import model as pretraining_model
from bert.squad import model as squad_model
from bert.sentence_embedding import model as sentence_model

BATCH, SEQ, PREDS = 2, 8, 3
CONFIG = modeling.BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=32, max_position_embeddings=SEQ)


def _ints(*shape):
  return tf.zeros(shape, tf.int32)


def _encoder_inputs(suffix=""):
  return {"input_ids" + suffix: _ints(BATCH, SEQ), "input_mask" + suffix: tf.ones([BATCH, SEQ], tf.int32)}


def _stage(name, options, output_dir):
  """(model_fn, features) of one stage on the tiny config."""
  schedule = (1e-3, 10, 1)
  if name == "pretraining":
    features = dict(_encoder_inputs(), segment_ids=_ints(BATCH, SEQ), masked_lm_positions=_ints(BATCH, PREDS),
                    masked_lm_ids=_ints(BATCH, PREDS), masked_lm_weights=tf.ones([BATCH, PREDS]),
                    next_sentence_labels=_ints(BATCH, 1))
    return pretraining_model.model_fn_builder(CONFIG, None, *schedule, options, output_dir), features
  if name == "classification":
    features = dict(_encoder_inputs(), segment_ids=_ints(BATCH, SEQ), label_ids=_ints(BATCH))
    return classifier_model.model_fn_builder(CONFIG, 3, None, *schedule, options, output_dir=output_dir), features
  if name == "squad":
    features = dict(_encoder_inputs(), segment_ids=_ints(BATCH, SEQ), unique_ids=_ints(BATCH),
                    start_positions=_ints(BATCH), end_positions=_ints(BATCH))
    return squad_model.model_fn_builder(CONFIG, None, *schedule, options, output_dir), features
  features = dict(_encoder_inputs("_a"), **_encoder_inputs("_b"), target=tf.ones([BATCH]),
                  is_real_example=tf.ones([BATCH], tf.int32))
  return sentence_model.model_fn_builder(CONFIG, None, *schedule, options, output_dir=output_dir), features


STAGES = ("pretraining", "classification", "squad", "sentence_embedding")
MODES = {tf.estimator.ModeKeys.TRAIN, tf.estimator.ModeKeys.EVAL, tf.estimator.ModeKeys.PREDICT}
SUPPORTED = {"pretraining": MODES, "classification": MODES,
             "squad": {tf.estimator.ModeKeys.TRAIN, tf.estimator.ModeKeys.PREDICT},
             "sentence_embedding": {tf.estimator.ModeKeys.TRAIN, tf.estimator.ModeKeys.PREDICT}}


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_logs_loss_its_scalars_and_the_learning_rate(stage, tmp_path):
  with tf.Graph().as_default():
    tf.compat.v1.train.get_or_create_global_step()
    model_fn, features = _stage(stage, estimator_utils.RunOptions(), str(tmp_path))
    spec = model_fn(features, None, tf.estimator.ModeKeys.TRAIN, {"batch_size": BATCH})
    _, tensors = spec.host_call
  names = [name for name in tensors if name != "global_step"]
  assert names[0] == "loss" and names[-1] == "learning_rate"
  if stage == "pretraining":
    assert names[1:-1] == ["masked_lm_loss", "masked_lm_accuracy", "next_sentence_loss"]
  else:
    assert names == ["loss", "learning_rate"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_mode_a_stage_lacks_is_refused(stage):
  for mode in sorted(MODES):
    with tf.Graph().as_default():
      tf.compat.v1.train.get_or_create_global_step()
      model_fn, features = _stage(stage, estimator_utils.RunOptions(), None)
      if mode in SUPPORTED[stage]:
        assert model_fn(features, None, mode, {"batch_size": BATCH}).mode == mode
      else:
        with pytest.raises(ValueError, match="has no %s mode" % mode):
          model_fn(features, None, mode, {"batch_size": BATCH})


def test_examples_per_step_counts_cores_replicas_and_accumulation():
  per_core = {"batch_size": 4}
  assert progress.examples_per_step(per_core, estimator_utils.RunOptions(), None) == 4
  assert progress.examples_per_step(
      per_core, estimator_utils.RunOptions(gradient_accumulation_steps=3), None) == 12
  assert progress.examples_per_step(
      per_core, estimator_utils.RunOptions(use_tpu=True, num_tpu_cores=8, gradient_accumulation_steps=2), None) == 64
  # Under tf.distribute there is no batch size in params: the replica's batch times the replicas in sync.
  with tf.Graph().as_default():
    count = progress.examples_per_step({}, estimator_utils.RunOptions(gradient_accumulation_steps=2),
                                              _ints(5, SEQ))
    with tf.compat.v1.Session() as session:
      assert session.run(count) == 10


def test_the_skeleton_builds_the_stage_under_the_xla_scope(monkeypatch):
  entered = []

  class Scope:
    def __enter__(self):
      entered.append(True)

    def __exit__(self, *args):
      return False

  monkeypatch.setattr(estimator_utils, "xla_scope", lambda options: Scope())
  seen = {}

  def forward(features, mode, encoder):
    seen.update(in_scope=bool(entered), encoder=encoder)
    return model_fn_lib.StageOutputs(predictions={"x": features["input_ids"]})

  model_fn = model_fn_lib.build_model_fn(forward, None, 1e-3, 10, 1, estimator_utils.RunOptions(precision="bf16"))
  with tf.Graph().as_default():
    model_fn(_encoder_inputs(), None, tf.estimator.ModeKeys.PREDICT, {})
  assert seen["in_scope"]
  assert seen["encoder"] == model_fn_lib.EncoderSettings(False, tf.bfloat16, False)


def test_progress_metrics_run_only_on_logging_steps():
  # Regression guard: a metric handed to the progress line as a callable must not run on every step.
  def forward(features, mode, encoder):
    weight = tf.compat.v1.get_variable("w", [], initializer=tf.compat.v1.ones_initializer())
    counter = tf.compat.v1.get_variable("metric_runs", [], tf.int64, tf.compat.v1.zeros_initializer(),
                                        trainable=False)
    loss = tf.square(weight * tf.reduce_mean(tf.cast(features["input_ids"], tf.float32)) - 1.0)
    return model_fn_lib.StageOutputs(loss=loss, scalars={"metric": lambda: counter.assign_add(1)})

  options = estimator_utils.RunOptions(log_every_n_steps=5)
  model_fn = model_fn_lib.build_model_fn(forward, None, 1e-3, 100, 1, options, output_dir="unused")
  with tf.Graph().as_default():
    tf.compat.v1.train.get_or_create_global_step()
    spec = model_fn(_encoder_inputs(), None, tf.estimator.ModeKeys.TRAIN, {"batch_size": BATCH})
    _, tensors = spec.host_call
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      logged = []
      for _ in range(12):
        _, values = session.run([spec.train_op, tensors])
        logged.append((int(values["global_step"][0]), float(values["metric"][0])))
      runs = session.run(tf.compat.v1.global_variables("metric_runs")[0])
  assert runs == 2  # steps 5 and 10 of 12
  assert [step for step, value in logged if value > 0] == [5, 10]
