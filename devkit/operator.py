"""The scrape job Prometheus Operator generates from a ServiceMonitor, for a real Prometheus that
has no Kubernetes API to discover from.

Written from prometheus-operator v0.93.0, pkg/prometheus/promcfg.go:
`ConfigGenerator.generateServiceMonitorConfig` (with `initRelabelings`, `AddHonorLabels`,
`generateRunningFilter`, `generateRelabelConfig` and `appendShardingRelabelingWithLabel`), for the
default `endpoints` discovery role, one shard, no scrape class and no enforced namespace label.
Kubernetes discovery is replaced by one static target that carries the `__meta_kubernetes_*`
labels the endpoints role attaches for a pod behind the rendered Service; every relabelling step
the operator writes then runs in Prometheus itself. A ServiceMonitor field this stand-in does not
model is refused, so the chart cannot grow one that the test would silently ignore.
"""

from __future__ import annotations

import re
from typing import Any

MODELLED_SPEC = {"selector", "endpoints", "jobLabel", "targetLabels", "podTargetLabels"}
MODELLED_ENDPOINT = {
    "port",
    "path",
    "interval",
    "scrapeTimeout",
    "honorLabels",
    "relabelings",
    "metricRelabelings",
}
RELABEL_KEYS = {  # the CRD's camelCase name -> Prometheus' name (generateRelabelConfig's order)
    "sourceLabels": "source_labels",
    "separator": "separator",
    "targetLabel": "target_label",
    "regex": "regex",
    "modulus": "modulus",
    "replacement": "replacement",
    "action": "action",
}


def sanitize(name: str) -> str:
    """sanitizeLabelName: every character that cannot be in a label name becomes `_`."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def relabel_configs(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """generateRelabelConfig: the CRD's relabel rules in Prometheus' spelling, lowercase actions."""
    out = []
    for rule in rules:
        unknown = set(rule) - set(RELABEL_KEYS)
        if unknown:
            raise ValueError(f"relabel rule {rule}: fields {sorted(unknown)} are not modelled")
        converted = {RELABEL_KEYS[key]: rule[key] for key in RELABEL_KEYS if key in rule}
        if "action" in converted:
            converted["action"] = converted["action"].lower()
        out.append(converted)
    return out


def discovered_labels(
    service: dict[str, Any], pod_labels: dict[str, str], pod: str, container: str
) -> dict[str, str]:
    """The labels Kubernetes endpoints discovery gives a ready pod behind `service` (one per port;
    this is the port the ServiceMonitor names, so `__meta_kubernetes_endpoint_port_name` is set
    by `scrape_job`)."""
    meta = service["metadata"]
    labels = {
        "__meta_kubernetes_namespace": meta["namespace"],
        "__meta_kubernetes_service_name": meta["name"],
        "__meta_kubernetes_endpoint_address_target_kind": "Pod",
        "__meta_kubernetes_endpoint_address_target_name": pod,
        "__meta_kubernetes_endpoint_ready": "true",
        "__meta_kubernetes_pod_name": pod,
        "__meta_kubernetes_pod_container_name": container,
        "__meta_kubernetes_pod_phase": "Running",
    }
    for key, value in meta.get("labels", {}).items():
        labels[f"__meta_kubernetes_service_label_{sanitize(key)}"] = str(value)
        labels[f"__meta_kubernetes_service_labelpresent_{sanitize(key)}"] = "true"
    for key, value in pod_labels.items():
        labels[f"__meta_kubernetes_pod_label_{sanitize(key)}"] = str(value)
        labels[f"__meta_kubernetes_pod_labelpresent_{sanitize(key)}"] = "true"
    return labels


def scrape_job(
    monitor: dict[str, Any],
    service: dict[str, Any],
    pod_labels: dict[str, str],
    address: str,
    pod: str = "model-server-0",
    container: str = "model-server",
) -> dict[str, Any]:
    """The scrape job for the ServiceMonitor's first endpoint, with `address` as the one pod."""
    spec = monitor["spec"]
    unknown = set(spec) - MODELLED_SPEC
    if unknown:
        raise ValueError(f"ServiceMonitor spec fields {sorted(unknown)} are not modelled")
    selector = spec["selector"]
    if set(selector) != {"matchLabels"}:
        raise ValueError(f"ServiceMonitor selector {selector}: only matchLabels is modelled")
    endpoint = spec["endpoints"][0]
    unknown = set(endpoint) - MODELLED_ENDPOINT
    if unknown:
        raise ValueError(f"ServiceMonitor endpoint fields {sorted(unknown)} are not modelled")
    port = endpoint["port"]
    ports = {p["name"] for p in service["spec"]["ports"]}
    target = discovered_labels(service, pod_labels, pod, container)
    if port in ports:
        target["__meta_kubernetes_endpoint_port_name"] = port

    relabelings: list[dict[str, Any]] = [
        {"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}
    ]
    for key in sorted(selector["matchLabels"]):
        relabelings.append(
            {
                "action": "keep",
                "source_labels": [
                    f"__meta_kubernetes_service_label_{sanitize(key)}",
                    f"__meta_kubernetes_service_labelpresent_{sanitize(key)}",
                ],
                "regex": f"({selector['matchLabels'][key]});true",
            }
        )
    relabelings.append(
        {"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": port}
    )
    kind_and_name = [
        "__meta_kubernetes_endpoint_address_target_kind",
        "__meta_kubernetes_endpoint_address_target_name",
    ]
    for kind, label in (("Node", "node"), ("Pod", "pod")):
        relabelings.append(
            {
                "source_labels": kind_and_name,
                "separator": ";",
                "regex": f"{kind};(.*)",
                "replacement": "${1}",
                "target_label": label,
            }
        )
    for meta, label in (
        ("namespace", "namespace"),
        ("service_name", "service"),
        ("pod_name", "pod"),
        ("pod_container_name", "container"),
    ):
        relabelings.append({"source_labels": [f"__meta_kubernetes_{meta}"], "target_label": label})
    relabelings.append(  # generateRunningFilter
        {
            "action": "drop",
            "source_labels": ["__meta_kubernetes_pod_phase"],
            "regex": "(Failed|Succeeded)",
        }
    )
    for source, labels in (
        ("service", spec.get("targetLabels", [])),
        ("pod", spec.get("podTargetLabels", [])),
    ):
        for label in labels:
            relabelings.append(
                {
                    "source_labels": [f"__meta_kubernetes_{source}_label_{sanitize(label)}"],
                    "target_label": sanitize(label),
                    "regex": "(.+)",
                    "replacement": "${1}",
                }
            )
    relabelings.append(
        {
            "source_labels": ["__meta_kubernetes_service_name"],
            "target_label": "job",
            "replacement": "${1}",
        }
    )
    if spec.get("jobLabel"):
        relabelings.append(
            {
                "source_labels": [f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}"],
                "target_label": "job",
                "regex": "(.+)",
                "replacement": "${1}",
            }
        )
    relabelings.append({"target_label": "endpoint", "replacement": port})
    relabelings += relabel_configs(endpoint.get("relabelings", []))
    relabelings += [  # one shard: $(SHARD) is 0 once the config reloader has substituted it
        {
            "source_labels": ["__address__", "__tmp_hash"],
            "target_label": "__tmp_hash",
            "regex": "(.+);",
            "replacement": "$1",
            "action": "replace",
        },
        {
            "source_labels": ["__tmp_hash"],
            "target_label": "__tmp_hash",
            "modulus": 1,
            "action": "hashmod",
        },
        {
            "source_labels": ["__tmp_hash", "__tmp_disable_sharding"],
            "regex": "0;|.+;.+",
            "action": "keep",
        },
    ]
    meta = monitor["metadata"]
    job: dict[str, Any] = {
        "job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/0",
        "honor_labels": bool(endpoint.get("honorLabels", False)),
        "static_configs": [{"targets": [address], "labels": target}],
    }
    for key, name in (
        ("interval", "scrape_interval"),
        ("scrapeTimeout", "scrape_timeout"),
        ("path", "metrics_path"),
    ):
        if key in endpoint:
            job[name] = endpoint[key]
    job["relabel_configs"] = relabelings
    if endpoint.get("metricRelabelings"):
        job["metric_relabel_configs"] = relabel_configs(endpoint["metricRelabelings"])
    return job
