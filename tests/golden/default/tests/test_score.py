"""The scoring job's fast, column-by-column check against the service's per-row rules.

`make score` validates a chunk column by column and sends only the rows that check flags through
the request model (payloads.py). These tests build cells that break every rule of every feature in
the contract, in every column type an input can have (float, integer, text as CSV gives it,
booleans, dictionary-encoded, absent), and require the accepted rows, their encoded values and
each refused row with its reason to be exactly what the per-row path gives.
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ConfigDict, TypeAdapter, create_model

from iris_classifier import payloads, score, spec
from iris_classifier.model import CONTRACT
from iris_classifier.schedule import ScheduleError
from iris_classifier.schedule import interval_seconds as schedule_interval
from iris_classifier.scoring import checks
from iris_classifier.spec import Categorical, Feature, Numeric, encode

VALID = dict(CONTRACT.examples[0])
BIG = 2**53 + 1


def as_float32(value: float) -> float:
    with np.errstate(over="ignore"):  # 1e308 becomes infinity, a cell to refuse
        return float(np.float32(value))


def numeric_cells(feature: Numeric) -> dict[pa.DataType, list[Any]]:
    """Cells for a numeric feature by column type: valid ones, edges and every kind of bad one."""
    low, high = feature.minimum, feature.maximum
    floats = [low, high, (low + high) / 2, -0.0, 0.0, low - 1, high + 1, low + 0.5]
    floats += [math.nextafter(low, -math.inf), math.nextafter(high, math.inf)]
    floats += [math.nan, math.inf, -math.inf, None, 1e308, -1e308]
    ints = [math.ceil(low), math.floor(high), math.floor(low) - 1, math.ceil(high) + 1, 0, None]
    ints += [BIG, -BIG, 2**62]
    texts = [str(v) for v in floats if v is not None] + [repr(v) for v in ints if v is not None]
    texts += ["", "   ", " \t", None, "text", "inf", "-inf", "nan", "NaN", "1_0", "1e400"]
    texts += [f" {high} ", f"+{low}", ".5", "5.", "1e1", "1E-400", "\u00a01", "\u20071", "\u0663"]
    texts += ["0x10", "1,5", "--1", "1e", "e1", ".", "+", f"{high}\n", "\u00a0"]
    return {
        pa.float64(): floats,
        pa.float32(): [None if v is None else as_float32(v) for v in floats],
        pa.int64(): ints,
        pa.uint8(): [0, 1, 255, None],
        pa.string(): texts,
        pa.large_string(): texts,
        pa.bool_(): [True, False, None],
    }


def categorical_cells(feature: Categorical) -> dict[pa.DataType, list[Any]]:
    values = list(feature.values)
    texts = [*values, "", " ", f" {values[0]}", f"{values[0]} ", values[0].upper() + "\u0130"]
    texts += ["no-such-value", None, "null", "None"]
    return {
        pa.string(): texts,
        pa.large_string(): texts,
        pa.dictionary(pa.int32(), pa.string()): texts,
        pa.int64(): [0, 1, None],
        pa.float64(): [0.0, math.nan, None],
    }


def cells(feature: Feature) -> dict[pa.DataType, list[Any]]:
    if isinstance(feature, Categorical):
        return categorical_cells(feature)
    return numeric_cells(feature)


def column(feature: Feature, kind: pa.DataType, values: list[Any]) -> pa.Array:
    if pa.types.is_dictionary(kind):
        return pa.array(values, pa.string()).dictionary_encode()
    return pa.array(values, kind)


def valid_column(feature: Feature, rows: int) -> pa.Array:
    value = VALID.get(feature.name)
    kind = pa.string() if isinstance(feature, Categorical) else pa.float64()
    return pa.array([value] * rows, kind)


def batch_of(columns: dict[str, pa.Array], keys: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"key": pa.array(range(keys), pa.int64()), **columns})


def per_row(batch: pa.RecordBatch) -> tuple[list[int], np.ndarray, list[str], list[str]]:
    """The reference: every row through the request model, as the service validates a request."""
    rows = score.feature_rows(batch)
    good, values, reasons = score.validate(rows)
    bad = sorted(reasons)
    return (
        good,
        encode(CONTRACT.features, values),
        [json.dumps(rows[i], default=str) for i in bad],
        [reasons[i] for i in bad],
    )


def assert_same_as_per_row(batch: pa.RecordBatch) -> int:
    good, matrix, bad_rows, bad, reasons = score.check_chunk(batch)
    want_good, want_matrix, want_rows, want_reasons = per_row(batch)
    assert list(good) == want_good
    np.testing.assert_array_equal(matrix, want_matrix)
    assert [json.dumps(row, default=str) for row in bad_rows] == want_rows
    assert reasons == want_reasons
    assert sorted([*good, *bad]) == list(range(batch.num_rows))
    return len(bad)


@pytest.fixture(autouse=True, params=["as declared", "every feature nullable"])
def contract(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract as the team declared it, and a variant with every feature nullable (built
    with payloads.py's own field rules), so the null rules are proven whatever the contract."""
    if request.param == "as declared":
        return
    use(tuple(dataclasses.replace(f, nullable=True) for f in CONTRACT.features), monkeypatch)


def use(features: tuple[Feature, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    """The job with these features in the contract, validated by payloads.py's field rules."""
    model = create_model(
        "Features",
        __config__=ConfigDict(extra="forbid"),
        **{feature.name: payloads._field(feature) for feature in features},
    )
    monkeypatch.setattr(checks, "CONTRACT", dataclasses.replace(CONTRACT, features=features))
    monkeypatch.setattr(checks, "ROWS", TypeAdapter(list[model]))  # type: ignore[valid-type]


def declared(name: str) -> Feature:
    """The feature as the job sees it (nullable in the variant)."""
    return next(f for f in checks.CONTRACT.features if f.name == name)


CASES = [(feature.name, kind) for feature in CONTRACT.features for kind in cells(feature)]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_every_bad_cell_is_refused_with_the_services_reason(name: str, kind: pa.DataType) -> None:
    feature = declared(name)
    values = cells(feature)[kind]
    columns = {
        f.name: column(f, kind, values) if f.name == name else valid_column(f, len(values))
        for f in CONTRACT.features
    }
    assert_same_as_per_row(batch_of(columns, len(values)))


@pytest.mark.parametrize("name", CONTRACT.feature_names)
def test_an_absent_feature_column_is_judged_as_the_service_judges_a_left_out_field(
    name: str,
) -> None:
    columns = {f.name: valid_column(f, 3) for f in CONTRACT.features if f.name != name}
    refused = assert_same_as_per_row(batch_of(columns, 3))
    assert refused == (0 if declared(name).nullable else 3)


def test_random_mixes_of_cells_and_column_types_agree_with_the_per_row_path() -> None:
    """A property check without extra dependencies: seeded random chunks, each column of a random
    type and each cell drawn from that type's valid and invalid values."""
    assert random_mixes(17) > 0


def test_whole_number_features_agree_with_the_per_row_path(monkeypatch) -> None:
    """Every numeric feature as an Integer: each cell of every type, and random mixes."""
    features = tuple(
        spec.Integer(f.name, f.minimum, f.maximum, nullable=f.nullable)
        if isinstance(f, Numeric)
        else f
        for f in checks.CONTRACT.features
    )
    use(features, monkeypatch)
    reasons = []
    for feature in features:
        for kind, values in cells(feature).items():
            columns = {
                f.name: column(f, kind, values)
                if f.name == feature.name
                else valid_column(f, len(values))
                for f in features
            }
            assert_same_as_per_row(batch_of(columns, len(values)))
            reasons += score.check_chunk(batch_of(columns, len(values)))[4]
    assert any("Input should be a whole number" in reason for reason in reasons)
    assert random_mixes(18) > 0


def random_mixes(seed: int) -> int:
    """Rows refused in seeded random chunks, each agreeing with the per-row path."""
    rng = np.random.default_rng(seed)
    refused = 0
    for _ in range(60):
        rows = int(rng.integers(1, 200))
        columns = {}
        for feature in checks.CONTRACT.features:
            if feature.nullable and rng.random() < 0.1:
                continue
            options = cells(feature)
            kinds = list(options)
            kind = kinds[int(rng.integers(len(kinds)))]
            pool = options[kind]
            valid_share = rng.random()
            picked = [
                VALID.get(feature.name) if rng.random() < valid_share else None for _ in range(rows)
            ]
            values = [
                pool[int(rng.integers(len(pool)))] if value is None else value for value in picked
            ]
            if not all(isinstance(v, str) or v is None for v in values) and (
                pa.types.is_string(kind) or pa.types.is_large_string(kind)
            ):
                values = [v if v is None or isinstance(v, str) else repr(v) for v in values]
            if isinstance(feature, Categorical) and not (
                pa.types.is_string(kind)
                or pa.types.is_large_string(kind)
                or pa.types.is_dictionary(kind)
            ):
                values = [pool[int(rng.integers(len(pool)))] for _ in range(rows)]
            if isinstance(feature, Numeric) and kind in (pa.int64(), pa.uint8(), pa.bool_()):
                values = [pool[int(rng.integers(len(pool)))] for _ in range(rows)]
            columns[feature.name] = column(feature, kind, values)
        refused += assert_same_as_per_row(batch_of(columns, rows))
    return refused


def test_a_writer_error_fails_the_run_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_tag: str
) -> None:
    source, output = tmp_path / "input.parquet", tmp_path / "scored"
    pq.write_table(pa.Table.from_pylist([{"key": i, **VALID} for i in range(1000)]), source)
    config = score.Config(key_columns=("key",), max_reject_ratio=0.0, chunk_rows=10)

    def broken(self: pq.ParquetWriter, table: pa.Table, row_group_size: Any = None) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
    with pytest.raises(score.WriteError, match="disk full"):
        score.run(source, output, "local", config, model_tag)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.parquet"]


def test_the_output_is_the_per_row_paths(tmp_path: Path, model_tag: str) -> None:
    """Through the whole job: scores and rejects, in input order, across chunks and the writer."""
    rows = [{"key": i, **VALID} for i in range(500)]
    name = CONTRACT.features[0].name
    for i in range(0, 500, 7):
        rows[i][name] = "no-such-value" if isinstance(CONTRACT.features[0], Categorical) else 1e400
    source, output = tmp_path / "input.parquet", tmp_path / "scored"
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, source)
    config = score.Config(key_columns=("key",), max_reject_ratio=1.0, chunk_rows=64)
    record = score.run(source, output, "local", config, model_tag)
    assert record["rows"] == {"input": 500, "scored": 428, "rejected": 72}
    scores = pq.read_table(output / "scores")
    rejects = pq.read_table(output / "rejects")
    assert scores.column("key").to_pylist() == [i for i in range(500) if i % 7]
    assert rejects.column("key").to_pylist() == list(range(0, 500, 7))
    want = per_row(table.to_batches(max_chunksize=500)[0])
    assert rejects.column("reason").to_pylist() == want[3]


def test_a_csv_line_with_too_few_or_too_many_fields_is_a_reject_naming_its_line(
    tmp_path: Path, model_tag: str
) -> None:
    names = ["key", *CONTRACT.feature_names]
    good = ",".join(["{}", *("" if VALID.get(n) is None else str(VALID[n]) for n in names[1:])])
    lines = [",".join(names), *(good.format(i) for i in range(6))]
    lines[2] = ",".join(lines[2].split(",")[:2])  # line 3 (the header is line 1): two fields
    lines[4] += ",surplus"  # line 5: one field too many
    source, output = tmp_path / "input.csv", tmp_path / "scored"
    source.write_text("\n".join(lines) + "\n")
    config = score.Config(key_columns=("key",), max_reject_ratio=1.0, chunk_rows=2)
    record = score.run(source, output, "local", config, model_tag)
    assert record["rows"] == {"input": 6, "scored": 4, "rejected": 2}
    rejects = pq.read_table(output / "rejects").to_pylist()
    width = len(names)
    assert [r["reason"] for r in rejects] == [
        f"input.csv line 3: 2 fields where the header has {width}",
        f"input.csv line 5: {width + 1} fields where the header has {width}",
    ]
    assert json.loads(rejects[1]["row"]).endswith(",surplus")
    assert pq.read_table(output / "scores").column("key").to_pylist() == ["0", "2", "4", "5"]


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [
        ("0 2 * * *", 24),
        ("@daily", 24),
        ("@hourly", 1),
        ("*/15 * * * *", 0.25),
        ("0 9,17 * * *", 16),  # 17:00 to 09:00
        ("0 2 * * 1-5", 72),  # Friday to Monday
        ("0 3 * * sun", 168),
        ("0 0 1 * *", 31 * 24),
        ("0 0 1,15 * mon", 7 * 24),  # either day field
        ("CRON_TZ=Europe/Paris 0 2 * * *", 24),
    ],
)
def test_the_alert_waits_for_the_schedules_longest_interval(schedule: str, hours: float) -> None:
    assert schedule_interval(schedule) == hours * 3600


@pytest.mark.parametrize(
    "schedule", ["0 2 * *", "61 * * * *", "0 0 31 2 *", "x * * * *", "*/0 * * * *"]
)
def test_a_schedule_cron_would_refuse_is_refused(schedule: str) -> None:
    with pytest.raises(ScheduleError):
        schedule_interval(schedule)
