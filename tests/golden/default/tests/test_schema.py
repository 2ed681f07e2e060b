"""The request contract: what it accepts and what it rejects, without a server."""

import math

import pytest
from pydantic import TypeAdapter, ValidationError

from iris_classifier.schema import (
    EXAMPLE_ROW,
    FEATURE_MAX,
    MAX_BATCH_SIZE,
    N_FEATURES,
    Batch,
    FeatureVector,
)

features = TypeAdapter(FeatureVector)
batch = TypeAdapter(Batch)


def test_example_row_is_valid() -> None:
    assert features.validate_python(list(EXAMPLE_ROW)) == list(EXAMPLE_ROW)


@pytest.mark.parametrize(
    "row",
    [
        [1.0] * (N_FEATURES - 1),
        [1.0] * (N_FEATURES + 1),
        [math.nan, *EXAMPLE_ROW[1:]],
        [math.inf, *EXAMPLE_ROW[1:]],
        [-1.0, *EXAMPLE_ROW[1:]],
        [FEATURE_MAX + 1, *EXAMPLE_ROW[1:]],
        ["five", *EXAMPLE_ROW[1:]],
    ],
)
def test_invalid_rows_are_rejected(row: list) -> None:
    with pytest.raises(ValidationError):
        features.validate_python(row)


def test_batch_bounds() -> None:
    assert len(batch.validate_python([list(EXAMPLE_ROW)] * MAX_BATCH_SIZE)) == MAX_BATCH_SIZE
    with pytest.raises(ValidationError, match="at least 1 item"):
        batch.validate_python([])
    with pytest.raises(ValidationError, match=f"at most {MAX_BATCH_SIZE} items"):
        batch.validate_python([list(EXAMPLE_ROW)] * (MAX_BATCH_SIZE + 1))
