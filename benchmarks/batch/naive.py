"""The batch script a team writes first: read everything with pandas, predict once, write once.

Run with the generated repo's Python (pandas comes with its `spark` extra):

    python naive.py PACKAGE MODEL_TAG INPUT_FOLDER OUTPUT_FILE

It loads the model as the service does (the package's `model.load`, the same predictor), turns
the feature columns into the model's matrix with pandas (a categorical feature through its value
index, as `spec.encode` does), predicts all rows in one call and writes one Parquet file: the key
column(s), the prediction (for a classifier the label, its probability and one column per class,
the plain pandas way) and the model version. It validates nothing and holds every row in memory;
that is the point of comparison. Prints its row count and the seconds of each step as JSON.
"""

from __future__ import annotations

import importlib
import json
import sys
import time

import numpy as np
import pandas as pd


def main(package: str, tag: str, source: str, target: str) -> dict:
    model = importlib.import_module(f"{package}.model")
    spec = importlib.import_module(f"{package}.spec")
    contract = model.CONTRACT
    steps = {}
    started = time.monotonic()
    loaded = model.load(tag)
    steps["load_model_s"] = time.monotonic() - started

    started = time.monotonic()
    frame = pd.read_parquet(source)
    steps["read_s"] = time.monotonic() - started

    started = time.monotonic()
    matrix = np.column_stack(
        [
            frame[f.name].map({v: float(i) for i, v in enumerate(f.values)}).to_numpy(float)
            if isinstance(f, spec.Categorical)
            else frame[f.name].to_numpy(float, na_value=np.nan)
            for f in contract.features
        ]
    )
    output = loaded.predict(matrix)
    features = set(contract.feature_names)
    result = frame[[c for c in frame.columns if c not in features]].copy()
    if isinstance(contract.task, spec.Classification):
        classes = np.asarray(contract.task.classes, dtype=object)
        result["label"] = classes[output.argmax(axis=1)]
        result["probability"] = output.max(axis=1)
        for i, name in enumerate(contract.task.classes):
            result[f"probability_{name}"] = output[:, i]
    else:
        result["value"] = output
    result["model_version"] = loaded.version
    steps["predict_s"] = time.monotonic() - started

    started = time.monotonic()
    result.to_parquet(target, index=False)
    steps["write_s"] = time.monotonic() - started
    return {"rows": len(result), **{k: round(v, 3) for k, v in steps.items()}}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
