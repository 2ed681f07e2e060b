"""The SparkApplication's entry point: spark-submit runs a file, not a module, so this file runs
`score` as `python -m <package>.score` would (the chart passes `--engine spark` and the paths)."""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_module(f"{Path(__file__).resolve().parent.name}.score", run_name="__main__")
