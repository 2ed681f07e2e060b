"""The model contract obeys the rules the platform relies on, and a broken one is refused with a
message that names what is wrong."""

from types import ModuleType

import numpy as np
import pytest

from iris_classifier import contract, spec
from iris_classifier.model import CONTRACT
from iris_classifier.settings import MODEL_TASK


def copy_of_contract(**changes: object) -> ModuleType:
    """The team's contract module with some names changed (None removes the name)."""
    module = ModuleType("contract_under_test")
    module.__dict__.update({name: getattr(contract, name) for name in spec.REQUIRED_NAMES})
    for name, value in changes.items():
        if value is None:
            del module.__dict__[name]
        else:
            setattr(module, name, value)
    return module


def test_the_contract_is_valid_and_its_task_is_the_answered_one() -> None:
    assert spec.check(contract) is not None
    assert CONTRACT.task.name == MODEL_TASK, (
        f"contract.py declares a {CONTRACT.task.name} model, but the answers say {MODEL_TASK}:"
        f" the dashboard and alerts follow the answers; run"
        f" `copier update --trust -d model_task={CONTRACT.task.name}`"
    )


def test_the_examples_predict_with_the_shape_of_the_task(training_result) -> None:
    rows = spec.encode(CONTRACT.features, CONTRACT.examples)
    output = CONTRACT.predict(training_result.model, rows)
    assert spec.check_predictions(CONTRACT, output, len(rows)).shape[0] == len(rows)


@pytest.mark.parametrize("name", spec.REQUIRED_NAMES)
def test_a_missing_name_is_refused_by_name(name: str) -> None:
    with pytest.raises(spec.ContractError, match=f"must define {name}"):
        spec.check(copy_of_contract(**{name: None}))


def test_an_unknown_feature_type_is_refused() -> None:
    with pytest.raises(spec.ContractError, match="is not a Numeric or a Categorical feature"):
        spec.check(copy_of_contract(FEATURES=(*contract.FEATURES, "price")))


def test_an_example_outside_the_contract_is_refused_naming_the_feature() -> None:
    feature = CONTRACT.features[0]
    bad = {**CONTRACT.examples[0], feature.name: "no-such-value"}
    with pytest.raises(spec.ContractError, match=rf"EXAMPLES\[0\]\['{feature.name}'\]"):
        spec.check(copy_of_contract(EXAMPLES=(bad,)))


def test_a_bad_feature_name_and_empty_bounds_are_refused() -> None:
    features = (spec.Numeric("Price", 0, 1), spec.Numeric("size", 2, 1))
    with pytest.raises(spec.ContractError) as refused:
        spec.check(copy_of_contract(FEATURES=features, EXAMPLES=({},)))
    assert "'Price' must be lower case" in str(refused.value)
    assert "'size' has minimum 2 >= maximum" in str(refused.value)


def test_an_integer_example_with_a_fraction_is_refused() -> None:
    features = (spec.Integer("count", 0, 10), spec.Integer("size", 0, 10))
    examples = ({"count": 3, "size": 2.0}, {"count": 2.5, "size": 1})
    with pytest.raises(spec.ContractError, match=r"EXAMPLES\[1\]\['count'\] = 2.5 is not a whole"):
        spec.check(copy_of_contract(FEATURES=features, EXAMPLES=examples))


def test_predictions_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(spec.ContractError, match="predict returned shape"):
        spec.check_predictions(CONTRACT, np.zeros((3, 7)), 2)


def test_encoding_is_by_position_with_nan_for_missing() -> None:
    features = (spec.Numeric("a", 0, 10, nullable=True), spec.Categorical("b", ("x", "y")))
    matrix = spec.encode(features, [{"a": 2.5, "b": "y"}, {"a": None, "b": "x"}])
    assert matrix[0].tolist() == [2.5, 1.0]
    assert np.isnan(matrix[1, 0]) and matrix[1, 1] == 0.0


def test_credentials_are_optional_and_a_bad_name_is_refused_by_its_rule() -> None:
    assert spec.check(copy_of_contract()).credentials == ()
    declared = spec.check(copy_of_contract(CREDENTIALS=("SERVICE_TOKEN",)))
    assert declared.credentials == ("SERVICE_TOKEN",)
    with pytest.raises(spec.ContractError) as refused:
        spec.check(copy_of_contract(CREDENTIALS=("service-token", "LOG_LEVEL", "KEY", "KEY")))
    assert "'service-token' is not an environment variable name" in str(refused.value)
    assert "'LOG_LEVEL' is one the platform sets itself" in str(refused.value)
    assert "'KEY' is declared twice" in str(refused.value)
    with pytest.raises(spec.ContractError, match="must be a tuple of names"):
        spec.check(copy_of_contract(CREDENTIALS="SERVICE_TOKEN"))
