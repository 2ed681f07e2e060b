"""One chunk's check, column by column with the service's rules (payloads.py); only the rows
that check flags go through the per-row request model, which words every refusal."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import TypeAdapter, ValidationError

from ..model import CONTRACT
from ..payloads import ABSENT, Features, problem
from ..spec import Categorical, Feature, Integer, encode

# A list of rows, validated as the service validates a request's rows: same fields, same rules.
ROWS = TypeAdapter(list[Features])  # type: ignore[valid-type]


def _value(feature: Any, value: Any) -> Any:
    """A cell as the service would receive it in JSON: NaN and empty text are null; text in a
    numeric column is a number when it parses as one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not isinstance(feature, Categorical):
        text = value.strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            return value
    return value


def feature_rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    names = set(batch.schema.names)
    columns = {
        f.name: [_value(f, v) for v in batch.column(f.name).to_pylist()]
        for f in CONTRACT.features
        if f.name in names
    }
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ] or [{} for _ in range(batch.num_rows)]


def validate(rows: list[dict[str, Any]]) -> tuple[list[int], list[dict[str, Any]], dict[int, str]]:
    """(indices of the valid rows, their validated values, reason per refused row index)."""
    try:
        return list(range(len(rows))), [i.__dict__ for i in ROWS.validate_python(rows)], {}
    except ValidationError as error:
        problems: dict[int, list[str]] = {}
        for item in error.errors(include_url=False):
            index, *where = item["loc"]
            value = ABSENT if item["type"] == "missing" else item.get("input", ABSENT)
            problems.setdefault(int(index), []).append(problem(where, item["msg"], value))
    good = [i for i in range(len(rows)) if i not in problems]
    values = [i.__dict__ for i in ROWS.validate_python([rows[i] for i in good])]
    return good, values, {i: "; ".join(p) for i, p in problems.items()}


# A number written as text that Python's float() and Arrow's cast read alike: digits, one point,
# an exponent, a sign, ASCII blanks around. Any other text ("1_000", "inf", "nan") is left to
# the per-row path, which reads it as the service would.
PLAIN_NUMBER = r"^[ \t\n\r]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\r]*$"


BLANK = r"^[ \t\n\r]*$"


# Integers beyond this lose precision as float64: left to the per-row path.
EXACT_INTEGER = float(2**53)


def _column(feature: Feature, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
    """One feature's column as (encoded float64 values, rows the fast check cannot accept).

    A flagged row may still be valid (the per-row path decides); an unflagged row is one the
    request model accepts, with the value `encode` would give it. The rules come from the contract
    and payloads.py's field for the feature: bounds, finiteness, values, nullability."""
    n = batch.num_rows
    if feature.name not in batch.schema.names:
        # Absent: null in every row (payloads: only a nullable feature may be left out).
        return np.full(n, np.nan), np.full(n, not feature.nullable)
    array = batch.column(feature.name)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    kind = array.type
    null = array.is_null().to_numpy(zero_copy_only=False)
    if isinstance(feature, Categorical):
        if not pa.types.is_string(kind):  # the request model takes only text here
            return np.full(n, np.nan), ~null | (null & (not feature.nullable))
        index = pc.index_in(array, value_set=pa.array(feature.values, pa.string()))
        found = index.is_valid().to_numpy(zero_copy_only=False)
        values = index.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        return values, (~null & ~found) | (null & (not feature.nullable))
    if pa.types.is_string(kind):  # CSV: blank text is null, plain numbers are read as numbers
        blank = pc.fill_null(pc.match_substring_regex(array, BLANK), True).to_numpy(
            zero_copy_only=False
        )
        plain = pc.fill_null(pc.match_substring_regex(array, PLAIN_NUMBER), False)
        text = pc.if_else(plain, pc.ascii_trim_whitespace(array), pa.scalar("0"))
        numbers = text.cast(pa.float64()).to_numpy(zero_copy_only=False)
        unreadable = ~blank & ~plain.to_numpy(zero_copy_only=False)
        null, numbers = blank, np.where(blank, np.nan, numbers)
        risky = unreadable
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        numbers = pc.cast(array, pa.float64(), safe=False).fill_null(np.nan)
        numbers = numbers.to_numpy(zero_copy_only=False)
        if pa.types.is_floating(kind):  # NaN is null, as the service reads JSON
            null = np.isnan(numbers)
            risky = np.zeros(n, dtype=bool)
        else:
            risky = ~null & (np.abs(numbers) >= EXACT_INTEGER)
    else:  # booleans, decimals, dates, ...: the per-row path says what the service would
        return np.full(n, np.nan), ~null | (null & (not feature.nullable))
    with np.errstate(invalid="ignore"):
        inside = (numbers >= feature.minimum) & (numbers <= feature.maximum)
        if isinstance(feature, Integer):  # a fraction: the per-row path words the refusal
            risky = risky | (~null & (np.mod(numbers, 1.0) != 0.0))
    flagged = risky | (~null & ~inside) | (null & (not feature.nullable))
    return np.where(null, np.nan, numbers), flagged


def check_chunk(
    batch: pa.RecordBatch,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]], np.ndarray, list[str]]:
    """A chunk validated column by column, rows the fast check cannot accept by the service's
    per-row rules (payloads.py), so every reject carries the service's own message.

    Returns (indices of the valid rows, their encoded matrix, the refused rows as the service
    would have received them, their indices, their reasons)."""
    n = batch.num_rows
    matrix = np.empty((n, len(CONTRACT.features)), dtype=np.float64)
    flagged = np.zeros(n, dtype=bool)
    for position, feature in enumerate(CONTRACT.features):
        matrix[:, position], column_flags = _column(feature, batch)
        flagged |= column_flags
    suspects = np.flatnonzero(flagged)
    if not len(suspects):
        return np.arange(n), matrix, [], suspects, []
    rows = feature_rows(batch.take(pa.array(suspects, pa.int64())))
    good, values, reasons = validate(rows)
    if good:  # flagged but valid (text such as "1_000"): encoded from the validated values
        matrix[suspects[good]] = encode(CONTRACT.features, values)
    bad = sorted(reasons)
    accepted = np.flatnonzero(~flagged)
    accepted = np.sort(np.concatenate([accepted, suspects[good]]))
    return (
        accepted,
        matrix[accepted],
        [rows[i] for i in bad],
        suspects[bad],
        [reasons[i] for i in bad],
    )
