"""The platform's policies (policies/ of the generated repo) and `make policy`'s runner
(scripts/policy.py): every answer set passes its own policies, and each policy fails its failing
fixture, naming its id, the file and the rule, and passes its passing one.

The runner is the generated repo's own, run as `make policy` runs it (check_chart.py renders the
chart as deployed, then scripts/policy.py runs checkov and the repository policies), with this
environment's Python, which has the chart's dependencies (helm-python-sdk, PyYAML). One checkov
run per answer set, and one for every fixture together."""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from devkit import ROOT, chart
from devkit.policies import policy
from goldenpath.proc import run

KUBERNETES = [f"GP_K8S_{n}" for n in range(1, 7)]
REPOSITORY = ["GP_REPO_1", "GP_REPO_2", "GP_REPO_3"]
DIGEST = "sha256:" + "0" * 64


def test_every_answer_set_passes_its_own_policies(rendered, tmp_path) -> None:
    """`make policy`'s two steps on a fresh render: every policy runs, and none fails."""
    _, repo = rendered
    out = tmp_path / "policy" / "chart"
    chart_path = chart.chart_dir(repo).relative_to(repo)
    render = [sys.executable, "deploy/helm/check_chart.py", str(chart_path), "--out", str(out)]
    rendered_chart = run([*render, "--digest", DIGEST, "--releases"], cwd=repo, timeout=300)
    # Quiet: the Helm engine's notice of the chart's monitoring/ symlink is dropped (was 9 lines).
    assert "found symbolic link" not in rendered_chart.stderr, rendered_chart.stderr
    code, stderr, results = policy(repo, out)
    failed = [(r["id"], r["file"], r.get("what")) for r in results if not r["passed"]]
    assert code == 0 and not failed, (failed, stderr)
    assert {r["id"] for r in results} == {*KUBERNETES, *REPOSITORY}
    # Each values file is its own release: the graph policies saw every environment on its own.
    checked = {r["file"].rsplit(" with ", 1)[-1] for r in results if r["id"] == "GP_K8S_5"}
    assert checked == {"values.yaml", "values-staging.yaml", "values-production.yaml"}
    # The template's own Makefile, CI and hooks run it.
    makefile = (repo / "Makefile").read_text()
    assert "\npolicy: ## " in makefile and "verify: lint test chart policy" in makefile
    assert "entry: make policy" in (repo / ".pre-commit-config.yaml").read_text()
    ci = [repo / ".gitlab-ci.yml", *repo.glob(".github/workflows/ci.yml")]
    assert any("make policy" in path.read_text() for path in ci if path.exists())


# ---- fixtures: one good workload; each failing fixture breaks one policy of it ----------------


def workload(name: str) -> list[dict[str, Any]]:
    """A workload that passes every Kubernetes policy: 3 replicas, a PDB, a NetworkPolicy, an
    alert with its runbook; labels of its own, so no other fixture's selector picks it."""
    labels = {"app.kubernetes.io/name": name}
    container = {
        "name": "server",
        "image": f"registry.example.com/{name}@{DIGEST}",
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
    }
    selector = {"matchLabels": labels}
    meta = {"name": name, "namespace": "ml", "labels": labels}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 3,
                "selector": selector,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                        "containers": [container],
                    },
                },
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"maxUnavailable": 1, "selector": selector},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {"podSelector": selector, "policyTypes": ["Ingress"]},
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": meta,
            "spec": {
                "groups": [
                    {
                        "name": name,
                        "rules": [
                            {"record": "job:up:sum", "expr": "sum(up)"},
                            {
                                "alert": "Down",
                                "expr": "up == 0",
                                "annotations": {
                                    "runbook_url": "https://example.com/docs/runbook.md#down"
                                },
                            },
                        ],
                    }
                ]
            },
        },
    ]


def pod_spec(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return objects[0]["spec"]["template"]["spec"]


def no_limits(objects: list[dict[str, Any]]) -> None:
    del pod_spec(objects)["containers"][0]["resources"]["limits"]


def root_writable(objects: list[dict[str, Any]]) -> None:
    pod_spec(objects)["securityContext"]["runAsNonRoot"] = False
    pod_spec(objects)["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False


def tag_sidecar(objects: list[dict[str, Any]]) -> None:
    sidecar = copy.deepcopy(pod_spec(objects)["containers"][0])
    pod_spec(objects)["containers"].append({**sidecar, "name": "proxy", "image": "envoy:v1.31"})


def no_pdb(objects: list[dict[str, Any]]) -> None:
    objects.pop(1)


def no_network_policy(objects: list[dict[str, Any]]) -> None:
    objects.pop(2)


def alert_without_runbook(objects: list[dict[str, Any]]) -> None:
    objects[3]["spec"]["groups"][0]["rules"].append({"alert": "Slow", "expr": "up < 1"})


BREAKS: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "GP_K8S_1": no_limits,
    "GP_K8S_2": root_writable,
    "GP_K8S_3": tag_sidecar,
    "GP_K8S_4": no_pdb,
    "GP_K8S_5": no_network_policy,
    "GP_K8S_6": alert_without_runbook,
}


def break_repository_files(repo: Path) -> None:
    """One failing fixture per repository policy, in the repo's own files."""
    owners = repo / "CODEOWNERS"
    owners.write_text(owners.read_text().replace("@acme/ml-platform", "@acme/someone-else"))
    catalog = repo / "catalog-info.yaml"
    catalog.write_text(catalog.read_text().replace("owner: ml-platform", "owner: data-eng", 1))
    answers = repo / ".copier-answers.yml"
    text = answers.read_text()
    assert "slo_availability: 99.9" in text
    answers.write_text(text.replace("slo_availability: 99.9", "slo_availability: 100.0"))


@pytest.mark.parametrize("rendered", ["default"], indirect=True)
def test_each_policy_fails_its_failing_fixture_naming_id_file_and_rule(rendered, tmp_path) -> None:
    _, fresh = rendered
    repo = tmp_path / "repo"
    shutil.copytree(fresh, repo, symlinks=True)
    break_repository_files(repo)
    # The layout check_chart.py writes: <values stem>/<chart>/templates/<file>.
    rendered_dir = tmp_path / "policy" / "chart"
    for case, policy_id in enumerate(BREAKS):
        for outcome in ("pass", "fail"):
            objects = workload(f"{outcome}-{case}")
            if outcome == "fail":
                BREAKS[policy_id](objects)
            path = rendered_dir / outcome / "fixtures" / "templates" / f"{policy_id}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    code, stderr, results = policy(repo, rendered_dir)
    assert code == 1, stderr

    def outcomes(outcome: str, policy_id: str) -> dict[str, set[str]]:
        """For one fixture file: the ids that failed and the ids that passed there."""
        file = f"{chart.chart_dir(repo).relative_to(repo)}/templates/{policy_id}.yaml"
        mine = [r for r in results if r.get("file") == f"{file} with {outcome}.yaml"]
        return {
            "failed": {r["id"] for r in mine if not r["passed"]},
            "passed": {r["id"] for r in mine if r["passed"]},
        }

    for policy_id in KUBERNETES:
        good, bad = outcomes("pass", policy_id), outcomes("fail", policy_id)
        assert good["failed"] == set() and policy_id in good["passed"], (policy_id, good)
        # The failing fixture breaks its own policy and no other.
        assert bad["failed"] == {policy_id}, (policy_id, bad)
    repository = {r["id"]: r for r in results if r["id"] in REPOSITORY and not r["passed"]}
    assert set(repository) == set(REPOSITORY), results
    assert repository["GP_REPO_1"]["file"] == "CODEOWNERS"
    assert repository["GP_REPO_2"]["file"] == "catalog-info.yaml"
    assert repository["GP_REPO_3"]["file"] == ".copier-answers.yml"
    # Each failure is one line: the id, the file, the rule and the doc that explains it.
    for result in (r for r in results if not r["passed"]):
        line = f"{result['id']} {result['file']}: {result['rule']} ("
        assert line in stderr, (line, stderr)
        assert result["doc"].startswith("docs/policies.md#" + result["id"].lower()), result
        anchor = result["doc"].split("#")[1]
        assert f'<a id="{anchor}"></a>' in (repo / "docs" / "policies.md").read_text()


@pytest.mark.parametrize("rendered", ["default"], indirect=True)
def test_a_policy_checkov_cannot_load_stops_the_run_instead_of_passing(rendered, tmp_path) -> None:
    """checkov only logs a custom check it cannot import and goes on without it: the runner
    says the policies did not run (exit 2), so a broken policy never reads as a pass."""
    _, fresh = rendered
    repo = tmp_path / "repo"
    shutil.copytree(fresh, repo, symlinks=True)
    (repo / "policies" / "kubernetes" / "gp_broken.py").write_text("this is not python(\n")
    rendered_dir = tmp_path / "policy" / "chart" / "values" / "fixtures" / "templates"
    rendered_dir.mkdir(parents=True)
    (rendered_dir / "one.yaml").write_text(yaml.safe_dump_all(workload("one")))
    done = run(
        [
            sys.executable,
            "scripts/policy.py",
            "--chart",
            "x",
            "--rendered",
            str(tmp_path / "policy" / "chart"),
        ],
        cwd=repo,
        env={"UV": str(Path(sys.executable).parent / "uv")},
        check=False,
        timeout=600,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "policy check DID NOT RUN" in done.stderr and "gp_broken.py" in done.stderr


def test_the_slo_policy_keeps_the_bounds_the_questions_accept() -> None:
    """GP_REPO_3's bounds are copier.yml's (a release that tightens one changes both), at the
    edges: 95 and 99.99 pass, 100 and 94.9 fail; 1 and 60000 ms pass, 0 and 60001 fail."""
    path = ROOT / "templates" / "model-service" / "policies" / "repository.py"
    spec = importlib.util.spec_from_file_location("gp_repository_policies", path)
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    questions = (ROOT / "copier.yml").read_text()
    low, high = module.AVAILABILITY_PERCENT
    assert f"number_in('slo_availability', slo_availability, {low}, {high}," in questions
    low, high = module.LATENCY_P99_MS
    assert f"number_in('slo_latency_p99_ms', slo_latency_p99_ms, {low}, {high}," in questions

    def failures(availability: float, latency: int) -> int:
        answers = {"slo_availability": availability, "slo_latency_p99_ms": latency}
        return len(module.slo_bounds(ROOT, answers))

    assert [failures(a, 250) for a in (95, 99.99, 100, 94.9)] == [0, 0, 1, 1]
    assert [failures(99.9, ms) for ms in (1, 60000, 0, 60001)] == [0, 0, 1, 1]
