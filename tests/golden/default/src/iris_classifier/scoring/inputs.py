"""The input: its files (Parquet or CSV), their fingerprint, key columns and rows chunk by chunk;
a CSV line that is no row becomes a reject naming its line."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..model import CONTRACT
from .config import REASON, ROW, SUFFIXES, VERSION, Config, ScoringError
from .outputs import output_names


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
            # Only blank text is null, as Spark's CSV reader has it: "NA" or "nan" is text, which
            # the rules then refuse (pyarrow would read a dozen spellings as null).
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=True,
            null_values=[""],
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


def expected_rows(files: Sequence[Path]) -> int | None:
    """The input's row count from the Parquet footers (None for CSV: it has none)."""
    if SUFFIXES[files[0].suffix] != "parquet":
        return None
    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)
