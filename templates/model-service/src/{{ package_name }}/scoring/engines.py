"""The engines: one chunk scored (checks, predict, scores and rejects), on one process (`local`)
or on Apache Spark (`spark`, mapInArrow), with the same chunk function."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .. import model as model_store
from ..settings import SERVICE_NAME
from .checks import check_chunk
from .config import REASON, ROW, SUFFIXES, VERSION, ScoringError
from .inputs import Malformed, batches, malformed_rejects
from .outputs import ParquetWriters, output_schema, prediction_columns


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


@dataclass(frozen=True)
class Counts:
    input: int
    scored: int
    rejected: int


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
        schema = pq.read_schema(files[0])
        arrow_keys = pa.schema([pa.field(k, schema.field(k).type) for k in keys])
    else:  # every CSV column as text, as the single-machine path reads it
        frame = spark.read.option("header", "true").csv(paths)
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
