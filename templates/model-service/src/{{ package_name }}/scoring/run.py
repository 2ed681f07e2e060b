"""A run: input to published output with the count check, the reject-ratio bound, the run record
and the pushed metrics; nothing is published unless every input row is a score or a reject."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .. import credentials, settings
from ..model import CONTRACT
from ..schedule import ScheduleError, interval_seconds
from ..settings import SERVICE_NAME, TEMPLATE_VERSION
from .config import Config, ScoringError, WriteError
from .engines import ENGINES, Counts, loaded_model
from .inputs import columns_of, expected_rows, fingerprint, input_files, key_columns
from .outputs import exit_now_or_held, publish, written_rows


def lineage() -> dict[str, str]:
    """The commit (the image's GIT_COMMIT, else git), the template release (settings) and, with a
    registry, the registry version."""
    commit = os.environ.get("GIT_COMMIT", "")
    if not commit:
        from ..training import lineage as from_git

        commit = from_git()["git_commit"]
    return {"git_commit": commit, "template_version": TEMPLATE_VERSION, **registry_version()}


def registry_version() -> dict[str, str]:
    """The registered model and version the run scores with (MODEL_REGISTRY_VERSION, from the
    image or `make score`), when the service has a registry; "none" when not from the registry."""
    name = getattr(settings, "REGISTERED_MODEL_NAME", None)
    if name is None:
        return {}
    return {"registered_model": name, "registry_version": settings.MODEL_REGISTRY_VERSION}


def on_sigterm(signum: int, frame: object) -> None:
    exit_now_or_held(128 + signum)


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
        if missing := credentials.missing(CONTRACT.credentials):
            raise ScoringError(credentials.describe_missing(missing))
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
