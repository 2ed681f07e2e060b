"""Input and prediction drift: the population stability index (PSI) over a sliding window.

Training saves, with the model, each feature's quantile bin edges and proportions and the class
proportions (reference.json). Each worker keeps its last WINDOW_ROWS inputs and predicted labels
and, every RECOMPUTE_EVERY rows, compares their distribution with the reference and sets the
gauges `model_input_drift_psi{feature}` and `model_prediction_drift_psi`. Rule of thumb: PSI
below 0.1 is stable, 0.1 to 0.2 a moderate shift, above 0.2 a significant one (the alert's
threshold).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

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


class DriftMonitor:
    """Sliding-window PSI of each input feature and of the predicted classes."""

    def __init__(self, reference: dict[str, Any], feature_names: Sequence[str]) -> None:
        self.reference = reference
        self.feature_names = tuple(feature_names)
        self.rows: deque[Sequence[float]] = deque(maxlen=WINDOW_ROWS)
        self.labels: deque[str] = deque(maxlen=WINDOW_ROWS)
        self.since_recompute = 0
        self.lock = threading.Lock()

    def observe(self, rows: Sequence[Sequence[float]], labels: Sequence[str]) -> None:
        with self.lock:
            self.rows.extend(rows)
            self.labels.extend(labels)
            self.since_recompute += len(rows)
            if self.since_recompute < RECOMPUTE_EVERY or len(self.rows) < MIN_ROWS:
                return
            self.since_recompute = 0
            window = np.asarray(self.rows, dtype=float)
            window_labels = list(self.labels)
        for index, name in enumerate(self.feature_names):
            stats = self.reference["features"][name]
            actual = bin_proportions(window[:, index], stats["bin_edges"])
            INPUT_DRIFT.labels(feature=name).set(psi(stats["proportions"], actual))
        classes = self.reference["classes"]
        actual_classes = [window_labels.count(c) / len(window_labels) for c in classes]
        PREDICTION_DRIFT.set(psi(list(classes.values()), actual_classes))
