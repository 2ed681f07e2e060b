"""The generated Helm chart: strict lint, render and schema validation for every answer set and
values file; the security and probe settings of the Deployment; values.schema.json rejecting bad
values; and the generated Dockerfile passing hadolint."""

import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml

from devkit.chart import by_kind, chart_dir, lint_errors, render, validate, values_files

CORE_KINDS = {
    "ConfigMap",
    "Deployment",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
    "Pod",
    "PodDisruptionBudget",
    "Service",
    "ServiceAccount",
}


def test_every_values_file_lints_renders_and_validates(rendered) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    files = values_files(chart)
    assert set(files) == {"values.yaml", "values-staging.yaml", "values-production.yaml"}
    for name, values in files.items():
        assert lint_errors(chart, values) == [], name
        objects = render(chart, values)
        validated = {obj["kind"] for obj in objects if validate(obj)}
        kinds = {obj["kind"] for obj in objects}
        # CRDs have no bundled schema here: test_schemas checks them against the operator's models,
        # test_canary the Rollout and its AnalysisTemplate against Argo Rollouts'.
        crds = {"ServiceMonitor", "PrometheusRule", "Rollout", "AnalysisTemplate"}
        assert kinds - validated <= crds, f"{name}: no schema for {kinds - validated}"
        assert {"Deployment", "Service", "ServiceAccount", "NetworkPolicy"} <= validated, name


def deployment(repo: Path, values_file: str = "values.yaml") -> dict:
    chart = chart_dir(repo)
    (found,) = by_kind(render(chart, values_files(chart)[values_file]), "Deployment")
    return found


def test_deployment_security_and_probes(rendered) -> None:
    _, repo = rendered
    chart_values = yaml.safe_load((chart_dir(repo) / "values.yaml").read_text())
    pod = deployment(repo)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == chart_values["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsNonRoot"] is True
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60, "room for model load"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < pre_stop < pod["terminationGracePeriodSeconds"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert pod["topologySpreadConstraints"]
    annotations = deployment(repo)["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["checksum/config"]) == 64


def test_config_change_changes_the_checksum(rendered) -> None:
    _, repo = rendered
    chart = chart_dir(repo)

    def checksum(values: dict) -> str:
        (found,) = by_kind(render(chart, values), "Deployment")
        return found["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum({}) != checksum({"config": {"LOG_LEVEL": "DEBUG"}})


def test_replica_bounds_come_from_the_answers(rendered) -> None:
    answers, repo = rendered
    chart = chart_dir(repo)
    (hpa,) = by_kind(
        render(chart, values_files(chart)["values-production.yaml"]), "HorizontalPodAutoscaler"
    )
    assert hpa["spec"]["minReplicas"] == answers.get("min_replicas", 2)
    assert hpa["spec"]["maxReplicas"] == answers.get("max_replicas", 6)


def test_standard_labels_service_account_and_network_policy(rendered) -> None:
    answers, repo = rendered
    objects = render(chart_dir(repo), {})
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == answers.get("service_name", "iris-classifier")
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
    (account,) = by_kind(objects, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    (policy,) = by_kind(objects, "NetworkPolicy")
    sources = policy["spec"]["ingress"][0]["from"]
    namespaces = [
        s["namespaceSelector"]["matchLabels"] for s in sources if "namespaceSelector" in s
    ]
    assert namespaces == [{"kubernetes.io/metadata.name": "monitoring"}]
    (test_pod,) = by_kind(objects, "Pod")
    assert test_pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "/readyz" in " ".join(test_pod["spec"]["containers"][0]["command"])
    assert by_kind(objects, "ServiceMonitor")
    assert not by_kind(objects, "Ingress"), "the Ingress is optional and off by default"
    with_ingress = render(chart_dir(repo), {"ingress": {"enabled": True, "hosts": ["a.example"]}})
    (ingress,) = by_kind(with_ingress, "Ingress")
    assert validate(ingress)


BAD_VALUES = [
    ("wrong type", {"replicaCount": "two"}, "/replicaCount': got string, want integer"),
    ("negative replicas", {"replicaCount": -1}, "/replicaCount': minimum: got -1, want 1"),
    ("missing image repository", {"image": {"repository": None}}, "missing property 'repository'"),
    ("empty image repository", {"image": {"repository": ""}}, "minLength: got 0, want 1"),
    ("unknown top-level key", {"replicas": 3}, "additional properties 'replicas' not allowed"),
    ("bad digest", {"image": {"digest": "latest"}}, "/image/digest"),
    ("bad quantity", {"resources": {"limits": {"memory": "lots"}}}, "/resources/limits/memory"),
]


@pytest.mark.parametrize(("case", "values", "message"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_schema_rejects_bad_values_readably(rendered, case, values, message) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    errors = "\n".join(lint_errors(chart, values))
    assert message in errors, errors
    with pytest.raises(helm_python.HelmValuesError, match="schema"):
        render(chart, values)


def test_min_above_max_replicas_is_rejected(rendered) -> None:
    _, repo = rendered
    values = {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}
    with pytest.raises(helm_python.HelmRenderError, match=r"minReplicas \(5\) must not exceed"):
        render(chart_dir(repo), values)


def test_dockerfile_passes_hadolint(rendered) -> None:
    _, repo = rendered
    done = subprocess.run(
        [Path(sys.executable).parent / "hadolint", "--failure-threshold", "warning", "Dockerfile"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "", done.stdout


def test_dockerfile_follows_the_answers(rendered) -> None:
    answers, repo = rendered
    dockerfile = (repo / "Dockerfile").read_text()
    python = answers.get("python_version", "3.11")
    assert f"ARG BASE_IMAGE=python:{python}-slim\n" in dockerfile
    assert "USER 10001:10001" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "EXPOSE 3000" in dockerfile
    assert 'ENTRYPOINT ["bentoml", "serve",' in dockerfile
