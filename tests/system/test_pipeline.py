"""The generated GitLab pipeline's `lint` and `test` jobs, run for real: gitlab-ci-local with
podman, in a local stand-in for the pinned job image (devkit/pipeline.py), on a fresh render.

The `build` job is not run: its image is Fedora's (quay.io/buildah/stable, `dnf install` in its
before_script), which cannot be stood in for from the Debian base; it pulls the `candidate` model
from an MLflow registry (MLFLOW_TRACKING_URI), builds with buildah inside the job's container and
pushes to a registry, none of which exists here.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit import pipeline
from devkit.project import commit_all, copy_project, git


@dataclass(frozen=True)
class Project:
    repo: Path
    home: Path  # the instance's CI/CD variables


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    problems = pipeline.missing()
    assert not problems, "missing: " + "; ".join(problems)
    folder = tmp_path_factory.mktemp("pipeline")
    repo = copy_project(folder / "repo", ci_provider="gitlab")
    commit_all(repo, "Scaffold")
    pipeline.ensure_images(pipeline.job_image(repo, "lint", "test"))
    home = folder / "instance"
    pipeline.prepare(repo, home)
    return Project(repo, home)


def job_status(output: str, job: str) -> str | None:
    """PASS or FAIL, as gitlab-ci-local's summary reports the job."""
    found = re.search(rf"^\s*(PASS|FAIL)\s+(?:\[[^]]*\]\s+)?{re.escape(job)}\s*$", output, re.M)
    return found[1] if found else None


def test_lint_and_test_jobs_pass(project: Project) -> None:
    # The audit is required in CI (the lint job sets AUDIT_REQUIRED=1). The machines this suite
    # runs on reach package indexes only, and PyPI's vulnerability database is not one: the audit
    # cannot run there, and says so. The run lifts the requirement, as a project variable would,
    # and checks that the audit reported what it did (test_generated_repo.py: a required audit that
    # cannot run fails).
    done = pipeline.run_jobs(
        project.repo, project.home, "lint", "test", variables={"AUDIT_REQUIRED": "0"}
    )
    tail = done.output[-6000:]
    assert done.returncode == 0, tail
    assert job_status(done.output, "lint") == "PASS", tail
    assert job_status(done.output, "test") == "PASS", tail
    # Each job ran what its script says.
    audit = r"lint > dependency audit( DID NOT RUN: |: \d+ locked packages audited)"
    assert re.search(audit, done.output), tail
    summary = re.search(r"^.*test > =+ (.*\d+ passed.*) in [\d.]+s =+$", done.output, re.M)
    assert summary, f"the generated tests did not run:\n{tail}"
    assert "failed" not in summary[1] and "error" not in summary[1], summary[0]
    assert "promtool not found" not in done.output, "the alert rule tests must run in CI"
    assert re.search(r"Unit Testing:\s+monitoring/tests/", done.output), tail
    assert re.search(r"\d+ policies, 0 failures", done.output), tail
    # The pipeline's cache holds uv's downloads (its `cache: paths` is UV_CACHE_DIR): the test job,
    # after lint, downloads nothing.
    downloads = re.findall(r"^(?:\[[^]]*\] )?test > Downloading .*$", done.output, re.M)
    assert not downloads, downloads


def test_a_broken_make_target_fails_its_job(project: Project, tmp_path: Path) -> None:
    """The negative control: a commit breaks one command of the `lint` target (a misspelt file
    name). The job fails, naming the command, and what follows it in the script does not run."""
    clone = tmp_path / "broken"
    git(tmp_path, "clone", "--quiet", str(project.repo), str(clone))
    git(clone, "remote", "add", "gcl-origin", pipeline.PROJECT_REMOTE)
    makefile = clone / "Makefile"
    text = makefile.read_text()
    assert "hadolint Dockerfile\n" in text
    makefile.write_text(text.replace("hadolint Dockerfile\n", "hadolint Dockerfil\n"))
    commit_all(clone, "Lint the Dockerfile")
    done = pipeline.run_jobs(clone, project.home, "lint")
    tail = done.output[-4000:]
    assert done.returncode != 0, tail
    assert job_status(done.output, "lint") == "FAIL", tail
    assert re.search(r"lint > uv run .* hadolint Dockerfil$", done.output, re.M), tail
    assert re.search(r"make: \*\*\* \[Makefile:\d+: lint\] Error \d+", done.output), tail
    assert "docs/openapi.json is current" not in done.output, "the job went on after the failure"
