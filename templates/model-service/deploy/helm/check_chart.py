"""Lint the chart in strict mode and render it with each values file: `make chart`.

    python deploy/helm/check_chart.py CHART_DIR [--out DIR] [--digest sha256:...] [--releases]

Uses the Helm engine from helm-python-sdk, so no helm binary or cluster is needed. Writes each
render to OUT/<values file stem>/ and exits 1 on any lint error or render failure. With --digest,
every values file is rendered with that image digest, as `make deploy` deploys it; with --releases,
each values-<env>.yaml as its own release, <chart>-<env>, so no label selector of one render selects
the objects of another when all are checked together (`make policy`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import helm_python
import yaml

ERROR = 3
# The chart reads monitoring/ through a symlink on purpose (the rules and the dashboard have one
# source), and the Helm engine logs that at INFO on every lint and render: nine identical lines
# per `make chart`. Only that line is dropped; anything else the engine writes is shown.
SYMLINK_NOTICE = "INFO found symbolic link in path"


@contextmanager
def engine_output() -> Iterator[None]:
    """The Helm engine's stderr (it writes to file descriptor 2 itself), less the symlink notice."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if SYMLINK_NOTICE not in line:
                    print(line, file=sys.stderr)


def values_files(chart: Path) -> list[Path | None]:
    """None stands for the chart's defaults alone; then each values-*.yaml."""
    return [None, *sorted(chart.glob("values-*.yaml"))]


def release_name(chart: Path, values_file: Path | None, releases: bool) -> str:
    if not releases or values_file is None:
        return chart.name
    return f"{chart.name}-{values_file.stem.removeprefix('values-')}"


def check(chart: Path, out: Path, digest: str = "", releases: bool = False) -> list[str]:
    problems = []
    for values_file in values_files(chart):
        label = values_file.name if values_file else "values.yaml"
        values = (yaml.safe_load(values_file.read_text()) if values_file else {}) or {}
        if digest:
            values = {**values, "image": {**values.get("image", {}), "digest": digest}}
        with engine_output():
            lint = helm_python.lint(str(chart), values, strict=True)
        errors = [*lint.get("errors", [])]
        errors += [m for m in lint.get("messages", []) if m.get("severity", 0) >= ERROR]
        problems += [f"{label}: lint: {error}" for error in errors]
        try:
            with engine_output():
                rendered = helm_python.Chart.load(str(chart)).render(
                    values, name=release_name(chart, values_file, releases), namespace="default"
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
    parser.add_argument("--digest", default="", help="render with this image digest (sha256:...)")
    parser.add_argument(
        "--releases",
        action="store_true",
        help="render each values-<env>.yaml as release <chart>-<env>",
    )
    args = parser.parse_args(argv)
    problems = check(args.chart, args.out, args.digest, args.releases)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
