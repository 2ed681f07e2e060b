"""Monitoring that is proven to fire, on every answer set's render: promtool checks and unit tests
of the rules, runbook links that resolve, the chart shipping the same rules and dashboard. The real
service's metrics and a real Prometheus are tests/system/test_monitoring_live.py."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.chart import by_kind, chart_dir, render
from devkit.monitoring import PROMTOOL, alerts, rule_files
from devkit.operator import scrape_job
from devkit.project import goldenpath


def test_rules_pass_promtool_and_every_answer_set_passes_verify(rendered) -> None:
    """`goldenpath verify` on a fresh render of each answer set: the standards hold, and its
    promtool run (`check rules`, then the unit tests in monitoring/tests/) passes. One run proves
    both; tests/render/test_cli.py shows verify failing on a broken alert test."""
    _, repo = rendered
    assert PROMTOOL, "promtool is missing: `make test` installs the prometheus package"
    done = goldenpath("verify", str(repo))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "meets the standards" in done.stdout
    assert "promtool" not in done.stdout, done.stdout  # no "promtool not found" note


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


def test_operator_stand_in_refuses_what_it_does_not_model(rendered) -> None:
    _, repo = rendered
    objects = render(chart_dir(repo), {})
    (monitor,) = by_kind(objects, "ServiceMonitor")
    (service,) = by_kind(objects, "Service")
    monitor["spec"]["endpoints"][0]["tlsConfig"] = {"insecureSkipVerify": True}
    with pytest.raises(ValueError, match=r"endpoint fields \['tlsConfig'\] are not modelled"):
        scrape_job(monitor, service, {}, "127.0.0.1:1")


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
