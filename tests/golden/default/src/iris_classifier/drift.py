"""Input and prediction drift: the population stability index (PSI) over a sliding window.

Training saves, with the model, a reference for each feature (numeric: quantile bin edges and
proportions; categorical: the share of each value) and for the model's own predictions on its
training data (a classifier: the class mix; a regressor: quantile bins of the values), in
reference.json. Each worker keeps its last WINDOW_ROWS inputs and predictions and, every
RECOMPUTE_EVERY rows, compares their distribution with the reference and sets the gauges
`model_input_drift_psi{feature}` and `model_prediction_drift_psi`. Rule of thumb: PSI below 0.1 is
stable, 0.1 to 0.2 a moderate shift, above 0.2 a significant one (the alert's threshold). Missing
values are left out of a feature's distribution; `model_input_missing_total` counts them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from .distributions import category_proportions
from .metrics import INPUT_DRIFT, PREDICTION_DRIFT

WINDOW_ROWS = 2000
MIN_ROWS = 200
RECOMPUTE_EVERY = 100
EPSILON = 1e-4


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of two distributions over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def bin_proportions(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Proportions of values in the reference bins; values outside fall into the end bins."""
    inner = np.asarray(edges[1:-1], dtype=float)
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return counts / max(len(values), 1)


def distribution_psi(stats: dict[str, Any], values: np.ndarray) -> float | None:
    """PSI of observed values against one reference entry; None when nothing was observed."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return None
    if stats["kind"] == "numeric":
        return psi(stats["proportions"], bin_proportions(values, stats["bin_edges"]))
    expected = list(stats["proportions"].values())
    return psi(expected, category_proportions(values, len(expected)))


class DriftMonitor:
    """Sliding-window PSI of each input feature and of the predictions."""

    def __init__(self, reference: dict[str, Any], feature_names: Sequence[str]) -> None:
        self.features = [reference["features"][name] for name in feature_names]
        self.feature_names = tuple(feature_names)
        self.output = reference["output"]
        self.rows: deque[np.ndarray] = deque(maxlen=WINDOW_ROWS)
        self.outputs: deque[float] = deque(maxlen=WINDOW_ROWS)
        self.since_recompute = 0
        self.lock = threading.Lock()

    def observe(self, matrix: np.ndarray, outputs: Sequence[float]) -> None:
        """Encoded input rows and, per row, the predicted class index or the predicted value."""
        with self.lock:
            self.rows.extend(matrix)
            self.outputs.extend(outputs)
            self.since_recompute += len(matrix)
            if self.since_recompute < RECOMPUTE_EVERY or len(self.rows) < MIN_ROWS:
                return
            self.since_recompute = 0
            window = np.asarray(self.rows, dtype=float)
            window_outputs = np.asarray(self.outputs, dtype=float)
        for index, name in enumerate(self.feature_names):
            value = distribution_psi(self.features[index], window[:, index])
            if value is not None:
                INPUT_DRIFT.labels(feature=name).set(value)
        value = distribution_psi(self.output, window_outputs)
        if value is not None:
            PREDICTION_DRIFT.set(value)
