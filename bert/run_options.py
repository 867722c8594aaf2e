"""RunOptions: how and where a stage runs (TPU/GPU/CPU placement, loop sizes, precision, optimizer, logging).

Built from flags by `bert.common_flags.run_options_from_flags`; library code and tests build it directly.
"""
import dataclasses

from bert.errors import UsageError


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
