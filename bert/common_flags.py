"""Flag blocks shared by the top-level scripts (run_pretraining, run_classifier, run_squad, extract_features, ...).

A flag that several scripts take is defined here, once, so its name, type, default and help agree everywhere.
Each `define_*_flags()` defines one small group, skips flags that are already defined (so calling it twice, or
importing two scripts into one process, is harmless) and never marks a flag required: scripts check required
flags in main with `bert.errors.require`, which gives a one-line error.
- `define_model_flags()`: bert_config_file, init_checkpoint.
- `define_tokenizer_flags()`: vocab_file, do_lower_case (or only one of them).
- `define_max_seq_length_flag(default)`: max_seq_length (Google's default differs per script: 128 or 384).
- `define_run_flags(modes)`: output_dir, and do_<mode> with <mode>_batch_size for train/eval/predict.
- `define_training_flags()`: learning_rate, and num_train_epochs/warmup_proportion for fine-tuning.
- `define_tpu_flags()`: Google BERT's TPU and run-loop flags.
- `define_accelerator_flags()`: this project's additions (several GPUs, mixed precision, XLA, LAMB, gradient
  accumulation, logging, checkpoint retention).
- `define_finetuning_flags(modes, max_seq_length)`: all of the above, as the fine-tuning scripts take them.
Names, types and defaults of Google's flags are exactly those of Google's scripts (see FLAGS.md).
`run_options_from_flags(FLAGS)` turns whichever run flags a script defined into a `RunOptions`, which is what
library code (`bert.estimator_utils`) takes; library code never reads FLAGS itself.
"""
import dataclasses

from absl import flags

from bert.run_options import RunOptions
from bert import errors
from bert.errors import UsageError

PRECISIONS = ("fp32", "bf16", "fp16")
OPTIMIZERS = ("adamw", "lamb")
RUN_MODES = ("train", "eval", "predict")
_LIBRARY_MODULES = ("absl", "tensorflow", "tensorflow_estimator", "keras", "tf_keras", "tf_slim", "transformers")

# Google's batch sizes: 32 examples per training batch, 8 per evaluation or prediction batch.
_BATCH_SIZE_DEFAULTS = {"train": 32, "eval": 8, "predict": 8}
_MODE_HELP = {
    "train": ("Train the model on the script's training data, writing checkpoints to --output_dir.",
              "Examples in each training batch (--gradient_accumulation_steps batches make one optimizer "
              "update)."),
    "eval": ("Evaluate the model on the script's evaluation data and write the metrics to --output_dir "
             "(eval_results.txt).",
             "Examples in each evaluation batch."),
    "predict": ("Run the model on the script's test data (run_classifier: the task's test set; run_squad: "
                "--predict_file) and write the predictions to --output_dir.",
                "Examples in each prediction batch."),
}


def _define_missing(definitions, flag_values):
  """Defines each flag of `definitions` that `flag_values` does not have yet.

  Args:
    definitions: (DEFINE function, name, default, help text[, enum values]) tuples.
    flag_values: the FlagValues to define them in.

  Raises:
    ValueError: a flag is already defined with another default (two scripts with different Google defaults,
      e.g. max_seq_length, imported into one process): one of them would silently run with the wrong value.
  """
  for entry in definitions:
    define, name, default, help_text = entry[:4]
    if name in flag_values:
      if flag_values[name].default != default:
        raise ValueError("flag --%s is already defined with default %r, not %r" %
                         (name, flag_values[name].default, default))
      continue
    if define is flags.DEFINE_enum:
      define(name, default, entry[4], help_text, flag_values=flag_values)
    else:
      define(name, default, help_text, flag_values=flag_values)


def define_model_flags(flag_values=flags.FLAGS, with_init_checkpoint=True):
  """Defines bert_config_file and init_checkpoint (Google's: both None).

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
    with_init_checkpoint: False for scripts that only read the configuration (count_params.py).
  """
  definitions = [
      (flags.DEFINE_string, "bert_config_file", None,
       "bert_config.json of the model: its architecture (layers, hidden size, attention heads, vocabulary "
       "size, ...)."),
  ]
  if with_init_checkpoint:
    definitions.append(
        (flags.DEFINE_string, "init_checkpoint", None,
         "TensorFlow checkpoint with Google BERT's variable names to start from, given as its prefix (e.g. "
         "chinese_L-12_H-768_A-12/bert_model.ckpt) or as a directory (its latest checkpoint is used)."))
  _define_missing(definitions, flag_values)


def define_tokenizer_flags(flag_values=flags.FLAGS, with_vocab_file=True, with_do_lower_case=True):
  """Defines vocab_file (Google's: None) and do_lower_case (Google's: True).

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
    with_vocab_file: False for scripts that write a vocabulary rather than read one (build_vocab.py).
    with_do_lower_case: False for scripts that read token ids, not text (run_pretraining.py).
  """
  definitions = []
  if with_vocab_file:
    definitions.append(
        (flags.DEFINE_string, "vocab_file", None,
         "WordPiece vocabulary (vocab.txt, one token per line); it must be the one the model was built with."))
  if with_do_lower_case:
    definitions.append(
        (flags.DEFINE_bool, "do_lower_case", True,
         "Lower-case the text and strip accents before WordPiece splitting (tokenization.FullTokenizer). It "
         "must match the vocabulary: True for uncased models (Google's Chinese BERT is one), "
         "--nodo_lower_case for cased ones. build_vocab.py normalises its training text this way; "
         "export_hf.py records the value in tokenizer_config.json."))
  _define_missing(definitions, flag_values)


def define_max_seq_length_flag(default=128, flag_values=flags.FLAGS):
  """Defines max_seq_length with the calling script's Google default (run_squad.py: 384, others: 128).

  Args:
    default: the script's default.
    flag_values: the FlagValues to define it in (absl's global FLAGS by default).
  """
  _define_missing([
      (flags.DEFINE_integer, "max_seq_length", default,
       "Length in WordPiece tokens, [CLS] and [SEP] included, to which every input is truncated or padded. "
       "At most the config's max_position_embeddings; for pretraining, the value the records were made with."),
  ], flag_values)


def define_run_flags(modes, flag_values=flags.FLAGS):
  """Defines output_dir and, for each mode, do_<mode> (False) and <mode>_batch_size (Google's defaults).

  Args:
    modes: the modes the script offers, a subset of RUN_MODES ("train", "eval", "predict").
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
  """
  definitions = [
      (flags.DEFINE_string, "output_dir", None,
       "Directory for the run's checkpoints, TensorBoard events, run_flags.json and results. A rerun with the "
       "same directory resumes from its latest checkpoint."),
  ]
  for mode in modes:
    if mode not in RUN_MODES:
      raise ValueError("unknown run mode %r (expected one of %s)" % (mode, ", ".join(RUN_MODES)))
    do_help, batch_help = _MODE_HELP[mode]
    definitions.append((flags.DEFINE_bool, "do_" + mode, False, do_help))
    definitions.append((flags.DEFINE_integer, mode + "_batch_size", _BATCH_SIZE_DEFAULTS[mode], batch_help))
  _define_missing(definitions, flag_values)


def define_training_flags(flag_values=flags.FLAGS, epoch_schedule=True):
  """Defines learning_rate (5e-5) and, for fine-tuning, num_train_epochs (3.0) and warmup_proportion (0.1).

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
    epoch_schedule: False for run_pretraining.py, whose schedule is counted in steps (its own flags).
  """
  definitions = [
      (flags.DEFINE_float, "learning_rate", 5e-5,
       "Peak learning rate: reached at the end of the warmup, then lowered linearly to zero at the last "
       "training step."),
  ]
  if epoch_schedule:
    definitions += [
        (flags.DEFINE_float, "num_train_epochs", 3.0,
         "How many passes over the training data to make (fractions allowed); sets the number of steps."),
        (flags.DEFINE_float, "warmup_proportion", 0.1,
         "Share of the training steps during which the learning rate climbs linearly from zero (0.1: the "
         "first tenth)."),
    ]
  _define_missing(definitions, flag_values)


def define_tpu_flags(flag_values=flags.FLAGS):
  """Defines Google's TPU/run-loop flags: use_tpu, tpu_name, tpu_zone, gcp_project, master, num_tpu_cores,
  iterations_per_loop, save_checkpoints_steps (Google's defaults). Flags already defined are left alone.

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
  """
  _define_missing([
      (flags.DEFINE_bool, "use_tpu", False, "Run on a Cloud TPU; without it the script runs on CPU or GPU(s)."),
      (flags.DEFINE_string, "tpu_name", None,
       "Cloud TPU to run on (with --use_tpu): its name, or its address as grpc://IP:8470."),
      (flags.DEFINE_string, "tpu_zone", None,
       "Optional: GCE zone of the Cloud TPU; when unset it is looked up on the GCE metadata server."),
      (flags.DEFINE_string, "gcp_project", None,
       "Optional: Google Cloud project that owns the Cloud TPU; when unset it is looked up on the GCE "
       "metadata server."),
      (flags.DEFINE_string, "master", None,
       "Optional: address of the TensorFlow master (session target); normally derived from --tpu_name."),
      (flags.DEFINE_integer, "num_tpu_cores", 8, "With --use_tpu: how many TPU cores to spread the work over."),
      (flags.DEFINE_integer, "iterations_per_loop", 1000,
       "Steps run in one go before control returns to the host (on TPU: the length of the infeed loop)."),
      (flags.DEFINE_integer, "save_checkpoints_steps", 1000, "Write a checkpoint every this many training steps."),
  ], flag_values)


def define_accelerator_flags(flag_values=flags.FLAGS):
  """Defines the project's run flags beyond Google's (GPUs, precision, XLA, optimizer, accumulation, logging).

  Args:
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
  """
  _define_missing([
      (flags.DEFINE_integer, "num_gpus", 0,
       "GPUs to train on with tf.distribute.MirroredStrategy (0 or 1: the default single device). "
       "Several workers are configured through the TF_CONFIG environment variable instead."),
      (flags.DEFINE_enum, "precision", "fp32",
       "Compute precision: fp32, bf16 (mixed, TPU/recent GPUs) or fp16 (mixed, dynamic loss scaling).",
       PRECISIONS),
      (flags.DEFINE_bool, "use_xla", False,
       "Compile the model, its gradients and the optimizer update with XLA (JIT) on CPU/GPU."),
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
  ], flag_values)


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


@dataclasses.dataclass
class FinetuningArgs:
  """The fields of Google's fine-tuning flags (define_finetuning_flags) that every fine-tuning stage's Args has."""
  vocab_file: str = None
  bert_config_file: str = None
  output_dir: str = None
  init_checkpoint: str = None
  do_lower_case: bool = True
  max_seq_length: int = 128
  do_train: bool = False
  do_predict: bool = False
  train_batch_size: int = 32
  predict_batch_size: int = 8
  learning_rate: float = 5e-5
  num_train_epochs: float = 3.0
  warmup_proportion: float = 0.1
  num_train_steps: int = None


@dataclasses.dataclass
class TaskArgs(FinetuningArgs):
  """FinetuningArgs plus the fields of a task read from a data directory (classification, sentence pairs)."""
  task_name: str = None
  data_dir: str = None
  do_eval: bool = False
  eval_batch_size: int = 8
  export_dir: str = None
  skip_bad_rows: bool = False
  train_file: str = None
  dev_file: str = None
  test_file: str = None
  text_a_field: str = "text_a"
  label_field: str = "label"
  id_field: str = None
  xnli_language: str = "zh"

  def validate(self):
    """Raises UsageError for a missing required flag, nothing to do, or an impossible size."""
    errors.require(self, ("task_name", "vocab_file", "bert_config_file", "output_dir"))
    if not (self.do_train or self.do_eval or self.do_predict or self.export_dir):
      raise UsageError("nothing to do: give --do_train, --do_eval, --do_predict or --export_dir")
    if (self.do_train or self.do_eval or self.do_predict) and not self.data_dir:
      raise UsageError("--data_dir is required")
    for name in ("train_batch_size", "eval_batch_size", "predict_batch_size"):
      if getattr(self, name) < 1:
        raise UsageError("--%s must be >= 1, got %d" % (name, getattr(self, name)))
    if self.max_seq_length < 3:
      raise UsageError("--max_seq_length must be at least 3 ([CLS] text [SEP]), got %d" % self.max_seq_length)
    if self.num_train_steps is not None and self.num_train_steps < 1:
      raise UsageError("--num_train_steps must be >= 1, got %d" % self.num_train_steps)


def args_from_flags(args_class, flag_values=flags.FLAGS):
  """A stage's Args dataclass with every field read from the parsed flag of the same name."""
  return args_class(**{field.name: flag_values[field.name].value for field in dataclasses.fields(args_class)})


def define_finetuning_flags(modes, max_seq_length, flag_values=flags.FLAGS):
  """Defines the shared flags of a fine-tuning script (run_classifier, run_squad, run_sentence_embedding).

  Args:
    modes: the script's do_<mode> flags, e.g. ("train", "eval", "predict").
    max_seq_length: Google's default for the script (128, or 384 for run_squad.py).
    flag_values: the FlagValues to define them in (absl's global FLAGS by default).
  """
  define_model_flags(flag_values)
  define_tokenizer_flags(flag_values)
  define_max_seq_length_flag(max_seq_length, flag_values)
  define_run_flags(modes, flag_values)
  define_training_flags(flag_values)
  define_tpu_flags(flag_values)
  define_accelerator_flags(flag_values)
