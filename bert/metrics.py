"""Evaluation metrics of the GLUE/CLUE benchmarks, computed with scikit-learn and scipy.

Every function takes gold labels and predictions as sequences (label ids for classification, floats for
regression) and returns a Python float. Degenerate inputs never produce NaN or an exception:
- Matthews correlation is 0.0 when either side has a single class (scikit-learn's convention);
- F1 is 0.0 when there is no predicted and no gold positive (zero_division=0);
- Pearson/Spearman are 0.0 when either side is constant (the correlation is undefined).
"""
import warnings

import numpy as np
from scipy import stats as scipy_stats
from sklearn import metrics as sk_metrics

# The names DataProcessor.metric_names may list.
CLASSIFICATION_METRICS = ("accuracy", "f1", "macro_f1", "mcc")
REGRESSION_METRICS = ("pearson", "spearman", "mse")


def accuracy(labels, predictions):
  """Fraction of exact matches."""
  labels, predictions = _arrays(labels, predictions)
  return float(sk_metrics.accuracy_score(labels, predictions))


def f1(labels, predictions, positive_label=1):
  """Binary F1 of the positive class (MRPC/QQP: label id 1); 0.0 when undefined."""
  labels, predictions = _arrays(labels, predictions)
  return float(sk_metrics.f1_score(labels, predictions, pos_label=positive_label, average="binary",
                                   labels=[positive_label], zero_division=0))


def macro_f1(labels, predictions):
  """Unweighted mean of the per-class F1 over the classes seen in labels or predictions."""
  labels, predictions = _arrays(labels, predictions)
  return float(sk_metrics.f1_score(labels, predictions, average="macro", zero_division=0))


def mcc(labels, predictions):
  """Matthews correlation coefficient (CoLA); 0.0 when a side has a single class."""
  labels, predictions = _arrays(labels, predictions)
  with warnings.catch_warnings():
    # Undefined cases (a single class) warn and yield 0 or NaN; both mean "no correlation" here.
    warnings.simplefilter("ignore")
    value = sk_metrics.matthews_corrcoef(labels, predictions)
  return 0.0 if np.isnan(value) else float(value)


def pearson(labels, predictions):
  """Pearson correlation (STS-B); 0.0 when either side is constant."""
  labels, predictions = _arrays(labels, predictions, dtype=np.float64)
  if _constant(labels) or _constant(predictions):
    return 0.0
  return float(scipy_stats.pearsonr(labels, predictions)[0])


def spearman(labels, predictions):
  """Spearman rank correlation (STS-B); 0.0 when either side is constant."""
  labels, predictions = _arrays(labels, predictions, dtype=np.float64)
  if _constant(labels) or _constant(predictions):
    return 0.0
  return float(scipy_stats.spearmanr(labels, predictions)[0])


def mse(labels, predictions):
  """Mean squared error."""
  labels, predictions = _arrays(labels, predictions, dtype=np.float64)
  return float(sk_metrics.mean_squared_error(labels, predictions))


_FUNCTIONS = {"accuracy": accuracy, "f1": f1, "macro_f1": macro_f1, "mcc": mcc, "pearson": pearson,
              "spearman": spearman, "mse": mse}


def compute_metrics(metric_names, labels, predictions):
  """Computes the named metrics.

  When both F1 and accuracy are asked for (MRPC, QQP) their mean `acc_and_f1` is added, and Pearson+Spearman
  give `corr` (their mean), as GLUE reports them.

  Args:
    metric_names: iterable of names from CLASSIFICATION_METRICS / REGRESSION_METRICS.
    labels: gold label ids (or floats).
    predictions: predicted label ids (or floats), same length.

  Returns:
    dict name -> float.

  Raises:
    ValueError: unknown metric name, or labels/predictions of different lengths or empty.
  """
  results = {}
  for name in metric_names:
    if name not in _FUNCTIONS:
      raise ValueError("unknown metric %r (known: %s)" % (name, ", ".join(sorted(_FUNCTIONS))))
    results[name] = _FUNCTIONS[name](labels, predictions)
  if "f1" in results and "accuracy" in results:
    results["acc_and_f1"] = (results["f1"] + results["accuracy"]) / 2.0
  if "pearson" in results and "spearman" in results:
    results["corr"] = (results["pearson"] + results["spearman"]) / 2.0
  return results


def _arrays(labels, predictions, dtype=None):
  labels = np.asarray(labels, dtype=dtype)
  predictions = np.asarray(predictions, dtype=dtype)
  if labels.shape != predictions.shape:
    raise ValueError("labels and predictions differ in shape: %s vs %s" % (labels.shape, predictions.shape))
  if labels.size == 0:
    raise ValueError("no examples to score")
  return labels, predictions


def _constant(values):
  return bool(np.all(values == values[0]))
