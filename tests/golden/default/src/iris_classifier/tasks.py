"""The task kinds a contract's TASK can be, each owning everything that differs between tasks.

The rest of the package asks the task and never branches on which one it is:

    problems()               the rules of TASK itself, for the contract check
    signature()              what a stored model was trained for (its classes, if any)
    outputs(raw, rows)       predict's result as the task's checked array
    observed(outputs)        one number per row that metrics and drift follow (class index, value)
    reference(observed)      the training predictions' summary that prediction drift compares with
    moved(new, old)          how far each row's prediction moved between two model versions
    response_fields()        the response body's fields (pydantic), without the model version;
                             response_doc describes them
    responses(outputs)       each row's response body
    output_fields()          the batch output's columns (pyarrow), in the response's order
    columns(outputs)         the batch output's columns for a chunk
    prediction_labels()      one label set per child of model_predictions_total
    prediction_counts(obs)   how many predictions each of those children counts
    value_buckets(ref)       bucket edges of model_prediction_value, or None when not recorded

This module is the task registry: TASKS is the one place that names every kind. A new kind (a
multi-label or a ranking task) is a class here with these methods, added to TASKS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .distributions import categorical_reference, numeric_reference


class ContractError(ValueError):
    """The model contract breaks a rule the platform relies on; the message says which."""


def _finite(array: np.ndarray) -> np.ndarray:
    if not np.isfinite(array).all():
        raise ContractError("predict returned a NaN or infinite value")
    return array


@dataclass(frozen=True)
class Classification:
    """Predicts one of `classes`, with a probability for each.

    predict returns class probabilities, one row per input row and one column per class in
    `classes` order; a binary classifier (two classes) may instead return one probability per
    row, that of the second class (scikit-learn's `predict_proba(X)[:, 1]`, a booster's binary
    output).
    """

    classes: tuple[str, ...]

    name = "classification"
    response_doc = "The predicted class, its probability and every class's probability."

    def problems(self) -> list[str]:
        classes = self.classes
        if not isinstance(classes, tuple) or len(classes) < 2:
            return ["TASK: a classification needs a tuple of at least 2 classes"]
        if not all(isinstance(c, str) and c for c in classes) or len(set(classes)) != len(classes):
            return ["TASK: classes must be distinct non-empty strings"]
        return []

    def signature(self) -> dict[str, Any]:
        return {"task": self.name, "classes": list(self.classes)}

    def outputs(self, raw: object, rows: int) -> np.ndarray:
        array = np.asarray(raw, dtype=np.float64)
        width = len(self.classes)
        if width == 2 and array.shape in {(rows,), (rows, 1)}:
            positive = array.reshape(rows)
            if ((positive < 0.0) | (positive > 1.0)).any():
                raise ContractError(
                    "predict returned one column with a value outside [0, 1]; a binary"
                    f" classifier's one column is the probability of {self.classes[1]!r}"
                )
            array = np.column_stack([1.0 - positive, positive])
        expected = (rows, width)
        if array.shape != expected:
            binary = " (or one probability per row, of the second class)" if width == 2 else ""
            raise ContractError(
                f"predict returned shape {array.shape}; the task needs class probabilities"
                f" (rows x classes), shape {expected}{binary}"
            )
        return _finite(array)

    def observed(self, outputs: np.ndarray) -> np.ndarray:
        return outputs.argmax(axis=1).astype(np.float64)

    def reference(self, observed: np.ndarray) -> dict[str, Any]:
        return categorical_reference(observed, self.classes)

    def moved(self, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        """The largest move of any class's probability."""
        return np.abs(new - old).max(axis=1)

    def response_fields(self) -> dict[str, Any]:
        return {
            "label": (Literal[self.classes], Field(description="The predicted class.")),
            "probability": (
                float,
                Field(ge=0.0, le=1.0, description="The probability of that class."),
            ),
            "probabilities": (
                dict[str, float],
                Field(description="The probability of each class."),
            ),
        }

    def responses(self, outputs: np.ndarray) -> list[dict[str, Any]]:
        classes = self.classes
        return [
            {
                "label": classes[best],
                "probability": row[best],
                "probabilities": dict(zip(classes, row, strict=True)),
            }
            for best, row in zip(outputs.argmax(axis=1).tolist(), outputs.tolist(), strict=True)
        ]

    def output_fields(self) -> list[Any]:
        import pyarrow as pa

        return [
            pa.field("label", pa.string()),
            pa.field("probability", pa.float64()),
            pa.field("probabilities", pa.list_(pa.float64())),
        ]

    def columns(self, outputs: np.ndarray) -> dict[str, Any]:
        import pyarrow as pa

        outputs = np.ascontiguousarray(outputs, dtype=np.float64)
        rows, width = outputs.shape
        best = outputs.argmax(axis=1)
        offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32), pa.int32())
        return {
            "label": pa.array(self.classes, pa.string()).take(pa.array(best)),
            "probability": pa.array(outputs[np.arange(rows), best], pa.float64()),
            "probabilities": pa.ListArray.from_arrays(offsets, pa.array(outputs.reshape(-1))),
        }

    def prediction_labels(self) -> list[dict[str, str]]:
        return [{"label": label} for label in self.classes]

    def prediction_counts(self, observed: np.ndarray) -> list[int]:
        return np.bincount(observed.astype(np.int64), minlength=len(self.classes)).tolist()

    def value_buckets(self, reference: dict[str, Any]) -> list[float] | None:
        return None


@dataclass(frozen=True)
class Regression:
    """Predicts one number per row: predict returns one value per input row."""

    name = "regression"
    response_doc = "The predicted value."

    def problems(self) -> list[str]:
        return []

    def signature(self) -> dict[str, Any]:
        return {"task": self.name, "classes": []}

    def outputs(self, raw: object, rows: int) -> np.ndarray:
        array = np.asarray(raw, dtype=np.float64)
        if array.shape == (rows, 1):
            array = array.reshape(rows)
        if array.shape != (rows,):
            raise ContractError(
                f"predict returned shape {array.shape}; the task needs one value per row,"
                f" shape {(rows,)}"
            )
        return _finite(array)

    def observed(self, outputs: np.ndarray) -> np.ndarray:
        return outputs

    def reference(self, observed: np.ndarray) -> dict[str, Any]:
        return numeric_reference(observed)

    def moved(self, new: np.ndarray, old: np.ndarray) -> np.ndarray:
        """The move in standard deviations of the old version's predictions."""
        return np.abs(new - old) / max(float(np.std(old)), 1e-12)

    def response_fields(self) -> dict[str, Any]:
        return {"value": (float, Field(description="The predicted value."))}

    def responses(self, outputs: np.ndarray) -> list[dict[str, Any]]:
        return [{"value": value} for value in outputs.tolist()]

    def output_fields(self) -> list[Any]:
        import pyarrow as pa

        return [pa.field("value", pa.float64())]

    def columns(self, outputs: np.ndarray) -> dict[str, Any]:
        import pyarrow as pa

        return {"value": pa.array(outputs, pa.float64())}

    def prediction_labels(self) -> list[dict[str, str]]:
        return [{}]

    def prediction_counts(self, observed: np.ndarray) -> list[int]:
        return [len(observed)]

    def value_buckets(self, reference: dict[str, Any]) -> list[float] | None:
        return sorted({float(f"{edge:.4g}") for edge in reference["output"]["bin_edges"]})


Task = Classification | Regression
TASKS = (Classification, Regression)


def is_task(value: object) -> bool:
    return isinstance(value, TASKS)


def describe(value: object) -> str:
    """Why value is not a TASK."""
    return f"TASK: {value!r} is not one of " + ", ".join(f"{k.__name__}(...)" for k in TASKS)
