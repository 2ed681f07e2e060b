"""Credentials in the chart through the real Helm engine: from an existing Secret or an External
Secrets Operator ExternalSecret (validated with `@kubernetes-models/external-secrets`), as
variables or a read-only folder, for the service and both batch jobs; the defaults render no
credential at all; bad `secrets` values are refused by name; a value planted beside a render is in
none of its objects."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from typing import Any

import helm_python
import pytest
import yaml

from devkit.chart import (
    DIGEST,
    by_kind,
    chart_dir,
    lint_errors,
    render,
    strict_spark_application,
    validate,
    values_files,
    with_batch,
)
from devkit.policies import policy
from devkit.schemas import node_check
from goldenpath.proc import run

NAMES = ["SERVICE_TOKEN", "STORE_PASSWORD"]
# What a leak would look like: the test plants it where a careless chart could pick it up.
PLANTED = "planted-Zq9v-credential-value-7731"


def with_secrets(values: dict[str, Any], **secrets: Any) -> dict[str, Any]:
    values = with_batch(values)
    values["secrets"] = {
        "credentials": [
            {"name": name, "remoteKey": "ml/scorer", "remoteProperty": name.lower()}
            for name in NAMES
        ],
        **secrets,
    }
    return values


def pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (deployment,) = by_kind(objects, "Deployment")
    (cron,) = by_kind(objects, "CronJob")
    return {
        "Deployment": deployment["spec"]["template"]["spec"],
        "CronJob": cron["spec"]["jobTemplate"]["spec"]["template"]["spec"],
    }


def test_defaults_render_no_credential(rendered) -> None:
    """A repository that declares none renders as before: no Secret reference, no ExternalSecret,
    no annotation (the golden render's chart was also compared with main's, object by object)."""
    _, repo = rendered
    chart = chart_dir(repo)
    for name, values in values_files(chart).items():
        objects = render(chart, with_batch(values))
        text = json.dumps(objects)
        assert not by_kind(objects, "ExternalSecret"), name
        for marker in ("secretKeyRef", "CREDENTIALS_DIR", "reloader.stakater.com", "credentials"):
            assert marker not in text, (name, marker)


@pytest.mark.parametrize("source", ["existingSecret", "externalSecret"])
def test_credentials_reach_the_service_and_both_batch_jobs(rendered, source) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    secrets: dict[str, Any] = {"reloadOnChange": True}
    if source == "existingSecret":
        secrets["existingSecret"] = "scorer-credentials"
    else:
        secrets["externalSecret"] = {"enabled": True, "secretStoreRef": {"name": "vault"}}
    documents = []
    for name, values in values_files(chart).items():
        values = with_secrets(values, **secrets)
        assert lint_errors(chart, values) == [], name
        objects = render(chart, values)
        externals = by_kind(objects, "ExternalSecret")
        (deployment,) = by_kind(objects, "Deployment")
        annotation = deployment["metadata"]["annotations"]["secret.reloader.stakater.com/reload"]
        if source == "existingSecret":
            assert externals == [] and annotation == "scorer-credentials"
        else:
            (external,) = externals
            assert external["spec"]["target"]["name"] == annotation
            assert [d["secretKey"] for d in external["spec"]["data"]] == NAMES
            assert external["spec"]["data"][0]["remoteRef"] == {
                "key": "ml/scorer",
                "property": "service_token",
            }
            documents.append(external)
        for kind, pod in pod_specs(objects).items():
            (container,) = pod["containers"]
            refs = {
                e["name"]: e["valueFrom"]["secretKeyRef"]
                for e in container["env"]
                if "valueFrom" in e
            }
            assert refs == {n: {"name": annotation, "key": n} for n in NAMES}, (name, kind)
        for obj in by_kind(objects, "Deployment") + by_kind(objects, "CronJob"):
            assert validate(obj), name
        (spark,) = by_kind(objects, "SparkApplication")
        strict_spark_application(spark)
        for role in ("driver", "executor"):
            env = {e["name"] for e in spark["spec"][role]["env"] if "valueFrom" in e}
            assert env == set(NAMES), (name, role)
    if documents:  # one node run for every values file
        assert node_check("external-secrets", documents) == [[] for _ in documents]


def test_credentials_as_a_read_only_folder(rendered) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    values = with_secrets({}, existingSecret="scorer-credentials", mountAs="file")
    objects = render(chart, values)
    for kind, pod in pod_specs(objects).items():
        (container,) = pod["containers"]
        assert {"name": "CREDENTIALS_DIR", "value": "/var/run/secrets/credentials"} in (
            container["env"]
        )
        assert not [e for e in container["env"] if "valueFrom" in e], kind
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "credentials"]
        assert mount == {
            "name": "credentials",
            "mountPath": "/var/run/secrets/credentials",
            "readOnly": True,
        }
        (volume,) = [v for v in pod["volumes"] if v["name"] == "credentials"]
        assert volume["secret"]["secretName"] == "scorer-credentials"
        assert volume["secret"]["defaultMode"] == 0o440
        assert [i["key"] for i in volume["secret"]["items"]] == NAMES
    for obj in by_kind(objects, "Deployment") + by_kind(objects, "CronJob"):
        assert validate(obj)
    (spark,) = by_kind(objects, "SparkApplication")
    strict_spark_application(spark)
    assert spark["spec"]["driver"]["secrets"] == [
        {
            "name": "scorer-credentials",
            "path": "/var/run/secrets/credentials",
            "secretType": "Generic",
        }
    ]


def test_external_secret_check_catches_a_broken_object(rendered) -> None:
    """Negative control of the validation above: the published model refuses what the operator
    would refuse."""
    _, repo = rendered
    chart = chart_dir(repo)
    values = with_secrets({}, externalSecret={"enabled": True, "secretStoreRef": {"name": "vault"}})
    (external,) = by_kind(render(chart, values), "ExternalSecret")
    broken = copy.deepcopy(external)
    broken["spec"]["data"][0].pop("remoteRef")
    wrong_kind = copy.deepcopy(external)
    wrong_kind["spec"]["secretStoreRef"]["kind"] = "VaultStore"
    valid, *errors = node_check("external-secrets", [external, broken, wrong_kind])
    assert valid == []
    assert "remoteRef" in " ".join(errors[0])
    assert "secretStoreRef/kind" in " ".join(errors[1])


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        (
            {"existingSecret": "a", "externalSecret": {"enabled": True}},
            "secrets.existingSecret (a) and secrets.externalSecret.enabled are both set",
        ),
        ({}, "secrets.credentials names 2 credential(s) but no source"),
        (
            {"externalSecret": {"enabled": True, "secretStoreRef": {"name": ""}}},
            "secrets.externalSecret.secretStoreRef.name is required",
        ),
        ({"existingSecret": "a", "mountAs": "volume"}, "mountAs"),
        ({"existingSecret": "Not_A_Name"}, "existingSecret"),
        ({"existingSecret": "a", "credentials": [{"name": "service-token"}]}, "service-token"),
        ({"existingSecret": "a", "credentials": []}, "names no credential"),
        (
            {
                "externalSecret": {"enabled": True, "secretStoreRef": {"name": "v"}},
                "credentials": [{"name": "TOKEN"}],
            },
            "secrets.credentials TOKEN has no remoteKey",
        ),
    ],
)
def test_bad_secrets_values_are_refused_by_name(rendered, secrets, message) -> None:
    _, repo = rendered
    chart = chart_dir(repo)
    values = with_secrets({}, **secrets)
    with pytest.raises(Exception, match=r"secrets|mountAs|service-token") as error:
        errors = lint_errors(chart, values)
        if errors:
            raise ValueError("; ".join(errors))
        helm_python.Chart.load(str(chart)).render(values, name=chart.name, namespace="ml")
    assert message in str(error.value)


def test_a_planted_value_is_in_no_rendered_object(rendered, monkeypatch) -> None:
    """The chart only ever names a Secret: with the value in the renderer's environment (where
    a CI job would have it) and the names in the values, no object, ConfigMap included, carries
    it. The search itself finds the value when a values file does carry it (negative control)."""
    _, repo = rendered
    chart = chart_dir(repo)
    for name in NAMES:
        monkeypatch.setenv(name, PLANTED)
    external = {"enabled": True, "secretStoreRef": {"name": "vault"}}
    for label, values in values_files(chart).items():
        for secrets in ({"existingSecret": "s"}, {"externalSecret": external, "mountAs": "file"}):
            objects = render(chart, with_secrets(values, reloadOnChange=True, **secrets))
            assert by_kind(objects, "ConfigMap"), label
            assert PLANTED not in json.dumps(objects), (label, secrets)
    careless = with_secrets({}, existingSecret="s")
    careless["extraEnv"] = [{"name": "SERVICE_TOKEN", "value": PLANTED}]
    assert PLANTED in json.dumps(render(chart, careless))


@pytest.mark.parametrize("rendered", ["default"], indirect=True)
def test_charts_with_credentials_pass_the_platform_policies(rendered, tmp_path) -> None:
    """`make policy` (checkov and the repository policies) on the chart with each source and each
    way of reading: two values files beside the generated ones, each its own release."""
    _, fresh = rendered
    repo = tmp_path / "repo"
    shutil.copytree(fresh, repo, symlinks=True)
    chart = chart_dir(repo)
    external = {"enabled": True, "secretStoreRef": {"name": "vault"}}
    fixtures = {
        "values-existing-env.yaml": with_secrets({}, existingSecret="s", reloadOnChange=True),
        "values-external-file.yaml": with_secrets({}, externalSecret=external, mountAs="file"),
    }
    for name, values in fixtures.items():
        (chart / name).write_text(yaml.safe_dump(values, sort_keys=False))
    out = tmp_path / "policy" / "chart"
    check = [sys.executable, "deploy/helm/check_chart.py", str(chart.relative_to(repo))]
    run([*check, "--out", str(out), "--digest", DIGEST, "--releases"], cwd=repo, timeout=300)
    code, stderr, results = policy(repo, out)
    failed = [(r["id"], r["file"], r.get("what")) for r in results if not r["passed"]]
    assert code == 0 and not failed, (failed, stderr)
    checked = {r["file"].rsplit(" with ", 1)[-1] for r in results if r["id"] == "GP_K8S_5"}
    assert set(fixtures) <= checked
