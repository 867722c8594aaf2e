"""Checkpoints: resolving a path to a checkpoint, initialising a model from one (a larger vocabulary may extend a
smaller one's rows), checking that an output directory's checkpoints fit the config, and cleaning up saves a
killed process left behind.
"""
import json
import os
import re

import tensorflow as tf
from absl import logging

from bert import modeling
from bert.errors import UsageError

# Checkpoint variables whose first dimension is the vocabulary: a checkpoint with fewer rows can seed a model
# with a larger vocabulary (continued pretraining with added tokens).
VOCAB_ROW_VARIABLES = ("bert/embeddings/word_embeddings", "cls/predictions/output_bias")
# A checkpoint save writes its files into PREFIX_temp/ (older TF: PREFIX_temp_<uuid>/) and then moves them into
# place; a process killed in between leaves that folder behind.
_INTERRUPTED_SAVE_RE = re.compile(r".+\.ckpt-\d+_temp(_[0-9a-f]+)?\Z")
# Config fields that shape a BERT checkpoint's variables, read back as (variable, dimension).
_SHAPED_CONFIG_FIELDS = (
    ("vocab_size", "bert/embeddings/word_embeddings", 0),
    ("hidden_size", "bert/embeddings/word_embeddings", 1),
    ("max_position_embeddings", "bert/embeddings/position_embeddings", 0),
    ("type_vocab_size", "bert/embeddings/token_type_embeddings", 0),
    ("intermediate_size", "bert/encoder/layer_0/intermediate/dense/kernel", 1),
)
_LAYER_RE = re.compile(r"bert/encoder/layer_(\d+)/")


def resolve_checkpoint(path):
  """Turns a checkpoint prefix or a directory holding checkpoints into a checkpoint prefix.

  Args:
    path: e.g. "chinese_L-12_H-768_A-12/bert_model.ckpt" or a model directory.

  Returns:
    The checkpoint prefix.

  Raises:
    UsageError: nothing readable at `path`.
  """
  if tf.io.gfile.isdir(path):
    latest = tf.train.latest_checkpoint(path)
    if latest is None:
      raise UsageError("--init_checkpoint %s is a directory without a checkpoint in it" % path)
    return latest
  if not tf.io.gfile.glob(path + ".index") and not tf.io.gfile.exists(path):
    raise UsageError("--init_checkpoint %s: no checkpoint there (expected %s.index)" % (path, path))
  return path


def _plan_checkpoint_init(variables, checkpoint):
  """Decides how each model variable is initialised from `checkpoint`.

  Returns:
    (assignment_map {checkpoint name: variable}, row_extensions [(variable, checkpoint name, rows)]).

  Raises:
    UsageError: the checkpoint's vocabulary is larger than the model's, or other shapes differ.
  """
  name_map, _ = modeling.get_assignment_map_from_checkpoint(variables, checkpoint)
  checkpoint_shapes = dict(tf.train.list_variables(checkpoint))
  by_name = {modeling.variable_name(v): v for v in variables}
  assignment_map, extensions, mismatched = {}, [], []
  for checkpoint_name, variable_name in name_map.items():
    variable = by_name[modeling.variable_name(variable_name)]
    model_shape = variable.shape.as_list()
    ckpt_shape = list(checkpoint_shapes[checkpoint_name])
    if ckpt_shape == model_shape:
      assignment_map[checkpoint_name] = variable
    elif (checkpoint_name in VOCAB_ROW_VARIABLES and len(ckpt_shape) == len(model_shape) and
          ckpt_shape[1:] == model_shape[1:]):
      if ckpt_shape[0] > model_shape[0]:
        raise UsageError(
            "--init_checkpoint %s has a vocabulary of %d tokens (%s) but the model config's vocab_size is %d; "
            "a smaller vocabulary cannot reuse the checkpoint's embeddings (use the checkpoint's vocab_size)"
            % (checkpoint, ckpt_shape[0], checkpoint_name, model_shape[0]))
      extensions.append((variable, checkpoint_name, ckpt_shape[0]))
    else:
      mismatched.append("%s: checkpoint %s vs model %s" % (checkpoint_name, ckpt_shape, model_shape))
  if mismatched:
    shown = mismatched[:12]
    more = " (and %d more)" % (len(mismatched) - len(shown)) if len(mismatched) > len(shown) else ""
    raise UsageError("--init_checkpoint %s does not fit the model config (--bert_config_file): %d variable(s) "
                     "differ in shape: %s%s" % (checkpoint, len(mismatched), "; ".join(shown), more))
  return assignment_map, extensions


def _components(variable):
  """The per-device components of a (possibly distributed/mirrored) variable."""
  values = getattr(variable, "values", None)
  if values is not None and not callable(values):
    return list(values)
  return [variable]


def _initialize_with_extra_rows(variable, checkpoint, checkpoint_name, rows):
  """Makes `variable`'s initializer copy the checkpoint's `rows` leading rows and keep its own random
  initial values for the rows after them (Hugging Face's resize_token_embeddings behaviour).

  tf.compat.v1.train.init_from_checkpoint works the same way: it replaces the variable's initializer op, so
  the checkpoint is read only when the model starts from scratch (never when resuming from output_dir).
  """
  for component in _components(variable):
    with tf.device("/cpu:0"):
      restored = tf.raw_ops.RestoreV2(prefix=checkpoint, tensor_names=[checkpoint_name], shape_and_slices=[""],
                                      dtypes=[component.dtype.base_dtype])[0]
    with tf.device(component.device):
      value = tf.concat([restored, component.initial_value[rows:]], axis=0)
      value.set_shape(component.shape)
      # pylint: disable=protected-access
      component._initializer_op = component.assign(value, read_value=False)
      component._initial_value = value


def init_from_checkpoint(init_checkpoint, use_tpu, variables=None):
  """Initialises the model's variables from a Google-named checkpoint (call inside model_fn, after the model).

  Variables present in the checkpoint with the same shape are restored; the vocabulary-sized ones
  (word embeddings, MLM output bias) may have more rows in the model than in the checkpoint: the checkpoint's
  rows are copied and the new rows keep their fresh initialisation. Variables absent from the checkpoint (new
  heads) keep their initialisers. Shapes are checked at once so a mismatch fails before any training.

  Args:
    init_checkpoint: checkpoint prefix or directory, or None/"" (nothing to do).
    use_tpu: on TPU the restore must happen inside the Scaffold (returned scaffold_fn); on CPU/GPU it happens
      now and None is returned, as in Google's scripts.
    variables: variables to initialise (default: the trainable variables).

  Returns:
    scaffold_fn for TPUEstimatorSpec (or None).

  Raises:
    UsageError: missing checkpoint, smaller vocabulary, or other shape mismatches (all listed).
  """
  if not init_checkpoint:
    return None
  checkpoint = resolve_checkpoint(init_checkpoint)
  if variables is None:
    variables = tf.compat.v1.trainable_variables()
  assignment_map, extensions = _plan_checkpoint_init(variables, checkpoint)
  logging.info("Initialising %d of %d variables from %s%s", len(assignment_map) + len(extensions),
               len(variables), checkpoint,
               "".join("; %s extended from %d rows" % (name, rows) for _, name, rows in extensions))

  def restore():
    if assignment_map:
      tf.compat.v1.train.init_from_checkpoint(checkpoint, assignment_map)
    for variable, checkpoint_name, rows in extensions:
      _initialize_with_extra_rows(variable, checkpoint, checkpoint_name, rows)

  if use_tpu:
    def tpu_scaffold():
      restore()
      return tf.compat.v1.train.Scaffold()
    return tpu_scaffold
  restore()
  return None


def config_fields_of_checkpoint(checkpoint):
  """The BERT config fields a checkpoint's variable shapes determine.

  Args:
    checkpoint: checkpoint prefix.

  Returns:
    dict field -> value (vocab_size, hidden_size, max_position_embeddings, type_vocab_size,
    intermediate_size, num_hidden_layers; those whose variables it has).
  """
  shapes = dict(tf.train.list_variables(checkpoint))
  fields = {}
  for field, name, dimension in _SHAPED_CONFIG_FIELDS:
    if name in shapes and len(shapes[name]) > dimension:
      fields[field] = int(shapes[name][dimension])
  layers = [int(match.group(1)) for match in map(_LAYER_RE.match, shapes) if match]
  if layers:
    fields["num_hidden_layers"] = max(layers) + 1
  return fields


def check_config_matches_checkpoints(output_dir, config_dict):
  """Checks that resuming in output_dir would continue the same model (same config).

  Compares the config with the bert_config.json the checkpoints were written with, and with what the latest
  checkpoint's variable shapes say (which also covers a directory without bert_config.json).

  Args:
    output_dir: the run's output directory.
    config_dict: the run's model config as a dict (BertConfig.to_dict()).

  Raises:
    UsageError: output_dir holds checkpoints and a field differs (all differing fields named).
  """
  checkpoint = tf.train.latest_checkpoint(output_dir)
  if checkpoint is None:
    return
  differing = {}  # field -> (the checkpoints' value, the new value)
  saved_path = os.path.join(output_dir, "bert_config.json")
  if tf.io.gfile.exists(saved_path):
    with tf.io.gfile.GFile(saved_path) as handle:
      saved = json.load(handle)
    for field in sorted(set(saved) | set(config_dict)):
      if saved.get(field) != config_dict.get(field):
        differing[field] = (saved.get(field), config_dict.get(field))
  for field, value in sorted(config_fields_of_checkpoint(checkpoint).items()):
    if field not in differing and config_dict.get(field) != value:
      differing[field] = (value, config_dict.get(field))
  if differing:
    raise UsageError(
        "--output_dir %s holds checkpoints (%s) of another model config: %s; resume with the config they were "
        "made with (%s) or use a new --output_dir" % (
            output_dir, os.path.basename(checkpoint),
            ", ".join("%s %s there, %s in --bert_config_file" % (field, theirs, ours)
                      for field, (theirs, ours) in sorted(differing.items())), saved_path))


def remove_interrupted_saves(output_dir):
  """Deletes the temporary folders (model.ckpt-N_temp/) of checkpoint saves that were killed midway.

  The checkpoint they were writing never became the latest one (the `checkpoint` file is updated last), so
  the run resumes from the previous checkpoint; the folder is only clutter, and a later save of step N would
  find it in its way.

  Args:
    output_dir: the run's output directory.

  Returns:
    list of the folders removed.
  """
  removed = []
  for path in tf.io.gfile.glob(os.path.join(output_dir, "*.ckpt-*_temp*")):
    if _INTERRUPTED_SAVE_RE.match(os.path.basename(path.rstrip("/"))) and tf.io.gfile.isdir(path):
      tf.io.gfile.rmtree(path)
      logging.info("Removed %s, left by a checkpoint save that was interrupted", path)
      removed.append(path)
  return removed
