"""Estimator plumbing shared by the training scripts: run options, TPUEstimator construction, the train op,
checkpoint initialisation (with vocabulary extension), run metadata and training-progress logging.

Every script builds its estimator the same way:

    options = common_flags.run_options_from_flags(FLAGS)
    estimator = estimator_utils.build_estimator(model_fn, options, FLAGS.output_dir, FLAGS.train_batch_size)

and inside its model_fn uses `build_train_op`, `init_from_checkpoint` and `training_host_call`.
On TPU the estimator runs on the TPU resolved by name; on CPU/GPU the same TPUEstimator runs with
use_tpu=False (and a tf.distribute strategy for several GPUs or workers, from `bert.distribution`).
"""
import contextlib
import dataclasses
import json
import os
import re
import sys

import tensorflow as tf
from absl import logging

from bert import file_io
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


@dataclasses.dataclass
class RunOptions:
  """How and where to run: TPU/GPU/CPU placement, loop sizes, precision, optimizer, logging.

  Built from flags by `bert.common_flags.run_options_from_flags`; tests build it directly.
  """
  use_tpu: bool = False
  tpu_name: str = None
  tpu_zone: str = None
  gcp_project: str = None
  master: str = None
  num_tpu_cores: int = 8
  iterations_per_loop: int = 1000
  save_checkpoints_steps: int = 1000
  num_gpus: int = 0
  precision: str = "fp32"
  use_xla: bool = False
  optimizer: str = "adamw"
  gradient_accumulation_steps: int = 1
  log_every_n_steps: int = 100
  keep_checkpoint_max: int = 5
  tf_random_seed: int = None

  @classmethod
  def field_names(cls):
    """Names of all fields (each is also the name of the flag that sets it)."""
    return [field.name for field in dataclasses.fields(cls)]

  def validate(self):
    """Raises UsageError naming the flag when a value is out of range or the combination is unsupported."""
    positive = ("num_tpu_cores", "iterations_per_loop", "save_checkpoints_steps", "gradient_accumulation_steps",
                "log_every_n_steps")
    for name in positive:
      if getattr(self, name) < 1:
        raise UsageError("--%s must be >= 1, got %r" % (name, getattr(self, name)))
    if self.num_gpus < 0:
      raise UsageError("--num_gpus must be >= 0, got %d" % self.num_gpus)
    if self.keep_checkpoint_max < 0:
      raise UsageError("--keep_checkpoint_max must be >= 0 (0 keeps all), got %d" % self.keep_checkpoint_max)
    if self.precision not in ("fp32", "bf16", "fp16"):
      raise UsageError("--precision must be fp32, bf16 or fp16, got %r" % self.precision)
    if self.optimizer not in ("adamw", "lamb"):
      raise UsageError("--optimizer must be adamw or lamb, got %r" % self.optimizer)
    if self.use_tpu and self.num_gpus > 1:
      raise UsageError("--use_tpu and --num_gpus=%d cannot be combined" % self.num_gpus)


def _session_config(options):
  """Session config: soft placement (CPU fallbacks), and XLA auto-clustering (GPU) when --use_xla."""
  config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
  if options.use_xla and not options.use_tpu:
    config.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
  return config


def xla_scope(options):
  """Context marking the ops built inside it for XLA compilation when --use_xla (CPU/GPU).

  Session auto-clustering (set in the session config too) ignores CPU devices unless TF_XLA_FLAGS has
  --tf_xla_cpu_global_jit when TensorFlow loads, so model_fns build their model inside this scope. On TPU
  everything is compiled by XLA anyway.

  Args:
    options: RunOptions.

  Returns:
    A context manager.
  """
  if options.use_xla and not options.use_tpu:
    return tf.xla.experimental.jit_scope(compile_ops=True)
  return contextlib.nullcontext()


def tpu_cluster_resolver(options):
  """Resolves the TPU named by --tpu_name/--tpu_zone/--gcp_project (None when not on TPU or unnamed).

  Args:
    options: RunOptions.

  Returns:
    A TPUClusterResolver or None.

  Raises:
    UsageError: the TPU cannot be resolved (one line with the resolver's reason).
  """
  if not (options.use_tpu and options.tpu_name):
    return None
  try:
    return tf.distribute.cluster_resolver.TPUClusterResolver(
        options.tpu_name, zone=options.tpu_zone, project=options.gcp_project)
  except Exception as error:  # pylint: disable=broad-except
    raise _tpu_error(options, error) from None


def _tpu_error(options, error):
  """UsageError for a TPU that cannot be reached: unknown name, no metadata server, no cloud-tpu-client
  (the resolver raises assorted error types, with multi-line messages)."""
  text = str(error).strip().splitlines()
  return UsageError("cannot resolve --tpu_name=%s (--tpu_zone=%s, --gcp_project=%s): %s" % (
      options.tpu_name, options.tpu_zone, options.gcp_project, text[0] if text else type(error).__name__))


def build_run_config(options, output_dir):
  """The tf.compat.v1.estimator.tpu.RunConfig for `options` (checkpointing, TPU loop, distribution).

  Args:
    options: RunOptions.
    output_dir: model directory (checkpoints, summaries).

  Returns:
    A tf.compat.v1.estimator.tpu.RunConfig.
  """
  # Imported here so bert.distribution (tf.distribute for GPUs/workers) can evolve independently.
  from bert import distribution
  strategy = distribution.make_strategy(options)
  tpu_config = tf.compat.v1.estimator.tpu.TPUConfig(
      iterations_per_loop=options.iterations_per_loop,
      num_shards=options.num_tpu_cores,
      per_host_input_for_training=tf.compat.v1.estimator.tpu.InputPipelineConfig.PER_HOST_V2)
  cluster = tpu_cluster_resolver(options)
  try:
    return _run_config(options, output_dir, cluster, strategy, tpu_config)
  except Exception as error:  # pylint: disable=broad-except
    if cluster is None:
      raise
    # RunConfig asks the resolver for the TPU's address, which is where an unreachable TPU shows up.
    raise _tpu_error(options, error) from None


def _run_config(options, output_dir, cluster, strategy, tpu_config):
  """tf.compat.v1.estimator.tpu.RunConfig from its parts."""
  return tf.compat.v1.estimator.tpu.RunConfig(
      cluster=cluster,
      master=options.master,
      model_dir=output_dir,
      save_checkpoints_steps=options.save_checkpoints_steps,
      keep_checkpoint_max=options.keep_checkpoint_max,
      log_step_count_steps=options.log_every_n_steps,
      save_summary_steps=options.log_every_n_steps,
      tf_random_seed=options.tf_random_seed,
      session_config=_session_config(options),
      train_distribute=strategy,
      tpu_config=tpu_config)


def build_estimator(model_fn, options, output_dir, train_batch_size, eval_batch_size=8, predict_batch_size=8,
                    params=None):
  """Builds the TPUEstimator every script trains/evaluates/predicts with (use_tpu=False on CPU/GPU).

  Args:
    model_fn: TPUEstimator model_fn(features, labels, mode, params) returning a TPUEstimatorSpec.
    options: RunOptions.
    output_dir: model directory.
    train_batch_size: global training batch size (params["batch_size"] in train mode).
    eval_batch_size: global evaluation batch size.
    predict_batch_size: global prediction batch size.
    params: optional dict passed to model_fn/input_fn (TPUEstimator adds "batch_size").

  Returns:
    tf.compat.v1.estimator.tpu.TPUEstimator.
  """
  return tf.compat.v1.estimator.tpu.TPUEstimator(
      use_tpu=options.use_tpu,
      model_fn=model_fn,
      config=build_run_config(options, output_dir),
      train_batch_size=train_batch_size,
      eval_batch_size=eval_batch_size,
      predict_batch_size=predict_batch_size,
      params=params)


def build_train_op(loss, options, learning_rate, num_train_steps, num_warmup_steps):
  """The training op every script uses: Google's warmup + linear-decay schedule and optimizer.

  Args:
    loss: scalar loss tensor (mean over this replica's batch).
    options: RunOptions (use_tpu, optimizer, precision, gradient_accumulation_steps).
    learning_rate: peak learning rate.
    num_train_steps: total optimizer steps (the schedule decays to 0 there).
    num_warmup_steps: linear warmup steps.

  Returns:
    The train op (it also increments the global step).
  """
  from bert import mixed_precision
  from bert import optimization
  return optimization.create_optimizer(loss, learning_rate, num_train_steps, num_warmup_steps, options.use_tpu,
                                       optimizer_name=options.optimizer,
                                       gradient_accumulation_steps=options.gradient_accumulation_steps,
                                       loss_scale=mixed_precision.loss_scale_for(options.precision))


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
  from bert import modeling
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


def write_run_metadata(output_dir, config, flags):
  """Prepares output_dir for a run and records what the run was started with.

  Checks that checkpoints already in output_dir were made with this config (so bert_config.json is never
  replaced by one that does not describe them), removes the leftovers of interrupted checkpoint saves (the
  chief only: it may be saving while another worker starts), then writes `bert_config.json` and `run_flags.json`.
  bert_config.json lets the output directory be passed as-is to fine-tuning (--bert_config_file).

  Args:
    output_dir: the run's output directory (created if needed).
    config: a BertConfig (anything with to_dict()) or a dict.
    flags: dict of flag name -> value.

  Returns:
    (config path, flags path).

  Raises:
    UsageError: output_dir holds checkpoints of another config (check_config_matches_checkpoints).
  """
  from bert import distribution
  tf.io.gfile.makedirs(output_dir)
  config_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)
  check_config_matches_checkpoints(output_dir, config_dict)
  if distribution.is_chief():
    remove_interrupted_saves(output_dir)
  config_path = os.path.join(output_dir, "bert_config.json")
  flags_path = os.path.join(output_dir, "run_flags.json")
  file_io.write_text_atomically(config_path, json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
  file_io.write_text_atomically(flags_path, json.dumps(flags, indent=2, sort_keys=True, default=str) + "\n")
  return config_path, flags_path


def _local_variable(name, initial_value):
  """A non-checkpointed variable (re-initialised each session), for the logger's timing state."""
  return tf.compat.v1.Variable(initial_value, name=name, trainable=False,
                               collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES])


def examples_per_step(params, options, input_ids):
  """Examples one global step consumes, for the progress line's examples/s (the one definition).

  On TPU params["batch_size"] is the per-core batch; on one CPU/GPU it is the global batch; under
  tf.distribute (--num_gpus, TF_CONFIG) TPUEstimator gives the per-replica model_fn no batch size, so the
  replica's own batch is multiplied by the number of replicas. With gradient accumulation one global step
  consumes several micro-batches.

  Args:
    params: the model_fn's params.
    options: RunOptions.
    input_ids: a [batch, ...] input tensor of the replica (its first dimension is the replica's batch).

  Returns:
    A Python int, or (under tf.distribute) a scalar tensor.
  """
  if params and "batch_size" in params:
    batch = params["batch_size"] * (options.num_tpu_cores if options.use_tpu else 1)
  else:
    batch = tf.shape(input_ids)[0] * tf.distribute.get_strategy().num_replicas_in_sync
  return batch * options.gradient_accumulation_steps


def training_host_call(output_dir, global_step, scalars, examples_per_step, log_every_n_steps,
                       num_train_steps=None):
  """Progress logging for training: a log line and TensorBoard scalars every `log_every_n_steps` steps.

  Returns a TPUEstimatorSpec host_call: on TPU it runs on the host from outfed values; with use_tpu=False
  TPUEstimator runs it on CPU each step. The line reads e.g.
  "step 200/1000 loss 5.1234 masked_lm_accuracy 0.2345 learning_rate 1.00e-04 examples/s 321.5".

  Args:
    output_dir: where the summaries go (the model directory).
    global_step: the global step after this step's update (e.g. read under a control dependency on the
      train op).
    scalars: ordered dict name -> scalar tensor (loss, masked_lm_accuracy, learning_rate, ...).
    examples_per_step: examples consumed per global step (global batch size times gradient accumulation
      steps), for examples/s; a Python number, or (CPU/GPU only) a scalar tensor.
    log_every_n_steps: logging/summary interval.
    num_train_steps: optional total, shown as step N/total.

  Returns:
    (host_fn, tensors dict) for TPUEstimatorSpec(host_call=...).
  """
  names = list(scalars)
  tensors = {"global_step": tf.reshape(tf.cast(global_step, tf.int64), [1])}
  for name in names:
    tensors[name] = tf.reshape(tf.cast(scalars[name], tf.float32), [1])

  def host_fn(**values):
    # On TPU each tensor arrives concatenated over the cores: the step is the same, the metrics are averaged.
    step = values["global_step"][0]
    means = {name: tf.reduce_mean(values[name]) for name in names}
    last_time = _local_variable("progress_log/last_time", tf.timestamp())
    # Initialised (after any restore) to the step the session starts at, so a resumed run's rate is right.
    last_step = _local_variable("progress_log/last_step",
                                tf.cast(tf.compat.v1.train.get_or_create_global_step(), tf.int64))
    # With gradient accumulation several session runs (micro-batches) see the same global step: log once.
    should_log = tf.logical_and(tf.equal(step % log_every_n_steps, 0), tf.not_equal(step, last_step))

    def log_line():
      now = tf.timestamp()
      rate = (tf.cast(step - last_step, tf.float64) * tf.cast(examples_per_step, tf.float64) /
              tf.maximum(now - last_time, 1e-6))
      parts = ["step ", tf.strings.as_string(step)]
      if num_train_steps:
        parts.append("/%d" % num_train_steps)
      for name in names:
        value = means[name]
        text = (tf.strings.as_string(value, scientific=True, precision=2) if "learning_rate" in name
                else tf.strings.as_string(value, precision=4))
        parts += [" %s " % name, text]
      parts += [" examples/s ", tf.strings.as_string(rate, precision=1)]
      printed = tf.print(tf.strings.join(parts), output_stream=sys.stderr)
      with tf.control_dependencies([printed]):
        updated = tf.group(last_time.assign(now), last_step.assign(step))
      with tf.control_dependencies([updated]):
        return tf.constant(True)

    logged = tf.cond(should_log, log_line, lambda: tf.constant(False))
    writer = tf.compat.v2.summary.create_file_writer(output_dir, name="progress_summaries")
    with writer.as_default(), tf.compat.v2.summary.record_if(should_log):
      for name in names:
        tf.compat.v2.summary.scalar(name, means[name], step=step)
      summaries = tf.compat.v1.summary.all_v2_summary_ops()
    return [logged] + list(summaries)

  return host_fn, tensors

