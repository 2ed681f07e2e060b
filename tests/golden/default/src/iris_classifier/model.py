"""Loading a registered model from the BentoML model store and predicting with it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bentoml
import joblib
import numpy as np

MODEL_FILE = "model.joblib"
REFERENCE_FILE = "reference.json"


@dataclass(frozen=True)
class LoadedModel:
    """A model from the store, with the tag it was loaded by."""

    tag: str
    estimator: Any
    class_names: tuple[str, ...]
    reference: dict[str, Any]

    @property
    def version(self) -> str:
        return self.tag.split(":", 1)[1]

    def predict(self, rows: Sequence[Sequence[float]]) -> list[tuple[str, float]]:
        """Return the predicted class name and its probability for each row."""
        probabilities = self.estimator.predict_proba(np.asarray(rows, dtype=np.float64))
        best = probabilities.argmax(axis=1)
        return [
            (self.class_names[index], float(probabilities[row, index]))
            for row, index in enumerate(best)
        ]


def load(tag: str) -> LoadedModel:
    """Load a model by tag ("name:version" or "name:latest") from the local model store."""
    stored = bentoml.models.get(tag)
    estimator = joblib.load(stored.path_of(MODEL_FILE))
    class_names = tuple(stored.info.metadata["class_names"])
    reference = json.loads(Path(stored.path_of(REFERENCE_FILE)).read_text())
    return LoadedModel(
        tag=str(stored.tag), estimator=estimator, class_names=class_names, reference=reference
    )
