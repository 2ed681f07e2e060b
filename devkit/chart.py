"""The generated Helm chart through the real Helm engine and the Kubernetes schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"
ERROR = 3


def chart_dir(repo: Path) -> Path:
    (chart,) = (repo / "deploy" / "helm").glob("*/Chart.yaml")
    return chart.parent


def values_files(chart: Path) -> dict[str, dict[str, Any]]:
    """The chart's defaults alone ("values.yaml", no overrides) and each values-*.yaml."""
    files = {"values.yaml": {}}
    for path in sorted(chart.glob("values-*.yaml")):
        files[path.name] = yaml.safe_load(path.read_text()) or {}
    return files


def lint_errors(chart: Path, values: dict[str, Any]) -> list[str]:
    result = helm_python.lint(str(chart), values, strict=True)
    errors = [str(e) for e in result.get("errors", [])]
    return errors + [m["error"] for m in result.get("messages", []) if m["severity"] >= ERROR]


def render(chart: Path, values: dict[str, Any], namespace: str = "ml") -> list[dict[str, Any]]:
    """Every object the chart renders (NOTES.txt and empty documents left out)."""
    rendered = helm_python.Chart.load(str(chart)).render(
        values, name=chart.name, namespace=namespace
    )
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            objects += [obj for obj in yaml.safe_load_all(text) if obj]
    return objects


def validate(obj: dict[str, Any]) -> bool:
    """Validate a core object strictly; False for kinds with no bundled schema (CRDs)."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return False
    return True


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]
