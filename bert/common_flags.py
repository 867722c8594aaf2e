"""Flag blocks shared by every training script (run_pretraining, run_classifier, run_squad, ...).

Each flag is defined once here so the scripts agree on names, defaults and meaning:
- `define_tpu_flags()`: Google BERT's TPU and run-loop flags, names and defaults exactly as Google's scripts.
- `define_accelerator_flags()`: this project's additions (several GPUs, mixed precision, XLA, LAMB, gradient
  accumulation, logging, checkpoint retention).
`run_options_from_flags(FLAGS)` turns whichever of these a script defined into a `RunOptions`, which is what
library code (`bert.estimator_utils`) takes; library code never reads FLAGS itself.
"""
from absl import flags

from bert.estimator_utils import RunOptions
from bert.errors import UsageError

PRECISIONS = ("fp32", "bf16", "fp16")
OPTIMIZERS = ("adamw", "lamb")
_LIBRARY_MODULES = ("absl", "tensorflow", "tensorflow_estimator", "keras", "tf_keras", "tf_slim", "transformers")


def _already_defined(name, flag_values):
  """True if `name` is defined, so importing two scripts into one process (tests) does not fail."""
  return name in flag_values


def define_tpu_flags(flag_values=flags.FLAGS):
  """Defines Google's TPU/run-loop flags: use_tpu, tpu_name, tpu_zone, gcp_project, master, num_tpu_cores,
  iterations_per_loop, save_checkpoints_steps (Google's defaults). Flags already defined are left alone.

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
  """
  definitions = [
      (flags.DEFINE_bool, "use_tpu", False, "Whether to use TPU or GPU/CPU."),
      (flags.DEFINE_string, "tpu_name", None,
       "The Cloud TPU to use for training. This should be either the name used when creating the Cloud TPU, "
       "or a grpc://ip.address.of.tpu:8470 url."),
      (flags.DEFINE_string, "tpu_zone", None,
       "[Optional] GCE zone where the Cloud TPU is located in. If not specified, we will attempt to "
       "automatically detect the GCE project from metadata."),
      (flags.DEFINE_string, "gcp_project", None,
       "[Optional] Project name for the Cloud TPU-enabled project. If not specified, we will attempt to "
       "automatically detect the GCE project from metadata."),
      (flags.DEFINE_string, "master", None, "[Optional] TensorFlow master URL."),
      (flags.DEFINE_integer, "num_tpu_cores", 8,
       "Only used if `use_tpu` is True. Total number of TPU cores to use."),
      (flags.DEFINE_integer, "iterations_per_loop", 1000,
       "How many steps to make in each estimator call (TPU: steps per infeed loop)."),
      (flags.DEFINE_integer, "save_checkpoints_steps", 1000, "How often to save the model checkpoint."),
  ]
  for define, name, default, help_text in definitions:
    if not _already_defined(name, flag_values):
      define(name, default, help_text, flag_values=flag_values)


def define_accelerator_flags(flag_values=flags.FLAGS):
  """Defines the project's run flags beyond Google's (GPUs, precision, XLA, optimizer, accumulation, logging).

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
  """
  definitions = [
      (flags.DEFINE_integer, "num_gpus", 0,
       "GPUs to train on with tf.distribute.MirroredStrategy (0 or 1: the default single device). "
       "Several workers are configured through the TF_CONFIG environment variable instead."),
      (flags.DEFINE_enum, "precision", "fp32",
       "Compute precision: fp32, bf16 (mixed, TPU/recent GPUs) or fp16 (mixed, dynamic loss scaling).",
       PRECISIONS),
      (flags.DEFINE_bool, "use_xla", False, "Compile the model with XLA (JIT) on CPU/GPU."),
      (flags.DEFINE_enum, "optimizer", "adamw",
       "adamw: Google's AdamWeightDecayOptimizer; lamb: layer-wise adaptive moments (large batches).",
       OPTIMIZERS),
      (flags.DEFINE_integer, "gradient_accumulation_steps", 1,
       "Accumulate gradients over this many micro-batches of train_batch_size before each optimizer "
       "step (effective batch = train_batch_size * gradient_accumulation_steps)."),
      (flags.DEFINE_integer, "log_every_n_steps", 100,
       "Log step, loss, accuracy, learning rate and examples/s (and write TensorBoard summaries) every N "
       "steps."),
      (flags.DEFINE_integer, "keep_checkpoint_max", 5, "How many recent checkpoints to keep in output_dir."),
      (flags.DEFINE_integer, "tf_random_seed", None,
       "Graph-level TensorFlow random seed (initialisation, dropout); unset = nondeterministic."),
  ]
  for entry in definitions:
    define, name, default, help_text = entry[:4]
    if _already_defined(name, flag_values):
      continue
    if define is flags.DEFINE_enum:
      define(name, default, entry[4], help_text, flag_values=flag_values)
    else:
      define(name, default, help_text, flag_values=flag_values)


def run_options_from_flags(flag_values=flags.FLAGS):
  """Builds RunOptions from the parsed flags; fields whose flag the script does not define keep defaults.

  Args:
    flag_values: parsed absl FlagValues.

  Returns:
    A validated RunOptions.

  Raises:
    UsageError: a flag value is out of range or the combination is unsupported.
  """
  values = {}
  for name in RunOptions.field_names():
    if name in flag_values:
      values[name] = flag_values[name].value
  options = RunOptions(**values)
  options.validate()
  return options


def flag_dict(flag_values=flags.FLAGS):
  """All flags the running script defined (its own module's and the shared blocks), as a name -> value dict.

  Args:
    flag_values: parsed absl FlagValues.

  Returns:
    dict of JSON-serialisable values, sorted by name.
  """
  names = set()
  for module_name, module_flags in flag_values.flags_by_module_dict().items():
    # Flags that absl, TensorFlow and other libraries define for themselves are not the run's configuration.
    if module_name.split(".")[0] in _LIBRARY_MODULES:
      continue
    names.update(flag.name for flag in module_flags)
  return {name: flag_values[name].value for name in sorted(names)}


def require_flags(flag_values, names):
  """Raises UsageError naming the first of `names` that was not given (Google's mark_flag_as_required, but
  checked in main so the message is one line and tests can call main directly).

  Args:
    flag_values: parsed absl FlagValues.
    names: flag names that must be set.
  """
  for name in names:
    if flag_values[name].value is None:
      raise UsageError("--%s is required" % name)
