"""The model contract of this service: the one module in this package your team owns.

Template updates never touch this file. Everything model-specific lives here, in the names the
platform reads (spec.py documents them): TASK, FEATURES, EXAMPLES, and the functions train, save,
load and predict; evaluation_data and evaluate let `make register` check a model
trained elsewhere. The service, its request schema, metrics, drift, tests, dashboard and alerts are
built from these names, so bringing your own model means editing this file,
config/training.toml and tests/test_model.py, and nothing else
(docs/how-to/replace-the-model.md in the template's documentation walks through it).

The example classifies iris flowers from four measurements, data that ships with scikit-learn,
with a scikit-learn pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .spec import Classification, Numeric, TrainingResult

TASK = Classification(classes=("setosa", "versicolor", "virginica"))

FEATURES = (
    Numeric("sepal_length_cm", minimum=0.0, maximum=30.0, description="Sepal length in cm."),
    Numeric("sepal_width_cm", minimum=0.0, maximum=30.0, description="Sepal width in cm."),
    Numeric("petal_length_cm", minimum=0.0, maximum=30.0, description="Petal length in cm."),
    Numeric("petal_width_cm", minimum=0.0, maximum=30.0, description="Petal width in cm."),
)

# Valid requests: predicted at start-up before the service reports ready, shown in the OpenAPI
# document, and sent by the generic tests. Keep them typical of real traffic.
EXAMPLES = (
    {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2},
    {"sepal_length_cm": 6.7, "sepal_width_cm": 3.0, "petal_length_cm": 5.2, "petal_width_cm": 2.3},
)


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    """The training rows encoded as spec.encode does (one column per feature, in FEATURES order),
    the targets, and where the data came from (recorded with the model as lineage)."""
    dataset = load_iris()
    return dataset.data.astype(np.float64), dataset.target, "sklearn.datasets.load_iris"


def train(config: dict[str, Any]) -> TrainingResult:
    """Fit on a training split and evaluate on the held-out rest (config/training.toml)."""
    data, params = config["data"], config["model"]
    features, target, source = load_data()
    x_train, x_test, y_train, y_test = train_test_split(
        features,
        target,
        test_size=data["test_size"],
        random_state=data["random_state"],
        stratify=target,
    )
    estimator = make_pipeline(
        StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"])
    )
    estimator.fit(x_train, y_train)
    model = estimator
    metrics = evaluate(model, x_test, y_test)
    return TrainingResult(
        model=model,
        metrics=metrics,
        features=x_train,
        target=y_train,
        dataset=source,
        n_test=len(y_test),
        params=params,
    )


def evaluation_data(config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Held-out rows (encoded as spec.encode does) and their targets: `make register` measures the
    quality gate and the prediction shift against the version in production on them.

    They must be rows no model you register was trained on, or its metrics flatter it: here the
    split train() holds out (the same test_size and random_state), so a model trained elsewhere
    must be trained without these rows. Better still, a dated hold-out set nobody trains on.
    """
    data = config["data"]
    features, target, _ = load_data()
    _, x_test, _, y_test = train_test_split(
        features,
        target,
        test_size=data["test_size"],
        random_state=data["random_state"],
        stratify=target,
    )
    return x_test, y_test


def evaluate(model: Any, features: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """The metrics the quality gate of config/training.toml reads, on held-out rows."""
    predicted = predict(model, features).argmax(axis=1)
    return {
        "accuracy": float(accuracy_score(target, predicted)),
        "f1_macro": float(f1_score(target, predicted, average="macro")),
    }


def save(model: Any, directory: Path) -> None:
    """Write the model's artifact into directory (it becomes part of the model store version)."""
    joblib.dump(model, directory / "model.joblib")


def load(directory: Path) -> Any:
    """Read back what save wrote."""
    return joblib.load(directory / "model.joblib")


def predict(model: Any, features: np.ndarray) -> np.ndarray:
    """Class probabilities, one row per input row, one column per class in TASK order."""
    return model.predict_proba(features)
