"""Batch scoring: the service's second workload, on the same contract, predictor and model version.

`make score INPUT=... OUTPUT=...` reads Parquet or CSV (a file, or a folder of them), validates
every row with the rules of the service's requests (payloads.py), predicts in chunks so memory
stays bounded by the chunk and not by the input, and writes a folder:

    OUTPUT/scores/    Parquet: the input's key columns, the prediction, the model version
    OUTPUT/rejects/   Parquet: the key columns, the row's features (JSON) and why it was refused
    OUTPUT/run.json   the run record: model tag (and registry version), input fingerprint, row
                      counts, commit, timings

Nothing is lost: every input row is a score or a reject, and the job counts what it wrote before
it succeeds. The folder is built beside OUTPUT and moved into place at the end, so a failed,
interrupted or repeated run never leaves a partial or duplicated result. A run whose reject ratio
passes `max_reject_ratio` (config/scoring.toml) fails; its rejects and run record are kept in
OUTPUT.failed/ for you to look at. `ENGINE=spark` runs the same chunk function on Apache Spark.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import math
import os
import queue
import shutil
import signal
import sys
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import TypeAdapter, ValidationError

from . import model as model_store
from . import settings
from .model import CONTRACT
from .payloads import ABSENT, Features, problem
from .schedule import ScheduleError, interval_seconds
from .settings import MODEL_TAG, SERVICE_NAME, TEMPLATE_VERSION
from .spec import Categorical, Feature, Integer, encode

# The team's settings; the image sets SCORING_CONFIG to its copy.
CONFIG_FILE = Path(os.environ.get("SCORING_CONFIG", "config/scoring.toml"))
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
REASON = "reason"
ROW = "row"
VERSION = "model_version"

# A list of rows, validated as the service validates a request's rows: same fields, same rules.
ROWS = TypeAdapter(list[Features])  # type: ignore[valid-type]


class ScoringError(RuntimeError):
    """The run cannot succeed; the message says why and what to do."""


class WriteError(ScoringError):
    """Writing the output failed (a full disk, say): nothing is kept, not even the rejects."""


@dataclass(frozen=True)
class Config:
    key_columns: tuple[str, ...]
    max_reject_ratio: float
    chunk_rows: int


def load_config(path: Path = CONFIG_FILE) -> Config:
    """config/scoring.toml, checked: every bad value is named."""
    try:
        raw = tomllib.loads(path.read_text()).get("scoring", {})
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScoringError(f"{path}: {error}") from None
    keys = raw.get("key_columns", [])
    ratio = raw.get("max_reject_ratio", 0.01)
    chunk = raw.get("chunk_rows", 50_000)
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ScoringError(f"{path}: key_columns = {keys!r} must be a list of column names")
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
        raise ScoringError(f"{path}: max_reject_ratio = {ratio!r} must be a number from 0 to 1")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ScoringError(f"{path}: chunk_rows = {chunk!r} must be a whole number of at least 1")
    return Config(key_columns=tuple(keys), max_reject_ratio=float(ratio), chunk_rows=chunk)


# ---- input -----------------------------------------------------------------------------------


def input_files(path: Path) -> list[Path]:
    """The Parquet or CSV files of INPUT: the file itself, or a folder's files in name order."""
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    else:
        raise ScoringError(f"INPUT {str(path)!r} does not exist")
    if not files:
        raise ScoringError(f"INPUT {str(path)!r} has no .parquet or .csv files")
    kinds = {SUFFIXES.get(p.suffix) for p in files}
    if None in kinds or len(kinds) > 1:
        raise ScoringError(
            f"INPUT {str(path)!r} must be Parquet files or CSV files, not {sorted(map(str, kinds))}"
        )
    return files


def fingerprint(files: Sequence[Path], root: Path) -> str:
    """sha256 over every input file's path (relative to INPUT) and content."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root) if root.is_dir() else path.name).encode())
        digest.update(b"\0")
        with path.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def columns_of(path: Path) -> list[str]:
    if SUFFIXES[path.suffix] == "parquet":
        return list(pq.read_schema(path).names)
    with path.open(newline="") as stream:
        return next(csv.reader(stream), [])


@dataclass(frozen=True)
class Malformed:
    """A CSV line that is no row: too few or too many fields for the header."""

    text: str
    reason: str


def batches(
    path: Path, chunk_rows: int, malformed: list[Malformed] | None = None
) -> Iterator[pa.RecordBatch]:
    """A file's rows, chunk by chunk. CSV has no types: every column is read as text, and a number
    is parsed from it as the service parses JSON (a value that is no number is refused). A CSV
    line with the wrong number of fields is skipped into `malformed`, with its line number (the
    reader runs on one thread: only then does it know the line)."""
    if SUFFIXES[path.suffix] == "parquet":
        yield from pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)
        return
    names = columns_of(path)
    skipped = malformed if malformed is not None else []

    def skip(row: Any) -> str:
        reason = f"{path.name} line {row.number}: {row.actual_columns} fields"
        skipped.append(Malformed(row.text, f"{reason} where the header has {row.expected_columns}"))
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=max(1 << 16, chunk_rows * 64), use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
        ),
    )
    yield from reader


def malformed_rejects(lines: Sequence[Malformed], keys: Sequence[str]) -> pa.Table:
    """Rejects for lines that are no row: no key values (the line's text is the row)."""
    columns = {key: pa.nulls(len(lines), pa.string()) for key in keys}
    columns[ROW] = pa.array([json.dumps(line.text) for line in lines], pa.string())
    columns[REASON] = pa.array([line.reason for line in lines], pa.string())
    return pa.table(columns)


def key_columns(config: Config, columns: Sequence[str], where: str) -> list[str]:
    """The columns copied to every score and reject; every feature column must be there too."""
    features = set(CONTRACT.feature_names)
    missing = [f.name for f in CONTRACT.features if f.name not in columns and not f.nullable]
    if missing:
        raise ScoringError(f"{where} lacks the feature column(s) {missing}")
    keys = list(config.key_columns) or [c for c in columns if c not in features]
    absent = [k for k in keys if k not in columns]
    if absent:
        raise ScoringError(f"{where} lacks the key column(s) {absent} (config/scoring.toml)")
    if clash := [k for k in keys if k in {REASON, ROW, VERSION, *output_names()}]:
        raise ScoringError(f"{where}: the key column(s) {clash} clash with the output's columns")
    return keys


# ---- one chunk: validate, predict --------------------------------------------------------------


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


def output_names() -> tuple[str, ...]:
    return tuple(f.name for f in CONTRACT.task.output_fields())


def prediction_columns(output: np.ndarray) -> dict[str, pa.Array]:
    """The predictions as the service's response fields (class probabilities in TASK order)."""
    return CONTRACT.task.columns(output)


def output_schema(keys: pa.Schema) -> pa.Schema:
    fields = [*keys, *CONTRACT.task.output_fields()]
    return pa.schema([*fields, pa.field(VERSION, pa.string())])


def rejects_schema(keys: pa.Schema) -> pa.Schema:
    return pa.schema([*keys, pa.field(ROW, pa.string()), pa.field(REASON, pa.string())])


@cache
def loaded_model(tag: str) -> model_store.LoadedModel:
    """The model version, loaded once per process (a Spark worker loads it once too)."""
    return model_store.load(tag)


def score_batch(batch: pa.RecordBatch, keys: Sequence[str], tag: str) -> tuple[pa.Table, pa.Table]:
    """One chunk: (scores, rejects). The rule of every row is the service's."""
    good, matrix, bad_rows, bad, reasons = check_chunk(batch)
    key_table = pa.Table.from_batches([batch]).select(list(keys))
    loaded = loaded_model(tag)
    if len(good):
        columns = prediction_columns(loaded.predict(matrix))
    else:
        columns = {f.name: pa.array([], f.type) for f in output_schema(pa.schema([]))}
        columns.pop(VERSION)
    scored = key_table.take(pa.array(good, pa.int64()))
    for name, array in columns.items():
        scored = scored.append_column(name, array)
    scored = scored.append_column(
        VERSION, pa.repeat(pa.scalar(loaded.version, pa.string()), len(good))
    )
    rejected = key_table.take(pa.array(bad, pa.int64()))
    rejected = rejected.append_column(
        ROW, pa.array([json.dumps(row, default=str) for row in bad_rows], pa.string())
    )
    rejected = rejected.append_column(REASON, pa.array(reasons, pa.string()))
    return scored, rejected


# ---- engines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    input: int
    scored: int
    rejected: int


class ParquetWriters:
    """Writes (folder name, table) items on a thread, so Parquet is written while the next chunk
    is predicted. The queue holds at most `depth` chunks, so memory stays flat: a slow disk slows
    the job down instead of filling memory. An error on the thread fails the run: the next `put`
    or `close` raises it."""

    def __init__(self, staging: Path, depth: int = 1) -> None:
        self.staging = staging
        self.items: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._write, name="score-writer", daemon=True)
        self.thread.start()

    def _write(self) -> None:
        writers: dict[str, pq.ParquetWriter] = {}
        try:
            while (item := self.items.get()) is not None:
                name, table = item
                if name not in writers:
                    path = self.staging / name / "part-00000.parquet"
                    writers[name] = pq.ParquetWriter(path, table.schema)
                writers[name].write_table(table)
        except BaseException as error:  # handed to the main thread, which fails the run
            self.error = error
        finally:
            for writer in writers.values():
                try:
                    writer.close()
                except Exception as error:
                    self.error = self.error or error

    def _raise(self) -> None:
        if self.error is not None:
            raise WriteError(f"writing the output failed: {self.error}") from self.error

    def put(self, name: str, table: pa.Table) -> None:
        while True:
            self._raise()
            if not self.thread.is_alive():
                raise WriteError("the output writer stopped")
            try:
                self.items.put((name, table), timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self, check: bool = True) -> None:
        """Wait for the queued chunks to be written and the files closed; raise the thread's error
        unless told not to (the run is failing already)."""
        while self.thread.is_alive():
            try:
                self.items.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self.thread.join()
        if check:
            self._raise()


def score_local(
    files: Sequence[Path], keys: Sequence[str], tag: str, staging: Path, chunk_rows: int
) -> Counts:
    """One process, chunk by chunk: memory holds the chunk being scored, at most one chunk waiting
    to be written, and the writers' buffers."""
    (staging / "scores").mkdir()
    (staging / "rejects").mkdir()
    rows = scored = rejected = 0
    writers = ParquetWriters(staging)
    malformed: list[Malformed] = []
    try:
        for path in files:
            for batch in itertools.chain(batches(path, chunk_rows, malformed), [None]):
                if malformed:  # lines that are no row, read with this chunk: rejects too
                    lines = malformed_rejects(malformed, keys)
                    writers.put("rejects", lines)
                    rows += lines.num_rows
                    rejected += lines.num_rows
                    malformed.clear()
                if batch is None:
                    continue
                rows += batch.num_rows
                scores, rejects = score_batch(batch, keys, tag)
                writers.put("scores", scores)
                writers.put("rejects", rejects)
                scored += scores.num_rows
                rejected += rejects.num_rows
    except BaseException:
        # SIGTERM or a failed chunk: the writer closes its files before the run removes the
        # staging folder, and the first error is the one reported.
        writers.close(check=False)
        raise
    writers.close()
    return Counts(input=rows, scored=scored, rejected=rejected)


def score_spark(
    files: Sequence[Path], keys: Sequence[str], tag: str, staging: Path, chunk_rows: int
) -> Counts:
    """The same chunk function on Apache Spark (mapInArrow): each Spark task predicts its rows
    with the same model version, loaded once per worker process from the model store."""
    try:
        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema
    except ImportError:
        raise ScoringError(
            "ENGINE=spark needs the `spark` extra: `uv sync --locked --all-extras`"
        ) from None
    # Spark's Python workers run this interpreter (with this package), unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(f"{SERVICE_NAME}-score")
    if master := os.environ.get("SPARK_MASTER"):
        builder = builder.master(master)
        if master.startswith("local"):  # one machine: nothing listens beyond loopback
            builder = builder.config("spark.driver.bindAddress", "127.0.0.1")
            builder = builder.config("spark.driver.host", "127.0.0.1")
    spark = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(chunk_rows))
        .getOrCreate()
    )
    paths = [str(p) for p in files]
    if SUFFIXES[files[0].suffix] == "parquet":
        frame = spark.read.parquet(*paths)
    else:  # every CSV column as text, as the single-machine path reads it
        frame = spark.read.option("header", "true").csv(paths)
    arrow_keys = pa.schema([pa.field(k, pq.read_schema(files[0]).field(k).type) for k in keys])
    if SUFFIXES[files[0].suffix] == "csv":
        arrow_keys = pa.schema([pa.field(k, pa.string()) for k in keys])
    combined = pa.schema(
        [*output_schema(arrow_keys), pa.field(ROW, pa.string()), pa.field(REASON, pa.string())]
    )

    def score_partition(stream: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in stream:
            scored, rejected = score_batch(batch, keys, tag)
            both = pa.concat_tables([scored, rejected], promote_options="default").select(
                combined.names
            )
            yield from both.cast(combined).to_batches()

    result = frame.mapInArrow(score_partition, from_arrow_schema(combined)).persist()
    try:
        accepted = result.filter(F.col(REASON).isNull())
        accepted.drop(ROW, REASON).write.parquet(str(staging / "scores"))
        refused = result.filter(F.col(REASON).isNotNull())
        refused.select(*keys, ROW, REASON).write.parquet(str(staging / "rejects"))
        return Counts(input=frame.count(), scored=accepted.count(), rejected=refused.count())
    finally:
        result.unpersist()
        spark.stop()


ENGINES: dict[str, Callable[..., Counts]] = {"local": score_local, "spark": score_spark}


def written_rows(folder: Path) -> int:
    """Rows in a folder of Parquet files, from their footers."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.glob("*.parquet")))


def expected_rows(files: Sequence[Path]) -> int | None:
    """The input's row count from the Parquet footers (None for CSV: it has none)."""
    if SUFFIXES[files[0].suffix] != "parquet":
        return None
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


# ---- the run ---------------------------------------------------------------------------------


def lineage() -> dict[str, str]:
    """The commit (the image's GIT_COMMIT, else git), the template release (settings) and, with a
    registry, the registry version."""
    commit = os.environ.get("GIT_COMMIT", "")
    if not commit:
        from .training import lineage as from_git

        commit = from_git()["git_commit"]
    return {"git_commit": commit, "template_version": TEMPLATE_VERSION, **registry_version()}


def registry_version() -> dict[str, str]:
    """The registered model and version the run scores with (MODEL_REGISTRY_VERSION, from the
    image or `make score`), when the service has a registry; "none" when not from the registry."""
    name = getattr(settings, "REGISTERED_MODEL_NAME", None)
    if name is None:
        return {}
    return {"registered_model": name, "registry_version": settings.MODEL_REGISTRY_VERSION}


def publish(staging: Path, target: Path) -> None:
    """Move the finished folder into place; a previous result is replaced, never merged."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{staging.name.rsplit('-', 1)[-1]}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)


def on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run(
    input_path: Path,
    output: Path,
    engine: str,
    config: Config,
    tag: str,
    metrics: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Score INPUT into OUTPUT; returns the run record, or raises ScoringError."""
    started = time.time()
    record: dict[str, Any] = {
        "service": SERVICE_NAME,
        "engine": engine,
        "status": "failed",
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(),
        **lineage(),
    }
    run_id = uuid.uuid4().hex[:12]
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.tmp-{run_id}")
    staging.mkdir()
    try:
        files = input_files(input_path)
        columns = columns_of(files[0])
        for path in files[1:]:
            if sorted(columns_of(path)) != sorted(columns):
                raise ScoringError(f"{path} has other columns than {files[0]}: {columns}")
        keys = key_columns(config, columns, str(files[0]))
        try:
            loaded = loaded_model(tag)
        except Exception as error:
            raise ScoringError(f"model {tag!r} could not be loaded: {error}") from error
        record |= {
            "model_tag": loaded.tag,
            "input": {
                "path": str(input_path),
                "files": len(files),
                "fingerprint": "sha256:" + fingerprint(files, input_path),
            },
            "key_columns": keys,
            "output": str(output),
            "max_reject_ratio": config.max_reject_ratio,
        }
        counts = ENGINES[engine](files, keys, loaded.tag, staging, config.chunk_rows)
        written = Counts(
            input=counts.input,
            scored=written_rows(staging / "scores"),
            rejected=written_rows(staging / "rejects"),
        )
        record["rows"] = {"input": written.input, "scored": written.scored}
        record["rows"]["rejected"] = written.rejected
        expected = expected_rows(files)
        if written.scored + written.rejected != written.input or expected not in (
            None,
            written.input,
        ):
            raise ScoringError(
                f"count check failed: the input has {expected or written.input} rows, the output"
                f" {written.scored} and the rejects {written.rejected}; nothing was published"
            )
        if written.input == 0:
            raise ScoringError(f"INPUT {str(input_path)!r} has no rows")
        ratio = written.rejected / written.input
        record["reject_ratio"] = ratio
        if ratio > config.max_reject_ratio:
            raise ScoringError(
                f"{written.rejected} of {written.input} rows ({ratio * 100:.2f} %) break the model"
                f" contract, more than max_reject_ratio {config.max_reject_ratio * 100:.2f} %"
                f" (config/scoring.toml); the rejects and their reasons are in {output}.failed/"
            )
        record["status"] = "succeeded"
    except BaseException as error:
        record["error"] = str(error) or type(error).__name__
        finish(record, started, staging, metrics)
        kept = isinstance(error, ScoringError) and not isinstance(error, WriteError)
        if kept and (staging / "rejects").is_dir():
            failed = output.with_name(f"{output.name}.failed")
            shutil.rmtree(staging / "scores", ignore_errors=True)
            shutil.rmtree(failed, ignore_errors=True)
            staging.rename(failed)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finish(record, started, staging, metrics)
    publish(staging, output)
    shutil.rmtree(output.with_name(f"{output.name}.failed"), ignore_errors=True)
    return record


def finish(
    record: dict[str, Any],
    started: float,
    staging: Path,
    metrics: Callable[[dict[str, Any]], None] | None,
) -> None:
    finished = time.time()
    record["finished_at"] = datetime.fromtimestamp(finished, UTC).isoformat()
    record["duration_seconds"] = round(finished - started, 3)
    if staging.is_dir():
        (staging / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    if metrics is not None:
        metrics(record)


def push_metrics(gateway: str) -> Callable[[dict[str, Any]], None]:
    """The run's metrics, pushed to a Prometheus Pushgateway (docs/runbook.md, batch alerts)."""
    from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

    # The CronJob's schedule (the chart sets BATCH_SCHEDULE): BatchScoreMissed waits twice its
    # longest interval; with none pushed, the alert waits 26 hours.
    interval = None
    if schedule := os.environ.get("BATCH_SCHEDULE", "").strip():
        try:
            interval = interval_seconds(schedule)
        except ScheduleError as error:
            print(f"BATCH_SCHEDULE is not used by the alerts: {error}", file=sys.stderr)

    def push(record: dict[str, Any]) -> None:
        registry = CollectorRegistry()
        now = time.time()
        rows = Gauge(
            "batch_score_rows", "Rows of the last run, by outcome.", ["outcome"], registry=registry
        )
        for outcome in ("scored", "rejected"):
            rows.labels(outcome=outcome).set(record.get("rows", {}).get(outcome, 0))
        values = {
            "batch_score_reject_ratio": record.get("reject_ratio", 0.0),
            "batch_score_max_reject_ratio": record.get("max_reject_ratio", 1.0),
            "batch_score_duration_seconds": record["duration_seconds"],
            "batch_score_last_run_timestamp_seconds": now,
            "batch_score_last_run_success": 1.0 if record["status"] == "succeeded" else 0.0,
        }
        if record["status"] == "succeeded":
            values["batch_score_last_success_timestamp_seconds"] = now
        if interval is not None:
            values["batch_score_schedule_interval_seconds"] = interval
        for name, value in values.items():
            Gauge(name, name.replace("_", " "), registry=registry).set(value)
        try:
            # pushadd: a failed run keeps the last success time the previous run pushed.
            pushadd_to_gateway(gateway, job=f"{SERVICE_NAME}-score", registry=registry, timeout=10)
        except OSError as error:
            print(f"could not push the run's metrics to {gateway}: {error}", file=sys.stderr)

    return push


def write_examples(path: Path, config: Config) -> None:
    """The contract's examples as a small Parquet input (`make score-smoke`), keyed by position."""
    rows = [
        {**dict.fromkeys(config.key_columns or ["example"], index), **example}
        for index, example in enumerate(CONTRACT.examples)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make score", description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="a Parquet/CSV file or folder")
    parser.add_argument("--output", type=Path, help="the result folder")
    parser.add_argument("--engine", choices=sorted(ENGINES), default="local")
    parser.add_argument("--model-tag", default=MODEL_TAG, help="default: MODEL_TAG")
    parser.add_argument("--config", type=Path, default=CONFIG_FILE)
    parser.add_argument("--chunk-rows", type=int, help="rows per chunk (config: chunk_rows)")
    parser.add_argument(
        "--pushgateway",
        default=os.environ.get("PUSHGATEWAY_URL", ""),
        help="push the run's metrics here (default: PUSHGATEWAY_URL; empty: no push)",
    )
    parser.add_argument("--write-examples", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        config = load_config(args.config)
        if args.chunk_rows is not None:
            if args.chunk_rows < 1:
                raise ScoringError(f"--chunk-rows {args.chunk_rows} must be at least 1")
            config = Config(config.key_columns, config.max_reject_ratio, args.chunk_rows)
        if args.write_examples:
            write_examples(args.write_examples, config)
            return 0
        if args.input is None or args.output is None:
            parser.error("--input and --output are required")
        metrics = push_metrics(args.pushgateway) if args.pushgateway else None
        record = run(args.input, args.output, args.engine, config, args.model_tag, metrics)
    except ScoringError as error:
        print(f"score: FAILED: {error}", file=sys.stderr)
        return 1
    rows = record["rows"]
    print(
        f"scored {rows['scored']} of {rows['input']} rows with {record['model_tag']}"
        f" ({rows['rejected']} rejected) into {args.output} in {record['duration_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    # Run the imported module, not this `__main__` copy: Spark's workers find functions by module.
    from importlib import import_module

    sys.exit(import_module(__spec__.name).main())
