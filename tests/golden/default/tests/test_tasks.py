"""The task kinds (tasks.py) on made-up tasks, apart from the team's contract: the shapes predict
may return, and the response, batch columns and metrics each kind derives from them."""

import numpy as np
import pytest

from iris_classifier.spec import Classification, ContractError, Regression

BINARY = Classification(classes=("first", "second"))
THREE = Classification(classes=("a", "b", "c"))


def test_a_binary_classifier_may_give_the_second_class_probability_alone() -> None:
    for raw in (np.array([0.2, 0.9]), np.array([[0.2], [0.9]]), [0.2, 0.9]):
        outputs = BINARY.outputs(raw, 2)
        np.testing.assert_allclose(outputs, [[0.8, 0.2], [0.1, 0.9]])
    assert [r["label"] for r in BINARY.responses(BINARY.outputs([0.2, 0.9], 2))] == [
        "first",
        "second",
    ]


def test_one_column_outside_0_and_1_is_refused_naming_the_class() -> None:
    with pytest.raises(ContractError, match=r"outside \[0, 1\].*'second'"):
        BINARY.outputs([0.2, 1.5], 2)


@pytest.mark.parametrize(
    ("task", "raw", "says"),
    [
        (THREE, np.zeros(2), r"shape \(2,\); the task needs class probabilities"),
        (THREE, np.zeros((2, 2)), r"shape \(2, 2\); the task needs .* shape \(2, 3\)$"),
        (BINARY, np.zeros((2, 3)), "or one probability per row"),
        (Regression(), np.zeros((2, 2)), r"one value per row, shape \(2,\)"),
        (Regression(), [1.0, float("nan")], "NaN or infinite"),
    ],
)
def test_a_wrong_shape_or_value_says_what_the_task_needs(task, raw, says) -> None:
    with pytest.raises(ContractError, match=says):
        task.outputs(raw, 2)


def test_a_regressor_column_is_one_value_per_row() -> None:
    np.testing.assert_allclose(Regression().outputs(np.array([[1.5], [2.5]]), 2), [1.5, 2.5])


@pytest.mark.parametrize("task", [BINARY, THREE, Regression()], ids=lambda t: str(t))
def test_responses_batch_columns_and_counts_agree(task) -> None:
    rows = 4
    rng = np.random.default_rng(0)
    if isinstance(task, Classification):
        raw = rng.dirichlet(np.ones(len(task.classes)), size=rows)
    else:
        raw = rng.normal(size=rows)
    outputs = task.outputs(raw, rows)
    responses = task.responses(outputs)
    fields = [field.name for field in task.output_fields()]
    assert list(task.response_fields()) == fields
    assert all(list(response) == fields for response in responses)
    columns = task.columns(outputs)
    assert list(columns) == fields
    for name in fields:
        expected = [response[name] for response in responses]
        if name == "probabilities":  # a map in the response, a list in TASK order in the batch
            expected = [list(value.values()) for value in expected]
        assert columns[name].to_pylist() == expected
    counts = task.prediction_counts(task.observed(outputs))
    assert len(counts) == len(task.prediction_labels()) and sum(counts) == rows
