"""The team's model contract, checked once, and loading a registered model version to predict.

A version in the model store holds the artifact the contract's `save` wrote (in `artifact/`) and
the training reference statistics for drift (`reference.json`); its metadata records the task and
the features it was trained on, checked against the contract before the model serves.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bentoml
import numpy as np

from . import contract as team_contract
from . import spec

ARTIFACT_DIR = "artifact"
REFERENCE_FILE = "reference.json"

CONTRACT = spec.check(team_contract)


@dataclass(frozen=True)
class LoadedModel:
    """A model version from the store, with the tag it was loaded by."""

    tag: str
    model: Any
    reference: dict[str, Any]

    @property
    def version(self) -> str:
        return self.tag.split(":", 1)[1]

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """The contract's prediction for encoded rows, checked for the task's shape."""
        output = CONTRACT.predict(self.model, matrix)
        return spec.check_predictions(CONTRACT, output, len(matrix))


def signature() -> dict[str, Any]:
    """What a stored model must have been trained for: the task, its classes and the features."""
    return {**CONTRACT.task.signature(), "feature_names": list(CONTRACT.feature_names)}


@contextmanager
def store_writer() -> Iterator[None]:
    """Hold the local model store for one writer (a save or an import) at a time.

    BentoML's store (1.4.40, `_internal/store.py`) rewrites its `latest` file in place after each
    save and reads it back, and lists every version's `model.yaml`: a second save at that moment
    reads an empty `latest` or a half-written version and fails. Two `make train` at once (two CI
    jobs on one runner, say) would lose one model; with this lock both land.
    """
    try:
        import fcntl
    except ImportError:  # Windows has no flock: saves there are not held apart
        yield
        return
    home = Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".model-store.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load(tag: str) -> LoadedModel:
    """Load a model by tag ("name:version" or "name:latest") from the local model store."""
    stored = bentoml.models.get(tag)
    metadata = stored.info.metadata
    expected = signature()
    trained = {key: metadata.get(key) for key in expected}
    if trained != expected:
        raise spec.ContractError(
            f"model {stored.tag} was trained for {trained}, but the contract now declares"
            f" {expected}: train and register a new version (`make train`)"
        )
    model = CONTRACT.load(Path(stored.path_of(ARTIFACT_DIR)))
    reference = json.loads(Path(stored.path_of(REFERENCE_FILE)).read_text())
    return LoadedModel(tag=str(stored.tag), model=model, reference=reference)
