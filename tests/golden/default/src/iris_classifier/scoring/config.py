"""The scoring job's settings (config/scoring.toml), its errors and the output's column names."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

# The team's settings; the image sets SCORING_CONFIG to its copy.
CONFIG_FILE = Path(os.environ.get("SCORING_CONFIG", "config/scoring.toml"))


SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


REASON = "reason"


ROW = "row"


VERSION = "model_version"


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
