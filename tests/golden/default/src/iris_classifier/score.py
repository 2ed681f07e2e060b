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

This module is the command line; the job lives in the `scoring` package, one room per part:
config (settings, errors), inputs (files, CSV lines, keys), checks (a chunk's rules), outputs
(columns, writers, publish), engines (local and Spark) and run (the run and its record).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .scoring.checks import check_chunk, feature_rows, validate
from .scoring.config import CONFIG_FILE, Config, ScoringError, WriteError, load_config
from .scoring.engines import ENGINES
from .scoring.run import on_sigterm, push_metrics, run, write_examples
from .settings import MODEL_TAG

# What tests and tools use from `score` (the job's rooms are in `scoring`).
__all__ = [
    "Config",
    "ScoringError",
    "WriteError",
    "check_chunk",
    "feature_rows",
    "load_config",
    "main",
    "run",
    "validate",
]


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
