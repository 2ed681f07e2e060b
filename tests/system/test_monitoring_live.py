"""Monitoring against the real service: every metric a rule or panel uses is exported, the served
OpenAPI document is the committed one, and a real Prometheus, given the scrape config Prometheus
Operator generates from the chart's ServiceMonitor, fires the availability alert against the real
service with injected faults."""

import json
import signal
import subprocess
import threading
import time

import httpx
import pytest
import yaml

from devkit.load import ROW
from devkit.monitoring import (
    ABSENT_BY_CONTRACT,
    BATCH_METRICS,
    CONTROL,
    EXTERNAL_METRICS,
    PROMETHEUS,
    operator_scrape_jobs,
    prediction_matchers,
    query,
    rule_files,
    shorten_windows,
    used_metric_names,
    where_selectors,
)
from devkit.schemas import BENTOML_OPENAPI_ERRORS, openapi_errors
from devkit.service import example_requests, free_port, serving


@pytest.fixture(scope="module")
def trained(environments, tmp_path_factory):
    return environments.trained(home=tmp_path_factory.mktemp("monitoring"))


@pytest.fixture(scope="module")
def trained_regression(environments, tmp_path_factory):
    """The regression example: a categorical and a nullable feature, a value histogram."""
    home = tmp_path_factory.mktemp("monitoring-regression")
    return environments.trained(home=home, model_task="regression")


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
