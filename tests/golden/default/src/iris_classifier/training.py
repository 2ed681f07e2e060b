"""Train with the team's contract, apply the quality gate, and register the model with lineage.

    python -m <package>.training [--config config/training.toml]      (`make train`)

`train(config)` in contract.py loads the data, fits and evaluates on held-out data. A model whose
metrics break a threshold in the config's [quality_gate] table (`min_<metric>` or
`max_<metric>`) is not registered, and the command exits 1 naming each failed metric. A registered
model carries in its store metadata: the metrics, a SHA-256 of the training data, where the data
came from, the git commit, the template version, the parameters, the task and the features, so
every served version can be traced back to what made it.
Then the version is registered in the model registry (the registry package) with the same lineage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import bentoml
import numpy as np

from .distributions import categorical_reference, numeric_reference
from .model import ARTIFACT_DIR, CONTRACT, REFERENCE_FILE, signature, store_writer
from .settings import MODEL_NAME, OWNER_TEAM, SERVICE_NAME, TEMPLATE_VERSION
from .spec import Categorical, ContractError, TrainingResult, check_predictions

DEFAULT_CONFIG = Path("config/training.toml")


def load_config(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def train(config: dict[str, Any]) -> TrainingResult:
    """The contract's training, with its result checked."""
    result = CONTRACT.train(config)
    if not isinstance(result, TrainingResult):
        raise ContractError(f"train(config) returned {type(result).__name__}, not TrainingResult")
    width = len(CONTRACT.features)
    if result.features.ndim != 2 or result.features.shape[1] != width:
        raise ContractError(
            f"TrainingResult.features has shape {result.features.shape}; it needs one column"
            f" per feature ({width}), encoded with spec.encode"
        )
    if len(result.target) != len(result.features):
        raise ContractError("TrainingResult.target needs one entry per training row")
    return result


def dataset_sha256(features: np.ndarray, target: np.ndarray) -> str:
    """A stable fingerprint of the exact training data (values, shapes and dtypes)."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(features, dtype=np.float64), np.asarray(target)):
        digest.update(str(array.shape).encode())
        digest.update(str(array.dtype).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def reference_statistics(features: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
    """Each feature's training distribution and the model's predictions on its training data."""
    reference: dict[str, Any] = {"features": {}}
    for index, feature in enumerate(CONTRACT.features):
        column = features[:, index].astype(np.float64)
        stats = (
            categorical_reference(column, feature.values)
            if isinstance(feature, Categorical)
            else numeric_reference(column)
        )
        stats["missing"] = float(np.isnan(column).mean())
        reference["features"][feature.name] = stats
    reference["output"] = CONTRACT.task.reference(CONTRACT.task.observed(outputs))
    return reference


def quality_gate_failures(metrics: Mapping[str, float], gate: Mapping[str, float]) -> list[str]:
    """Each `min_<metric>` the metrics fall below and `max_<metric>` they exceed, readably."""
    failures = []
    for key, threshold in sorted(gate.items()):
        bound, _, metric = key.partition("_")
        if bound not in {"min", "max"} or not metric:
            failures.append(f"{key}: a threshold is named min_<metric> or max_<metric>")
        elif metric not in metrics:
            failures.append(f"{metric}: no such metric (the gate names {key})")
        elif bound == "min" and metrics[metric] < threshold:
            failures.append(f"{metric} {metrics[metric]:.4f} is below the minimum {threshold}")
        elif bound == "max" and metrics[metric] > threshold:
            failures.append(f"{metric} {metrics[metric]:.4f} is above the maximum {threshold}")
    return failures


def _run_git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def lineage() -> dict[str, Any]:
    """Where this model came from: the git commit of the code and the template version."""
    commit = _run_git("rev-parse", "HEAD") or "unknown"
    dirty = bool(_run_git("status", "--porcelain", "--untracked-files=no"))
    return {"git_commit": commit, "git_dirty": dirty, "template_version": TEMPLATE_VERSION}


def register(result: TrainingResult, config: dict[str, Any]) -> str:
    """Save the model to the BentoML model store with its lineage; return the new tag.

    The artifact is saved and loaded back through the contract, and the reloaded model's
    predictions on the training data become the drift reference: a model that does not survive
    its own save and load is never registered.
    """
    metadata = {
        **signature(),
        "metrics": dict(result.metrics),
        "training_data_sha256": dataset_sha256(result.features, result.target),
        "dataset": result.dataset,
        "n_train": len(result.features),
        "n_test": result.n_test,
        "params": dict(result.params) or config.get("model", {}),
        "data_split": config.get("data", {}),
        **lineage(),
    }
    labels = {"service": SERVICE_NAME, "owner": OWNER_TEAM}
    # BentoML stores the version only when this block ends without an exception.
    with (
        store_writer(),
        bentoml.models.create(MODEL_NAME, labels=labels, metadata=metadata) as stored,
    ):
        artifact = Path(stored.path_of(ARTIFACT_DIR))
        artifact.mkdir()
        CONTRACT.save(result.model, artifact)
        reloaded = CONTRACT.load(artifact)
        outputs = check_predictions(
            CONTRACT, CONTRACT.predict(reloaded, result.features), len(result.features)
        )
        reference = reference_statistics(result.features, outputs)
        Path(stored.path_of(REFERENCE_FILE)).write_text(json.dumps(reference, indent=2))
    return str(stored.tag)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument(
        "--force", action="store_true", help="register despite a large prediction shift"
    )
    args = parser.parse_args(argv)
    config = load_config(args.config)
    result = train(config)
    print(json.dumps({"metrics": dict(result.metrics)}))
    failures = quality_gate_failures(result.metrics, config.get("quality_gate", {}))
    if failures:
        for failure in failures:
            print(f"quality gate failed: {failure}", file=sys.stderr)
        print("the model was not registered", file=sys.stderr)
        return 1
    tag = register(result, config)
    print(f"registered {tag}")
    # Then in the model registry (MLFLOW_TRACKING_URI, else the embedded one); imported here, so
    # training itself never waits for MLflow's import.
    from .registry import RegistryError, publish_trained

    try:
        return publish_trained(tag, force=args.force, config_path=args.config)
    except RegistryError as error:
        print(error, file=sys.stderr)
        print(f"{tag} is in the local store only: `make register MODEL_TAG={tag}`", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
