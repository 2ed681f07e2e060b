"""Batch-scoring input for `make bench-batch`, built from a generated repo's own model contract.

Run with the generated repo's Python (it has the package and pyarrow):

    python generate.py PACKAGE OUT ROWS FILES

Writes ROWS rows as FILES Parquet files (part-000.parquet, ...) into OUT, one file at a time, so
memory holds one file's columns. No feature is named here: every row takes each feature's value
from one of the contract's EXAMPLES, chosen at random; a numeric value is moved by up to 5 %
within the feature's bounds, so values vary as real data does. Every row is valid under the
contract. A `row_id` column is the key. Prints the row count and bytes written as JSON.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def columns(contract, spec, rng: np.random.Generator, first: int, rows: int) -> dict:
    out = {"row_id": pa.array(np.arange(first, first + rows, dtype=np.int64))}
    for feature in contract.features:
        seen = [example.get(feature.name) for example in contract.examples]
        pick = rng.integers(0, len(seen), rows)
        if isinstance(feature, spec.Categorical):
            values = np.array(seen, dtype=object)[pick]
            out[feature.name] = pa.array(values.tolist(), pa.string())
            continue
        base = np.array([np.nan if v is None else float(v) for v in seen])[pick]
        values = base * rng.uniform(0.95, 1.05, rows)
        values = np.clip(values, feature.minimum, feature.maximum)
        out[feature.name] = pa.array(values, mask=np.isnan(values))
    return out


def main(package: str, out: Path, rows: int, files: int) -> dict:
    contract = importlib.import_module(f"{package}.model").CONTRACT
    spec = importlib.import_module(f"{package}.spec")
    out.mkdir(parents=True)
    rng = np.random.default_rng(17)
    first = 0
    for part in range(files):
        count = rows // files + (1 if part < rows % files else 0)
        table = pa.table(columns(contract, spec, rng, first, count))
        pq.write_table(table, out / f"part-{part:03d}.parquet")
        first += count
    size = sum(p.stat().st_size for p in out.glob("*.parquet"))
    return {"rows": first, "files": files, "bytes": size}


if __name__ == "__main__":
    package, out, rows, files = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(json.dumps(main(package, out, rows, files)))
