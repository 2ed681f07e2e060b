"""How a distribution is summarised: the training reference of each feature and of the model's
predictions (saved with the model as reference.json), which drift.py compares live traffic with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

REFERENCE_QUANTILES = 10


def category_proportions(codes: np.ndarray, n_values: int) -> np.ndarray:
    """Proportions of each category code (0 .. n_values - 1)."""
    counts = np.bincount(codes.astype(np.int64), minlength=n_values)
    return counts / max(len(codes), 1)


def numeric_reference(values: np.ndarray) -> dict[str, Any]:
    """Quantile bin edges and the share of values in each bin."""
    present = values[~np.isnan(values)]
    if len(present) == 0:
        present = np.zeros(1)
    edges = np.unique(np.quantile(present, np.linspace(0, 1, REFERENCE_QUANTILES + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    counts, _ = np.histogram(present, bins=edges)
    return {
        "kind": "numeric",
        "bin_edges": edges.tolist(),
        "proportions": (counts / counts.sum()).tolist(),
        "mean": float(present.mean()),
        "std": float(present.std()),
    }


def categorical_reference(codes: np.ndarray, values: Sequence[str]) -> dict[str, Any]:
    """The share of each value, codes being indices into values (NaN: missing, left out)."""
    proportions = category_proportions(codes[~np.isnan(codes)], len(values))
    return {
        "kind": "categorical",
        "proportions": {v: float(p) for v, p in zip(values, proportions, strict=True)},
    }
