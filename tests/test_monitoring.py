"""Monitoring that is proven to fire: promtool on every answer set, runbook links that resolve,
metric names that the real service exports, and a real Prometheus firing the availability alert
against the real service with injected faults."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from .support.chart import by_kind, chart_dir, render
from .support.load import ROW
from .support.operator import scrape_job
from .support.schemas import BENTOML_OPENAPI_ERRORS, openapi_errors
from .support.service import example_requests, free_port, serving, trained_repo

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
# Metrics an expression may use that the service itself does not export.
EXTERNAL_METRICS = {
    "up": "Prometheus, per scrape target",
    "ALERTS": "Prometheus, per alert",
    "container_cpu_cfs_periods_total": "cAdvisor, through the kubelet",
    "container_cpu_cfs_throttled_periods_total": "cAdvisor, through the kubelet",
}
# The batch scoring job pushes these to a Pushgateway; tests/test_score.py checks them there.
BATCH_METRICS = re.compile(r"^batch_score_")
PROMQL_NAME = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def promtool(*args: str, cwd: Path) -> str:
    assert PROMTOOL, "promtool is missing: `make test` installs the prometheus package"
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rule_files(repo: Path) -> list[Path]:
    return sorted((repo / "monitoring" / "rules").glob("*.yml"))


def alerts(repo: Path) -> list[dict]:
    found = []
    for path in rule_files(repo):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found += [rule for rule in group["rules"] if "alert" in rule]
    return found


def test_rules_pass_promtool_check_and_unit_tests(rendered) -> None:
    _, repo = rendered
    promtool("check", "rules", *map(str, rule_files(repo)), cwd=repo)
    tests = sorted(str(p) for p in (repo / "monitoring" / "tests").glob("*.yml"))
    out = promtool("test", "rules", *tests, cwd=repo)
    assert "SUCCESS" in out


def test_every_alert_has_a_firing_and_a_silent_case(rendered) -> None:
    _, repo = rendered
    tests = "\n".join(p.read_text() for p in (repo / "monitoring" / "tests").glob("*.yml"))
    for rule in alerts(repo):
        name = rule["alert"]
        assert f'alertname="{name}",alertstate="firing"' in tests, f"{name} never fires in tests"
        assert f"alertname: {name}\n" in tests, f"{name} is never checked silent"


def github_slug(heading: str) -> str:
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def test_every_alert_is_labelled_and_links_to_its_runbook_section(rendered) -> None:
    answers, repo = rendered
    runbook = (repo / "docs" / "runbook.md").read_text()
    anchors = {github_slug(h) for h in re.findall(r"^#{1,6} (.+)$", runbook, flags=re.MULTILINE)}
    for rule in alerts(repo):
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        url = annotations["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page.endswith("/main/docs/runbook.md"), url
        assert page.startswith(answers.get("repo_url", "https://")), url
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in docs/runbook.md"


def test_chart_ships_the_same_rules_and_dashboard(rendered) -> None:
    _, repo = rendered
    objects = render(chart_dir(repo), {})
    (rule,) = by_kind(objects, "PrometheusRule")
    expected = []
    for path in rule_files(repo):
        expected += yaml.safe_load(path.read_text())["groups"]
    assert rule["spec"]["groups"] == expected
    (dashboard,) = [
        o for o in by_kind(objects, "ConfigMap") if o["metadata"]["name"].endswith("-dashboard")
    ]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    (name, text), *_ = dashboard["data"].items()
    assert json.loads(text) == json.loads((repo / "monitoring" / "dashboards" / name).read_text())
    assert (chart_dir(repo) / "monitoring").is_symlink(), "one source: the chart links monitoring/"


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


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return trained_repo(tmp_path_factory.mktemp("monitoring"))


@pytest.fixture(scope="module")
def trained_regression(tmp_path_factory):
    """The regression example: a categorical and a nullable feature, a value histogram."""
    return trained_repo(tmp_path_factory.mktemp("monitoring-regression"), model_task="regression")


@pytest.mark.server
@pytest.mark.generated_make
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_metric_used_is_exported_by_the_real_service(request, task, tmp_path) -> None:
    trained = request.getfixturevalue(
        "trained" if task == "classification" else "trained_regression"
    )
    used, recorded = used_metric_names(trained.repo)
    assert len(used) >= 10
    examples = example_requests(trained)
    with serving(trained, tmp_path / "serve.log") as url:
        for _ in range(3):
            httpx.post(f"{url}/predict_batch", json={"instances": examples * 50}, timeout=10)
        for example in examples:
            httpx.post(f"{url}/predict", json=example, timeout=10)
            for name in example:  # each feature left out once: a 400, or null if nullable
                without = {key: value for key, value in example.items() if key != name}
                httpx.post(f"{url}/predict", json=without, timeout=10)
        httpx.post(f"{url}/predict", json={"no_such_feature": 1.0}, timeout=10)
        text = httpx.get(f"{url}/metrics", timeout=10).text
    exported = {
        line.split("{")[0].split(" ")[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    # A metric of a kind of feature the contract does not have (the classification example has
    # no categorical or nullable feature) is not exported; the regression example has them all.
    absent_by_contract = (
        {"model_input_category_total", "model_input_missing_total"}
        if task == "classification"
        else set()
    )
    for name in sorted(used):
        if name in recorded or name in EXTERNAL_METRICS or name in absent_by_contract:
            continue
        if BATCH_METRICS.match(name):
            continue
        assert name in exported, f"{name} is used by a rule or panel but not exported"
    assert "model_input_missing_total" in exported or task == "classification"


@pytest.mark.server
@pytest.mark.generated_make
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_served_openapi_document_is_valid_openapi(request, task, tmp_path) -> None:
    trained = request.getfixturevalue(
        "trained" if task == "classification" else "trained_regression"
    )
    with serving(trained, tmp_path / "serve.log") as url:
        document = httpx.get(f"{url}/docs.json", timeout=30).json()
    assert document["openapi"].startswith("3.0"), document["openapi"]
    errors = openapi_errors(document)
    ours = {
        where: message for where, message in errors.items() if where not in BENTOML_OPENAPI_ERRORS
    }
    assert ours == {}, f"the service adds OpenAPI errors: {ours}"
    # What it serves is the document the repository commits (`make openapi`, no server) and the
    # catalog entry points to.
    committed = json.loads((trained.repo / "docs" / "openapi.json").read_text())
    assert document == committed, "docs/openapi.json is not the document /docs.json serves"
    # The control: a JSON Schema `examples` list (what pydantic's Field(examples=...) writes).
    instances = document["components"]["schemas"]["predict_batch__Input"]["properties"]["instances"]
    instances["examples"] = [instances["example"]]
    assert ("components", "schemas", "predict_batch__Input") in openapi_errors(document)


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


def test_operator_stand_in_refuses_what_it_does_not_model(rendered) -> None:
    _, repo = rendered
    objects = render(chart_dir(repo), {})
    (monitor,) = by_kind(objects, "ServiceMonitor")
    (service,) = by_kind(objects, "Service")
    monitor["spec"]["endpoints"][0]["tlsConfig"] = {"insecureSkipVerify": True}
    with pytest.raises(ValueError, match=r"endpoint fields \['tlsConfig'\] are not modelled"):
        scrape_job(monitor, service, {}, "127.0.0.1:1")


@pytest.mark.server
@pytest.mark.generated_make
def test_real_prometheus_with_the_operators_scrape_config(trained, tmp_path) -> None:
    """The service scraped as Prometheus Operator scrapes it from the chart's ServiceMonitor: every
    rule and panel selector finds its series, probes are not predictions, and the availability
    alert fires under injected errors. The control scrape (no metricRelabelings) shows the clash."""
    assert PROMETHEUS, "prometheus is missing: `make test` installs the prometheus package"
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for path in rule_files(trained.repo):
        (rules_dir / path.name).write_text(shorten_windows(path.read_text()))
    fault = {"FAULT_ERROR_RATE": "0.5"}
    with serving(trained, tmp_path / "serve.log", env=fault) as url:
        prom_port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in sorted(rules_dir.glob("*.yml"))],
            "scrape_configs": operator_scrape_jobs(trained.repo, url.removeprefix("http://")),
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = (tmp_path / "prometheus.log").open("w")
        prometheus = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stop = threading.Event()
        statuses: list[int] = []
        examples = example_requests(trained)

        def drive() -> None:  # bounded: stops on the event, after 2 minutes or 20,000 requests
            deadline = time.monotonic() + 120
            with httpx.Client(timeout=5) as client:
                while not stop.is_set() and time.monotonic() < deadline and len(statuses) < 20000:
                    response = client.post(f"{url}/predict", json=ROW)
                    statuses.append(response.status_code)
                    if len(statuses) % 20 == 0:  # the batch route, a bad input, and the probes
                        client.post(f"{url}/predict_batch", json={"instances": examples})
                        client.post(f"{url}/predict", json={"no_such_feature": 1.0})
                        for probe in ("/livez", "/readyz", "/livez", "/readyz"):
                            client.get(f"{url}{probe}")
                    time.sleep(0.01)

        for _ in range(6):  # enough rows for the drift gauges, even with half the calls failing
            httpx.post(f"{url}/predict_batch", json={"instances": examples * 50}, timeout=10)
        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        state, deadline = None, time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                try:
                    answer = httpx.get(f"http://127.0.0.1:{prom_port}/api/v1/alerts", timeout=2)
                    firing = [
                        a
                        for a in answer.json()["data"]["alerts"]
                        if a["labels"]["alertname"] == "AvailabilitySLOFastBurn"
                        and a["labels"].get("namespace") == "ml"
                    ]
                    state = firing[0]["state"] if firing else None
                    if state == "firing":
                        break
                except (httpx.TransportError, ValueError):
                    pass
                time.sleep(1)
            found = {
                ns: {s: bool(query(prom_port, s)) for s in where_selectors(trained.repo, ns)}
                for ns in ("ml", CONTROL)
            }
            predictions = prediction_matchers(trained.repo)
            routes = {
                ns: {
                    series["metric"].get("endpoint")
                    for series in query(
                        prom_port,
                        f"count by (endpoint) (bentoml_service_request_total{{{predictions},"
                        f'namespace="{ns}"}})',
                    )
                }
                for ns in ("ml", CONTROL)
            }
            targets = query(prom_port, 'up{namespace="ml"}')
        finally:
            stop.set()
            driver.join(timeout=10)
            prometheus.send_signal(signal.SIGTERM)
            prometheus.wait(timeout=30)
            log.close()
    assert 500 in statuses and 200 in statuses, "the fault switch should fail about half"
    assert state == "firing", (
        f"AvailabilitySLOFastBurn is {state!r}\n{(tmp_path / 'prometheus.log').read_text()[-3000:]}"
    )
    assert firing[0]["labels"]["severity"] == "critical"
    assert firing[0]["annotations"]["runbook_url"].endswith("#availability-slo-burn")
    (target,) = targets
    service_name = yaml.safe_load(trained.repo.joinpath(".copier-answers.yml").read_text())
    assert target["metric"]["job"] == service_name["service_name"]
    assert {"pod", "service", "container", "endpoint"} <= set(target["metric"])
    absent = {s for s, ok in found["ml"].items() if not ok}
    external = {
        s
        for s in absent
        if s.split("{")[0] in {*EXTERNAL_METRICS, *ABSENT_BY_CONTRACT} or BATCH_METRICS.match(s)
    }
    assert absent == external, f"selectors that find nothing under the operator's scrape: {absent}"
    assert routes["ml"] == {"/predict", "/predict_batch"}, routes["ml"]
    # The control: without the chart's metricRelabelings the route selectors find nothing and
    # the probes count as predictions, which is what the relabelling is for.
    control_absent = {s for s, ok in found[CONTROL].items() if not ok} - {
        s.replace('namespace="ml"', f'namespace="{CONTROL}"') for s in external
    }
    assert any("/predict_batch" in s for s in control_absent), control_absent
    assert routes[CONTROL] == {"http"}, routes[CONTROL]


def settings_value(settings: Path, name: str, **env: str) -> subprocess.CompletedProcess:
    """Run the generated settings.py (it needs only the standard library) and print one value."""
    clean = {
        k: v for k, v in os.environ.items() if k not in {"FAULT_ERROR_RATE", "SERVICE_WORKERS"}
    }
    code = f"import runpy; print(runpy.run_path({str(settings)!r})[{name!r}])"
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True
    )


def test_fault_switch_is_off_by_default(rendered) -> None:
    _, repo = rendered
    (settings,) = (repo / "src").glob("*/settings.py")
    assert settings_value(settings, "FAULT_ERROR_RATE").stdout.strip() == "0"
    assert settings_value(settings, "FAULT_ERROR_RATE", FAULT_ERROR_RATE="0.25").stdout == "0.25\n"
    bad = settings_value(settings, "FAULT_ERROR_RATE", FAULT_ERROR_RATE="lots")
    assert bad.returncode != 0 and "FAULT_ERROR_RATE='lots' is not a number" in bad.stderr
    empty = settings_value(settings, "WORKERS", SERVICE_WORKERS="")
    assert empty.returncode == 0 and int(empty.stdout) >= 1, empty.stderr
    (deployment,) = by_kind(render(chart_dir(repo), {}), "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "FAULT_ERROR_RATE" not in {e["name"] for e in env}
