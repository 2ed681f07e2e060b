"""`copier update` across real release tags: team edits survive, the new standard arrives, the
migration runs once, and an overlapping edit is reported as a conflict the repo recovers from."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.chart import by_kind, chart_dir, render, values_files
from devkit.project import assert_merged_cleanly, commit_all, git, scaffold_at
from devkit.releases import NEW, OLD, tagged_template
from devkit.schemas import node_check
from devkit.service import make
from goldenpath.proc import run

MIGRATION = "hooks/migrations/v0_2_0_move_team_rules.py"
COPIER_UPDATE = (sys.executable, "-m", "copier", "update", "--trust", "--defaults")
# The release whose migration keeps the v0.2.0 model files in legacy/.
CONTRACT_RELEASE = "v0.3.0"
TEAM_ALERT = """\
groups:
  - name: team-extra
    rules:
      - alert: TeamBusinessMetricLow
        expr: vector(1) < 0
        labels:
          severity: warning
        annotations:
          summary: never fires; added by the team
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return tagged_template(tmp_path_factory.mktemp("releases") / "template")


def generate(template: Path, dst: Path, ref: str = OLD, **answers) -> Path:
    return scaffold_at(template, dst, ref, **answers)


def apply_team_edits(repo: Path) -> dict[Path, str]:
    """Realistic edits a team makes; returns {file: text that must survive the update}."""
    (package,) = (repo / "src").iterdir()
    train = package / "train.py"
    train.write_text(
        train.read_text().replace(
            "LogisticRegression(C=params", "LogisticRegression(tol=1e-5, C=params"
        )
    )
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            '    "joblib>=1.4",\n', '    "joblib>=1.4",\n    "tabulate>=0.9",\n'
        )
    )
    subprocess.run([sys.executable, "-m", "uv", "lock", "--quiet"], cwd=repo, check=True)
    service = yaml.safe_load((repo / ".copier-answers.yml").read_text())["service_name"]
    chart = repo / "deploy" / "helm" / service
    production = chart / "values-production.yaml"
    production.write_text(
        production.read_text().replace(
            "whenUnsatisfiable: DoNotSchedule", "whenUnsatisfiable: ScheduleAnyway"
        )
    )
    (repo / "monitoring" / "rules" / "team.yml").write_text(TEAM_ALERT)
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "\n## Team notes\n\nRetrain every Monday.\n")
    commit_all(repo, "Team edits")
    return {
        # v0.3.0 drops the v0.2.0 model files; its migration keeps them in legacy/ for porting.
        "legacy/v0.2.0" / train.relative_to(repo): "LogisticRegression(tol=1e-5, C=params",
        Path("pyproject.toml"): '"tabulate>=0.9"',
        Path("uv.lock"): 'name = "tabulate"',
        production.relative_to(repo): "whenUnsatisfiable: ScheduleAnyway",
        Path("monitoring/rules/team.yml"): "TeamBusinessMetricLow",
        Path("README.md"): "## Team notes",
    }


def copier_update(repo: Path, *extra: str, to: str = NEW) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "update",
            "--trust",
            "--defaults",
            "--vcs-ref",
            to,
            *extra,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )


def test_update_keeps_team_edits_and_brings_the_new_standard(template, tmp_path) -> None:
    """A repository of the previous release, with a team-modified train.py, takes this one: the
    model contract arrives, the old model files are kept aside, and its own `make test` passes."""
    repo = generate(template, tmp_path / "fraud-scorer", service_name="fraud-scorer")
    expected = apply_team_edits(repo)
    done = copier_update(repo)
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert output.count("migration v0.3.0: kept") == 5, output
    for path, text in expected.items():
        assert text in (repo / path).read_text(), f"team edit lost in {path}"
    package = repo / "src" / "fraud_scorer"
    assert (package / "contract.py").is_file() and not (package / "train.py").exists()
    again = subprocess.run(
        [sys.executable, str(template / "hooks/migrations/v0_3_0_keep_old_model_files.py")],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "nothing to keep" in again.stdout, again.stdout
    values = yaml.safe_load((repo / "deploy/helm/fraud-scorer/values.yaml").read_text())
    assert values["preStopSleepSeconds"] == 10 and values["terminationGracePeriodSeconds"] == 40
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["_commit"] == NEW
    assert_merged_cleanly(repo)
    commit_all(repo, f"Update to {NEW}")
    env = {"BENTOML_HOME": str(tmp_path / "bentoml")}
    make(repo, "setup", "lint", "test", "chart", env=env)
    # The policies arrive with the update (the old release had none). The team's own alert has no
    # runbook link: `make policy` names the policy; with the link added, every policy passes.
    assert (repo / "policies/repository.py").is_file() and list(repo.glob("policies/kubernetes/*"))
    refused = run(["make", "policy"], cwd=repo, env=env, echo=False, check=False)
    failures = [line for line in refused.stderr.splitlines() if line.startswith("GP_")]
    assert refused.returncode != 0 and failures, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert all(line.startswith("GP_K8S_6 ") for line in failures), failures
    team = repo / "monitoring/rules/team.yml"
    link = "          runbook_url: https://runbooks.example/team-business-metric\n"
    team.write_text(team.read_text() + link)
    commit_all(repo, "A runbook link for our alert")
    out = make(repo, "policy", env=env)
    assert " policies, 0 failures: GP_K8S_1" in out and "GP_REPO_1" in out, out[-3000:]
    promtool_tests = subprocess.run(
        ["promtool", "test", "rules", *map(str, sorted((repo / "monitoring/tests").glob("*.yml")))],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert promtool_tests.returncode == 0, promtool_tests.stdout + promtool_tests.stderr
    check = subprocess.run(
        [
            "promtool",
            "check",
            "rules",
            *map(str, sorted((repo / "monitoring/rules").glob("*.yml"))),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0 and "TeamBusinessMetricLow" not in check.stderr, check.stdout
    assert git(repo, "status", "--porcelain") == ""


def test_migration_runs_once_per_crossing_and_is_idempotent(template, tmp_path) -> None:
    repo = generate(template, tmp_path / "churn", service_name="churn")
    # The layout before v0.2.0, which no tagged release has any more: team rules beside rules/.
    (repo / "monitoring" / "rules" / "team.yml").unlink()
    (repo / "monitoring" / "team-rules.yml").write_text(TEAM_ALERT)
    commit_all(repo, "Team alert in the old place")
    first = subprocess.run(
        [sys.executable, str(template / MIGRATION)], cwd=repo, capture_output=True, text=True
    )
    assert first.returncode == 0 and "moved" in first.stdout
    after_first = (repo / "monitoring/rules/team.yml").read_text()
    second = subprocess.run(
        [sys.executable, str(template / MIGRATION)], cwd=repo, capture_output=True, text=True
    )
    assert second.returncode == 0 and "nothing to move" in second.stdout
    assert (repo / "monitoring/rules/team.yml").read_text() == after_first == TEAM_ALERT
    git(repo, "reset", "--hard", "--quiet", "HEAD~1")  # back to the scaffold
    git(repo, "clean", "-fdq")
    done = copier_update(repo, to=CONTRACT_RELEASE)
    assert done.returncode == 0, done.stderr
    assert "migration v0.3.0: kept" in done.stdout + done.stderr
    commit_all(repo, "Updated")
    again = copier_update(repo)
    assert again.returncode == 0, again.stderr
    assert "migration v0.3.0" not in again.stdout + again.stderr, (
        "ran again without crossing v0.3.0"
    )


def test_overlapping_edit_is_reported_and_recoverable(template, tmp_path) -> None:
    repo = generate(template, tmp_path / "risk", service_name="risk")
    # A line of a template-owned file that the next releases rewrite, edited by the team too.
    service = repo / "src/risk/service.py"
    line = "the contract is in schema.py, the model loading in model.py."
    assert line in service.read_text()
    service.write_text(service.read_text().replace(line, "the model is loaded in model.py."))
    commit_all(repo, "Team edits a platform file")
    before = git(repo, "rev-parse", "HEAD")
    done = subprocess.run(
        [sys.executable, "-m", "goldenpath", "fleet", "update", str(repo), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    (entry,) = report["repos"]
    assert entry["outcome"] == "conflicts"
    assert entry["files"] == ["src/risk/service.py"]
    assert "src/risk/service.py" in done.stderr
    # Recovered: same commit, clean tree, no update branch left behind.
    assert git(repo, "rev-parse", "HEAD") == before
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "branch", "--list", "template-update-*") == ""
    # A plain `copier update` leaves the conflict inline and exits 0: the reason to check.
    plain = copier_update(repo)
    assert plain.returncode == 0
    assert "<<<<<<<" in service.read_text()
    git(repo, "reset", "--hard", "--quiet")
    git(repo, "clean", "-fdq")
    assert git(repo, "status", "--porcelain") == ""


def test_a_v0_4_0_repo_updates_with_none_and_switches_to_a_canary_by_re_answering(
    template, tmp_path
) -> None:
    """Issue 28, existing repos: a v0.4.0 repository takes this release conflict-free and keeps
    its Deployment rollout (progressive_delivery=none); re-answering argo-rollouts renders a
    Rollout and an AnalysisTemplate that Argo Rollouts' models accept, on every values file, and
    the canary alert passes its promtool tests. Render-level: no setup or training is needed to
    see it, and uv is left off PATH so the re-lock migration is skipped (it says so)."""
    repo = generate(template, tmp_path / "fraud-scorer", "v0.4.0", service_name="fraud-scorer")
    bin_dir = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != bin_dir)
    env = {**os.environ, "PATH": path}

    def update(*extra: str) -> str:  # as copier_update, with the environment above
        done = subprocess.run(
            [*COPIER_UPDATE, "--vcs-ref", NEW, *extra],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert_merged_cleanly(repo)
        return done.stdout + done.stderr

    assert "uv is not installed" in update()
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    assert answers["progressive_delivery"] == "none" and answers["_commit"] == NEW
    chart = chart_dir(repo)
    for name, values in values_files(chart).items():
        objects = render(chart, values)
        kinds = {o["kind"] for o in objects}
        assert "Deployment" in kinds and not kinds & {"Rollout", "AnalysisTemplate"}, name
        # Issue 30: no credential declared, none rendered (the values default to none).
        assert "ExternalSecret" not in kinds and "secretKeyRef" not in json.dumps(objects), name
    # Adding one (docs/how-to/add-a-credential.md) is an edit of the contract and the values.
    contract = next((repo / "src").iterdir()) / "contract.py"
    assert "CREDENTIALS" not in contract.read_text()
    values = yaml.safe_load((chart / "values.yaml").read_text())
    values["secrets"] |= {"credentials": [{"name": "STORE_TOKEN"}], "existingSecret": "creds"}
    (deployment,) = by_kind(render(chart, values), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ref = {
        "name": "STORE_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "creds", "key": "STORE_TOKEN"}},
    }
    assert ref in container["env"]
    commit_all(repo, f"Update to {NEW}")

    update("-d", "progressive_delivery=argo-rollouts")
    assert yaml.safe_load((repo / ".copier-answers.yml").read_text())["progressive_delivery"] == (
        "argo-rollouts"
    )
    documents = []
    for name, values in values_files(chart).items():
        objects = render(chart, values)
        (hpa,) = by_kind(objects, "HorizontalPodAutoscaler")
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Rollout", name
        documents += by_kind(objects, "Rollout") + by_kind(objects, "AnalysisTemplate")
    assert len(documents) == 2 * len(values_files(chart))
    assert node_check("argo-rollouts", documents) == [[] for _ in documents]
    assert "deploy/rollout_wait.py" in (repo / "Makefile").read_text()
    tests = sorted(str(p) for p in (repo / "monitoring/tests").glob("*.yml"))
    promtool = subprocess.run(
        ["promtool", "test", "rules", *tests], cwd=repo, capture_output=True, text=True
    )
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    assert "CanaryAnalysisFailed" in (repo / "monitoring/rules/service.yml").read_text()
