"""Policy scan: the rendered manifests (every values file, deployed by digest as the release
pipeline does) and the Dockerfile pass checkov with zero failed checks. The only exceptions are
inline in the generated files, each with its reason, so a team's own scanner honours them too."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit import chart

# Pinned: a new checkov release adds checks. Run isolated with uvx, it does not share our env.
CHECKOV = "checkov==3.3.30"
DIGEST = "sha256:" + "0" * 64


def checkov(directory: Path) -> dict[str, dict]:
    """checkov's JSON report per framework (kubernetes, dockerfile) for one directory."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "uvx"),
            "--from",
            CHECKOV,
            "checkov",
            "--directory",
            str(directory),
            "--framework",
            "kubernetes",
            "dockerfile",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        # No calls home for guideline links: only package registries are reachable here.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return {report["check_type"]: report for report in reports}


def manifests(repo: Path, out: Path, **image: str) -> None:
    chart_path = chart.chart_dir(repo)
    for name, values in chart.values_files(chart_path).items():
        values = {**values, "image": {**values.get("image", {}), **image}}
        objects = chart.render(chart_path, values)
        (out / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))


def test_manifests_and_dockerfile_pass_the_policy_scan(rendered, tmp_path) -> None:
    _, repo = rendered
    manifests(repo, tmp_path, digest=DIGEST)
    shutil.copy(repo / "Dockerfile", tmp_path / "Dockerfile")
    reports = checkov(tmp_path)
    assert set(reports) == {"kubernetes", "dockerfile"}, list(reports)
    for framework, report in reports.items():
        summary = report["summary"]
        failed = [
            (c["check_id"], c["resource"], c["check_name"])
            for c in report["results"]["failed_checks"]
        ]
        assert summary["failed"] == 0 and not failed, (framework, failed)
        assert summary["parsing_errors"] == 0, framework
        assert summary["passed"] > 50, (framework, summary)
        for skipped in report["results"].get("skipped_checks", []):
            reason = skipped["check_result"].get("suppress_comment", "")
            assert len(reason) > 20, (skipped["check_id"], reason)


@pytest.mark.parametrize("rendered", ["default"], indirect=True)
def test_the_scan_fails_a_deployment_by_mutable_tag(rendered, tmp_path) -> None:
    """The control: the same scan does fail when the image is deployed by `latest`."""
    _, repo = rendered
    manifests(repo, tmp_path, tag="latest", digest="")
    failed = {c["check_id"] for c in checkov(tmp_path)["kubernetes"]["results"]["failed_checks"]}
    assert {"CKV_K8S_14", "CKV_K8S_43"} <= failed, failed
