"""The generated Helm chart through the real Helm engine and the Kubernetes schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import yaml
from kubeflow_spark_api.models import SparkV1beta2SparkApplication

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


# Batch scoring values that turn both jobs on, with the volumes they read and write.
DIGEST = "sha256:" + "a" * 64
BATCH = {
    "input": "/data/in",
    "output": "/data/out",
    "pushgatewayUrl": "http://pushgateway.monitoring.svc:9091",
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "scoring"}}],
    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    "cronJob": {"enabled": True},
    "sparkApplication": {"enabled": True, "image": "registry.example.com/spark-scorer:1"},
}


def with_batch(values: dict[str, Any], **changes: Any) -> dict[str, Any]:
    values = copy.deepcopy(values)
    batch = values.setdefault("batch", {})
    for key, value in {**BATCH, **changes}.items():
        if isinstance(value, dict):
            batch[key] = {**batch.get(key, {}), **value}
        else:
            batch[key] = value
    values.setdefault("image", {})["digest"] = DIGEST
    return values


def strict_spark_application(obj: dict[str, Any]) -> SparkV1beta2SparkApplication:
    """The operator's model of the object; a field the model does not know is an error (the
    generated models drop unknown fields silently, so the round trip must give the input back)."""
    model = SparkV1beta2SparkApplication.from_dict(obj)
    assert model.to_dict() == obj, "SparkApplication has fields the operator's API does not know"
    return model
