"""The generated repo's monitoring as the tests read it: its rule files and alerts, the metric
names its rules and dashboard use, and the pieces of a real Prometheus run against it (windows
shortened for a test, the scrape job Prometheus Operator would generate, queries)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import yaml

from devkit.chart import by_kind, chart_dir, render
from devkit.operator import scrape_job

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
# Metrics an expression may use that the service itself does not export.
EXTERNAL_METRICS = {
    "up": "Prometheus, per scrape target",
    "ALERTS": "Prometheus, per alert",
    "container_cpu_cfs_periods_total": "cAdvisor, through the kubelet",
    "container_cpu_cfs_throttled_periods_total": "cAdvisor, through the kubelet",
    "analysis_run_metric_phase": "the Argo Rollouts controller (progressive_delivery)",
    "rollout_info": "the Argo Rollouts controller (progressive_delivery)",
}
# The batch scoring job pushes these to a Pushgateway (tests/generated/test_score.py checks them).
BATCH_METRICS = re.compile(r"^batch_score_")
PROMQL_NAME = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def rule_files(repo: Path) -> list[Path]:
    return sorted((repo / "monitoring" / "rules").glob("*.yml"))


def alerts(repo: Path) -> list[dict]:
    found = []
    for path in rule_files(repo):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule for rule in group["rules"] if "alert" in rule]
    return found


def dashboard_expressions(repo: Path) -> list[str]:
    exprs = []
    for path in (repo / "monitoring" / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        assert board["uid"] and len(board["uid"]) <= 40
        names = {v["name"] for v in board["templating"]["list"]}
        assert {"datasource", "namespace", "service"} <= names
        for panel in board["panels"]:
            exprs += [target["expr"] for target in panel.get("targets", [])]
    return exprs


def used_metric_names(repo: Path) -> tuple[set[str], set[str]]:
    """(metric names used by rules and dashboard, names the rules record)."""
    recorded, used = set(), set()
    expressions = dashboard_expressions(repo)
    for path in rule_files(repo):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                expressions.append(rule["expr"])
                if "record" in rule:
                    recorded.add(rule["record"])
    for expression in expressions:
        names = set(PROMQL_NAME.findall(expression))
        assert names, f"no metric found in {expression!r}"
        used |= names
    return used, recorded


SHORT_WINDOWS = {"5m": "5s", "10m": "8s", "30m": "8s", "1h": "10s", "2h": "12s", "6h": "15s"}
SHORT_WINDOWS |= {"1d": "20s", "3d": "30s"}


def shorten_windows(text: str) -> str:
    """Test-only: the shipped rules with short range windows and `for` durations; the
    thresholds stay exactly as shipped."""
    text = re.sub(r"\[(\d+[mhd])\]", lambda m: f"[{SHORT_WINDOWS[m.group(1)]}]", text)
    return re.sub(r"^(\s+)for: \S+$", r"\1for: 2s", text, flags=re.MULTILINE)


SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
# The labels that say where a series comes from: the ones the operator's relabelling touches.
WHERE = {"job", "namespace", "endpoint"}
# The classification example has no categorical or nullable feature, so these are not exported.
ABSENT_BY_CONTRACT = {"model_input_category_total", "model_input_missing_total"}
# The namespace of the same target scraped without the chart's metricRelabelings.
CONTROL = "control"


def where_selectors(repo: Path, namespace: str) -> list[str]:
    """Every selector of every rule and dashboard query, cut to its metric name and the matchers
    on job, namespace and endpoint (the dashboard's variables filled in for one namespace)."""
    service = yaml.safe_load(repo.joinpath(".copier-answers.yml").read_text())["service_name"]
    expressions = [e.replace("$service", service) for e in dashboard_expressions(repo)]
    expressions = [e.replace("$namespace", namespace) for e in expressions]
    for path in rule_files(repo):
        for group in yaml.safe_load(path.read_text())["groups"]:
            expressions += [rule["expr"] for rule in group["rules"]]
    selectors = set()
    for expression in expressions:
        for name, body in SELECTOR.findall(expression):
            kept = [f'{k}{op}"{v}"' for k, op, v in MATCHER.findall(body) if k in WHERE]
            kept = [m for m in kept if not m.startswith("namespace")] + [f'namespace="{namespace}"']
            selectors.add(f"{name}{{{','.join(sorted(kept))}}}")
    return sorted(selectors)


def prediction_matchers(repo: Path) -> str:
    """The matchers the SLO rules count prediction requests with."""
    slo = yaml.safe_load((repo / "monitoring" / "rules" / "slo.yml").read_text())
    (rate,) = [
        r
        for g in slo["groups"]
        for r in g["rules"]
        if r.get("record") == "service:bentoml_requests:rate5m"
    ]
    (body,) = [b for name, b in SELECTOR.findall(rate["expr"]) if name.startswith("bentoml")]
    return body


def operator_scrape_jobs(repo: Path, address: str) -> list[dict]:
    """The scrape job Prometheus Operator generates from the rendered ServiceMonitor (namespace
    "ml"), and, as the negative control, the same without its metricRelabelings."""
    jobs = []
    for namespace in ("ml", CONTROL):
        objects = render(chart_dir(repo), {}, namespace=namespace)
        (monitor,) = by_kind(objects, "ServiceMonitor")
        (service,) = by_kind(objects, "Service")
        (deployment,) = by_kind(objects, "Deployment")
        if namespace == CONTROL:
            del monitor["spec"]["endpoints"][0]["metricRelabelings"]
        monitor["spec"]["endpoints"][0]["interval"] = "1s"
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        jobs.append(scrape_job(monitor, service, pod_labels, address))
    return jobs


def query(port: int, promql: str) -> list[dict]:
    answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": promql}, timeout=5)
    assert answer.status_code == 200, f"{promql}: {answer.text}"
    return answer.json()["data"]["result"]
