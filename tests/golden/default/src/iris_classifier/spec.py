"""The language a model contract is written in, and the check every contract must pass.

Your team's model lives in `contract.py` (team-owned, never touched by template updates). It
declares, with the types below:

    TASK      Classification(classes=(...)) or Regression() (tasks.py)
    FEATURES  the inputs by name, each Numeric (bounds), Integer (a whole Numeric) or
              Categorical (allowed values)
    EXAMPLES  valid requests: the service predicts them at start before it reports ready, the
              OpenAPI document shows them, and the generic tests send them
    CREDENTIALS  (optional) the names of the credentials the model needs at run time, such as
              ("FEATURE_STORE_TOKEN",): the service is not ready and a batch run fails until
              each is set (credentials.py: read one with `credentials.read(name)`)
    train(config) -> TrainingResult       load data, fit, evaluate on held-out data
    save(model, directory) / load(directory) -> model      the artifact on disk
    predict(model, X) -> array            a batch: class probabilities (rows x classes) for a
                                          classifier (a binary one may give the second class's
                                          probability alone), one value per row for a regressor

Everything else in this package is the platform's: it reads the contract and names no feature,
class or dataset. `X` is always a float64 matrix with one column per feature in FEATURES order:
numbers as given, a categorical as the index of its value in `values`, a missing value as NaN.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

# The task kinds are spelled here too: a contract imports them from spec (`from .spec import ...`).
from . import credentials as credential_rules
from . import tasks
from .tasks import Classification as Classification
from .tasks import ContractError as ContractError
from .tasks import Regression as Regression
from .tasks import Task

FEATURE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Names the service's endpoints take for themselves.
RESERVED_NAMES = frozenset({"ctx", "context", "instances", "model_version"})
REQUIRED_NAMES = ("TASK", "FEATURES", "EXAMPLES", "train", "save", "load", "predict")


@dataclass(frozen=True)
class Numeric:
    """A number within [minimum, maximum]; None is accepted only when nullable."""

    name: str
    minimum: float
    maximum: float
    description: str = ""
    nullable: bool = False

    kind = "numeric"


@dataclass(frozen=True)
class Integer(Numeric):
    """A whole number within [minimum, maximum]: 12 or 12.0, never 12.7 (a count, months, an
    age in years). Everywhere else it is a Numeric: encoded, monitored and drift-checked alike."""

    kind = "integer"


@dataclass(frozen=True)
class Categorical:
    """One of a fixed set of string values; None is accepted only when nullable."""

    name: str
    values: tuple[str, ...]
    description: str = ""
    nullable: bool = False

    kind = "categorical"


Feature = Numeric | Categorical


@dataclass(frozen=True)
class TrainingResult:
    """What `train(config)` returns: the model, its held-out metrics and the data it learnt from.

    features: the training rows as the encoded matrix (`encode`), one column per feature.
    target:   the training targets (class indices or values); hashed for lineage.
    dataset:  where the data came from (a table, a path, a query), recorded as lineage.
    """

    model: Any
    metrics: Mapping[str, float]
    features: np.ndarray
    target: np.ndarray
    dataset: str
    n_test: int
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Contract:
    """A checked model contract."""

    task: Task
    features: tuple[Feature, ...]
    examples: tuple[dict[str, Any], ...]
    train: Callable[[dict[str, Any]], TrainingResult]
    save: Callable[[Any, Any], None]
    load: Callable[[Any], Any]
    predict: Callable[[Any, np.ndarray], np.ndarray]
    # Declared by name; a contract without CREDENTIALS needs none.
    credentials: tuple[str, ...] = ()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


def encode(features: Sequence[Feature], rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Rows of named values as the float64 matrix `predict` takes (see the module docstring)."""
    matrix = np.empty((len(rows), len(features)), dtype=np.float64)
    for column, feature in enumerate(features):
        if isinstance(feature, Categorical):
            index = {value: float(i) for i, value in enumerate(feature.values)}
            matrix[:, column] = [
                math.nan if row.get(feature.name) is None else index[row[feature.name]]
                for row in rows
            ]
        else:
            matrix[:, column] = [
                math.nan if row.get(feature.name) is None else row[feature.name] for row in rows
            ]
    return matrix


def _check_feature(feature: object, seen: set[str]) -> list[str]:
    if not isinstance(feature, Numeric | Categorical):
        return [f"FEATURES: {feature!r} is not a Numeric or a Categorical feature"]
    name = feature.name
    problems = []
    if not isinstance(name, str) or not FEATURE_NAME.match(name) or keyword.iskeyword(name):
        problems.append(
            f"FEATURES: the name {name!r} must be lower case letters, digits and _, start with a"
            " letter, at most 63 characters, and not a Python keyword"
        )
    elif name in RESERVED_NAMES:
        problems.append(f"FEATURES: the name {name!r} is reserved by the service")
    elif name in seen:
        problems.append(f"FEATURES: {name!r} is declared twice")
    seen.add(name)
    if isinstance(feature, Numeric):
        bounds = (feature.minimum, feature.maximum)
        if not all(isinstance(b, int | float) and math.isfinite(b) for b in bounds):
            problems.append(f"FEATURES: {name!r} needs finite numeric minimum and maximum")
        elif feature.minimum >= feature.maximum:
            problems.append(f"FEATURES: {name!r} has minimum {feature.minimum} >= maximum")
    else:
        values = feature.values
        if (
            not isinstance(values, tuple)
            or not values
            or not all(isinstance(v, str) and v for v in values)
        ):
            problems.append(f"FEATURES: {name!r} needs `values`, a tuple of non-empty strings")
        elif len(set(values)) != len(values):
            problems.append(f"FEATURES: {name!r} lists a value twice")
    return problems


def _check_example(index: int, example: object, features: Sequence[Feature]) -> list[str]:
    where = f"EXAMPLES[{index}]"
    if not isinstance(example, dict):
        return [f"{where} must be a dict of feature name to value"]
    problems = []
    names = {f.name for f in features}
    for extra in sorted(set(example) - names):
        problems.append(f"{where} has {extra!r}, which is not in FEATURES")
    for feature in features:
        value = example.get(feature.name)
        if value is None:
            if not feature.nullable:
                problems.append(f"{where} lacks {feature.name!r} (not nullable)")
        elif isinstance(feature, Categorical):
            if value not in feature.values:
                problems.append(f"{where}[{feature.name!r}] = {value!r} is not one of its values")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{where}[{feature.name!r}] = {value!r} is not a number")
        elif isinstance(feature, Integer) and not float(value).is_integer():
            problems.append(f"{where}[{feature.name!r}] = {value!r} is not a whole number")
        elif not feature.minimum <= value <= feature.maximum:
            problems.append(
                f"{where}[{feature.name!r}] = {value!r} is outside"
                f" [{feature.minimum}, {feature.maximum}]"
            )
    return problems


def check(module: ModuleType) -> Contract:
    """The contract a module declares, or ContractError listing every rule it breaks."""
    where = getattr(module, "__file__", module.__name__)
    missing = [name for name in REQUIRED_NAMES if not hasattr(module, name)]
    if missing:
        raise ContractError(
            f"{where} must define {', '.join(missing)} (see the docstring of spec.py)"
        )
    problems: list[str] = []
    task = module.TASK
    problems.extend(task.problems() if tasks.is_task(task) else [tasks.describe(task)])
    features = module.FEATURES
    if not isinstance(features, tuple | list) or not features:
        problems.append("FEATURES must be a non-empty tuple of Numeric and Categorical")
        features = ()
    seen: set[str] = set()
    for feature in features:
        problems.extend(_check_feature(feature, seen))
    examples = module.EXAMPLES
    if not isinstance(examples, tuple | list) or not examples:
        problems.append("EXAMPLES must be a non-empty tuple of valid requests")
        examples = ()
    if not problems:
        for index, example in enumerate(examples):
            problems.extend(_check_example(index, example, features))
    for name in ("train", "save", "load", "predict"):
        if not callable(getattr(module, name)):
            problems.append(f"{name} must be a function")
    declared = getattr(module, "CREDENTIALS", ())
    problems.extend(credential_rules.problems(declared))
    if problems:
        raise ContractError(f"{where} breaks the model contract:\n  " + "\n  ".join(problems))
    return Contract(
        task=task,
        features=tuple(features),
        examples=tuple(dict(e) for e in examples),
        train=module.train,
        save=module.save,
        load=module.load,
        predict=module.predict,
        credentials=tuple(declared) if isinstance(declared, tuple | list) else (),
    )


def check_predictions(contract: Contract, output: object, rows: int) -> np.ndarray:
    """`predict`'s output as the task's array (tasks.py says which shapes), or ContractError."""
    return contract.task.outputs(output, rows)
