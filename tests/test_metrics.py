"""bert.metrics against scikit-learn/scipy on random predictions, and the degenerate cases (no NaN, no crash)."""
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from sklearn import metrics as sk_metrics

from bert import metrics


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_match_sklearn_on_random_predictions(seed):
  rng = np.random.RandomState(seed)
  labels = rng.randint(0, 2, size=200)
  predictions = np.where(rng.rand(200) < 0.7, labels, 1 - labels)  # ~70% right, so metrics are non-trivial
  assert metrics.accuracy(labels, predictions) == pytest.approx(sk_metrics.accuracy_score(labels, predictions))
  assert metrics.f1(labels, predictions) == pytest.approx(sk_metrics.f1_score(labels, predictions))
  assert metrics.mcc(labels, predictions) == pytest.approx(sk_metrics.matthews_corrcoef(labels, predictions))
  assert 0.2 < metrics.mcc(labels, predictions) < 0.6


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_metrics_match_sklearn(seed):
  rng = np.random.RandomState(seed)
  labels = rng.randint(0, 6, size=300)
  predictions = np.where(rng.rand(300) < 0.5, labels, rng.randint(0, 6, size=300))
  assert metrics.accuracy(labels, predictions) == pytest.approx(float(np.mean(labels == predictions)))
  assert metrics.macro_f1(labels, predictions) == pytest.approx(
      sk_metrics.f1_score(labels, predictions, average="macro"))
  assert metrics.mcc(labels, predictions) == pytest.approx(sk_metrics.matthews_corrcoef(labels, predictions))


@pytest.mark.parametrize("seed", range(3))
def test_correlations_match_scipy(seed):
  rng = np.random.RandomState(seed)
  labels = rng.uniform(0, 5, size=150)
  predictions = labels + rng.normal(0, 1.5, size=150)
  assert metrics.pearson(labels, predictions) == pytest.approx(scipy_stats.pearsonr(labels, predictions)[0])
  assert metrics.spearman(labels, predictions) == pytest.approx(scipy_stats.spearmanr(labels, predictions)[0])
  assert metrics.mse(labels, predictions) == pytest.approx(float(np.mean((labels - predictions) ** 2)))


def test_single_class_predictions_give_mcc_zero_not_nan():
  labels = [0, 1, 1, 0, 1]
  assert metrics.mcc(labels, [1] * 5) == 0.0
  assert metrics.mcc([1] * 5, [1] * 5) == 0.0  # one class on both sides
  assert metrics.mcc(labels, labels) == pytest.approx(1.0)


def test_f1_without_positives_is_zero():
  assert metrics.f1([0, 0, 0], [0, 0, 0]) == 0.0
  assert metrics.f1([1, 1, 0], [0, 0, 0]) == 0.0
  assert metrics.f1([1, 1, 0], [1, 1, 0]) == pytest.approx(1.0)


def test_constant_inputs_give_zero_correlation():
  assert metrics.pearson([1.0, 2.0, 3.0], [2.5, 2.5, 2.5]) == 0.0
  assert metrics.spearman([4.0, 4.0, 4.0], [1.0, 2.0, 3.0]) == 0.0
  assert metrics.pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)


def test_compute_metrics_adds_glue_combined_scores():
  result = metrics.compute_metrics(["f1", "accuracy"], [1, 0, 1, 1], [1, 0, 0, 1])
  assert result["accuracy"] == pytest.approx(0.75)
  assert result["f1"] == pytest.approx(0.8)
  assert result["acc_and_f1"] == pytest.approx(0.775)
  correlation = metrics.compute_metrics(["pearson", "spearman"], [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0])
  assert correlation["corr"] == pytest.approx((correlation["pearson"] + correlation["spearman"]) / 2)
  assert all(not math.isnan(value) for value in correlation.values())


def test_compute_metrics_rejects_bad_input():
  with pytest.raises(ValueError, match="unknown metric 'bleu'"):
    metrics.compute_metrics(["bleu"], [1], [1])
  with pytest.raises(ValueError, match="differ in shape"):
    metrics.accuracy([1, 0], [1])
  with pytest.raises(ValueError, match="no examples"):
    metrics.accuracy([], [])
