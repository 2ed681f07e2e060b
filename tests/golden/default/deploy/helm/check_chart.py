"""Lint the chart in strict mode and render it with each values file: `make chart`.

    python deploy/helm/check_chart.py CHART_DIR [--out build/chart]

Uses the Helm engine from helm-python-sdk, so no helm binary or cluster is needed. Writes each
render to OUT/<values file stem>/ and exits 1 on any lint error or render failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import helm_python
import yaml

ERROR = 3


def values_files(chart: Path) -> list[Path | None]:
    """None stands for the chart's defaults alone; then each values-*.yaml."""
    return [None, *sorted(chart.glob("values-*.yaml"))]


def check(chart: Path, out: Path) -> list[str]:
    problems = []
    for values_file in values_files(chart):
        label = values_file.name if values_file else "values.yaml"
        values = yaml.safe_load(values_file.read_text()) if values_file else {}
        lint = helm_python.lint(str(chart), values, strict=True)
        errors = [*lint.get("errors", [])]
        errors += [m for m in lint.get("messages", []) if m.get("severity", 0) >= ERROR]
        problems += [f"{label}: lint: {error}" for error in errors]
        try:
            rendered = helm_python.Chart.load(str(chart)).render(
                values, name=chart.name, namespace="default"
            )
        except helm_python.HelmError as error:
            problems.append(f"{label}: render: {error}")
            continue
        target = out / (values_file.stem if values_file else "values")
        for path, text in rendered.items():
            (target / path).parent.mkdir(parents=True, exist_ok=True)
            (target / path).write_text(text)
        print(f"{label}: lint clean, {len(rendered)} templates rendered to {target}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart", type=Path)
    parser.add_argument("--out", type=Path, default=Path("build/chart"))
    args = parser.parse_args(argv)
    problems = check(args.chart, args.out)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
