"""Train, evaluate on held-out data, apply the quality gate, and register the model with lineage.

    python -m <package>.train [--config config/training.toml]

A model that falls below a threshold in the config's [quality_gate] table is not registered, and the
command exits 1 naming each failed metric. A registered model carries in its store metadata: the
evaluation metrics, a SHA-256 of the training data, the git commit, the template version and the
parameters, so every served version can be traced back to what made it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bentoml
import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .model import MODEL_FILE, REFERENCE_FILE
from .schema import FEATURE_NAMES
from .settings import MODEL_NAME, OWNER_TEAM, SERVICE_NAME

DEFAULT_CONFIG = Path("config/training.toml")
REFERENCE_QUANTILES = 10


@dataclass(frozen=True)
class TrainingResult:
    estimator: Any
    class_names: tuple[str, ...]
    metrics: dict[str, float]
    data_sha256: str
    reference: dict[str, Any]
    n_train: int
    n_test: int


def load_config(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def dataset_sha256(features: np.ndarray, target: np.ndarray) -> str:
    """A stable fingerprint of the exact training data (values, shapes and dtypes)."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(features, dtype=np.float64), target.astype(np.int64)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def reference_statistics(features: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Per-feature quantile bin edges and proportions of the training data, for drift checks."""
    reference: dict[str, Any] = {"features": {}, "classes": {}}
    quantiles = np.linspace(0, 1, REFERENCE_QUANTILES + 1)
    for index, name in enumerate(FEATURE_NAMES):
        column = features[:, index]
        edges = np.unique(np.quantile(column, quantiles))
        counts, _ = np.histogram(column, bins=edges)
        reference["features"][name] = {
            "bin_edges": edges.tolist(),
            "proportions": (counts / counts.sum()).tolist(),
            "mean": float(column.mean()),
            "std": float(column.std()),
        }
    values, counts = np.unique(labels, return_counts=True)
    total = counts.sum()
    reference["classes"] = {
        str(value): float(count / total) for value, count in zip(values, counts, strict=True)
    }
    return reference


def train(config: dict[str, Any]) -> TrainingResult:
    data = config["data"]
    params = config["model"]
    dataset = load_iris()
    features, target = dataset.data, dataset.target
    class_names = tuple(str(name) for name in dataset.target_names)
    x_train, x_test, y_train, y_test = train_test_split(
        features,
        target,
        test_size=data["test_size"],
        random_state=data["random_state"],
        stratify=target,
    )
    estimator = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=params["C"], max_iter=params["max_iter"]),
    )
    estimator.fit(x_train, y_train)
    predicted = estimator.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    train_labels = np.asarray(class_names)[y_train]
    return TrainingResult(
        estimator=estimator,
        class_names=class_names,
        metrics=metrics,
        data_sha256=dataset_sha256(x_train, y_train),
        reference=reference_statistics(x_train, train_labels),
        n_train=len(y_train),
        n_test=len(y_test),
    )


def quality_gate_failures(metrics: dict[str, float], gate: dict[str, float]) -> list[str]:
    """Each `min_<metric>` threshold the metrics fall below, as a readable line."""
    failures = []
    for key, threshold in sorted(gate.items()):
        metric = key.removeprefix("min_")
        if metric not in metrics:
            failures.append(f"{metric}: no such metric (the gate names {key})")
        elif metrics[metric] < threshold:
            failures.append(f"{metric} {metrics[metric]:.4f} is below the threshold {threshold}")
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
    template_version = "unknown"
    answers = Path(".copier-answers.yml")
    if answers.exists():
        for line in answers.read_text().splitlines():
            if line.startswith("_commit:"):
                template_version = line.split(":", 1)[1].strip()
    return {"git_commit": commit, "git_dirty": dirty, "template_version": template_version}


def register(result: TrainingResult, config: dict[str, Any]) -> str:
    """Save the model to the BentoML model store with its lineage; return the new tag."""
    metadata = {
        "metrics": result.metrics,
        "training_data_sha256": result.data_sha256,
        "dataset": "sklearn.datasets.load_iris",
        "n_train": result.n_train,
        "n_test": result.n_test,
        "params": config["model"],
        "data_split": config["data"],
        "class_names": list(result.class_names),
        "feature_names": list(FEATURE_NAMES),
        **lineage(),
    }
    labels = {"service": SERVICE_NAME, "owner": OWNER_TEAM}
    with bentoml.models.create(MODEL_NAME, labels=labels, metadata=metadata) as stored:
        joblib.dump(result.estimator, stored.path_of(MODEL_FILE))
        Path(stored.path_of(REFERENCE_FILE)).write_text(json.dumps(result.reference, indent=2))
    return str(stored.tag)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    result = train(config)
    print(json.dumps({"metrics": result.metrics}))
    failures = quality_gate_failures(result.metrics, config.get("quality_gate", {}))
    if failures:
        for failure in failures:
            print(f"quality gate failed: {failure}", file=sys.stderr)
        print("the model was not registered", file=sys.stderr)
        return 1
    tag = register(result, config)
    print(f"registered {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
