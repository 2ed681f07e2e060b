"""Model metrics exported on /metrics next to BentoML's own request metrics.

BentoML runs each worker as its own process and points prometheus_client at a shared multiprocess
directory, so these counters and histograms add up across workers on one scrape. Nothing here
names a feature or a class: the labels come from the model contract and its training reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from .model import CONTRACT
from .spec import Categorical

TASK = CONTRACT.task

PREDICTIONS = Counter(
    "model_predictions_total",
    "Predictions served, by predicted class (classifiers) and model version.",
    [*TASK.prediction_labels()[0], "model_version"],
)

REJECTED_INPUTS = Counter(
    "model_rejected_inputs_total",
    "Requests rejected before reaching the model, by endpoint and validation reason.",
    ["endpoint", "reason"],
)

# Each numeric input is recorded as its position in the training data: the fraction of training
# rows below it (0 at or below the training minimum, 1 at or above the maximum). One set of
# buckets then fits every feature, and an input that looks like training fills the deciles
# evenly: a skew on the dashboard is drift you can see.
QUANTILE_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.9999)
INPUT_QUANTILE = Histogram(
    "model_input_feature_quantile",
    "Position of each numeric input in its training distribution (0 = training minimum).",
    ["feature"],
    buckets=QUANTILE_BUCKETS,
)
INPUT_CATEGORIES = Counter(
    "model_input_category_total",
    "Values received for each categorical input.",
    ["feature", "value"],
)
INPUT_MISSING = Counter(
    "model_input_missing_total",
    "Null (missing) values received for each nullable input.",
    ["feature"],
)

MODEL_INFO = Gauge(
    "model_info",
    "1 for the model version each live worker serves.",
    # The registry's name and version of it ("none" when it did not come from the registry).
    ["model_name", "model_version", "registered_model", "registry_version"],
    multiprocess_mode="livemax",
)

INPUT_DRIFT = Gauge(
    "model_input_drift_psi",
    "Population stability index of each input feature over the recent window against training.",
    ["feature"],
    multiprocess_mode="livemax",
)

PREDICTION_DRIFT = Gauge(
    "model_prediction_drift_psi",
    "Population stability index of the predictions (class mix or value distribution) over the"
    " recent window against the model's predictions on its training data.",
    multiprocess_mode="livemax",
)

ALERT_THRESHOLD = Gauge(
    "model_alert_threshold",
    "Threshold of each data alert, from config/alerts.toml: the alert rules compare with it.",
    ["alert"],
    multiprocess_mode="livemax",
)

MODEL_READY = Gauge(
    "model_ready",
    "1 when every live worker has loaded its model and passed the warm-up prediction.",
    multiprocess_mode="livemin",
)

_PREDICTION_VALUES: dict[str, Histogram] = {}


def prediction_values(bucket_edges: Sequence[float]) -> Histogram:
    """The predicted values, bucketed at the model's training predictions' deciles (made once per
    process, when the model has loaded and its reference is known)."""
    if "histogram" not in _PREDICTION_VALUES:
        _PREDICTION_VALUES["histogram"] = Histogram(
            "model_prediction_value",
            "Predicted values, bucketed at the deciles of the model's training predictions.",
            buckets=bucket_edges,
        )
    return _PREDICTION_VALUES["histogram"]


class PredictionRecorder:
    """Counts each prediction (by class, for a classifier) and, where the task records them,
    the predicted values: the task says which (tasks.py)."""

    def __init__(self, version: str, reference: dict[str, Any]) -> None:
        self.counters = [
            PREDICTIONS.labels(**labels, model_version=version)
            for labels in TASK.prediction_labels()
        ]
        buckets = TASK.value_buckets(reference)
        self.values = None if buckets is None else prediction_values(buckets)

    def observe(self, observed: np.ndarray) -> None:
        """One number per prediction, as the task's observed() gives it."""
        for counter, count in zip(self.counters, TASK.prediction_counts(observed), strict=True):
            if count:
                counter.inc(count)
        if self.values is not None:
            for value in observed.tolist():
                self.values.observe(value)


class InputObserver:
    """Records each request's inputs: numeric quantiles, category counts and missing values."""

    def __init__(self, reference: dict[str, Any]) -> None:
        self.numeric: list[tuple[int, np.ndarray, np.ndarray, Any]] = []
        self.categorical: list[tuple[int, tuple[Any, ...]]] = []
        self.missing: dict[int, Any] = {}
        for index, feature in enumerate(CONTRACT.features):
            if feature.nullable:
                self.missing[index] = INPUT_MISSING.labels(feature=feature.name)
            if isinstance(feature, Categorical):
                children = tuple(
                    INPUT_CATEGORIES.labels(feature=feature.name, value=value)
                    for value in feature.values
                )
                self.categorical.append((index, children))
                continue
            stats = reference["features"][feature.name]
            edges = np.asarray(stats["bin_edges"], dtype=float)
            cdf = np.concatenate([[0.0], np.cumsum(stats["proportions"])])
            child = INPUT_QUANTILE.labels(feature=feature.name)
            self.numeric.append((index, edges, cdf, child))

    def observe(self, matrix: np.ndarray) -> None:
        for index, child in self.missing.items():
            count = int(np.isnan(matrix[:, index]).sum())
            if count:
                child.inc(count)
        for index, edges, cdf, child in self.numeric:
            column = matrix[:, index]
            for position in np.interp(column[~np.isnan(column)], edges, cdf):
                child.observe(position)
        for index, children in self.categorical:
            column = matrix[:, index]
            for code in column[~np.isnan(column)]:
                children[int(code)].inc()
