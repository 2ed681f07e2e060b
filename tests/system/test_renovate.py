"""Template updates through the real Renovate (npm, tools/renovate/): its copier manager finds the
newest release for a repo rendered from the previous one through a URL `_src_path`, and applying
it gives the same tree as `goldenpath fleet update`, with the team's edits kept."""

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devkit import ROOT
from devkit.project import commit_all, copy_project, git
from devkit.releases import NEW, PREVIOUS, tagged_template
from devkit.renovate import install, run_node, run_renovate
from goldenpath.render import render
from tools.golden import GOLDEN

NEWEST = NEW
APPLY = ROOT / "devkit" / "renovate_apply.cjs"
# Edits a team makes to files the template owns, and to its own alert rules.
TEAM_EDITS = {
    "deploy/helm/iris-classifier/values-production.yaml": (
        "whenUnsatisfiable: DoNotSchedule",
        "whenUnsatisfiable: ScheduleAnyway",
    ),
    "README.md": (None, "\n## Team notes\n\nRetrain every Monday.\n"),
    "monitoring/rules/team.yml": (None, "# Team alerts are added below this line.\n"),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    # A directory named *.git: copier takes `file://` URLs only for such names (or `git+` ones).
    return tagged_template(tmp_path_factory.mktemp("releases") / "template.git")


@pytest.fixture(scope="module")
def previous(template, tmp_path_factory) -> Path:
    """A repo rendered from the previous release through a file:// URL, with today's
    renovate.json and the team's edits, committed."""
    repo = render(
        tmp_path_factory.mktemp("previous") / "repo", src=f"file://{template}", vcs_ref=PREVIOUS
    )
    shutil.copy(GOLDEN / "renovate.json", repo / "renovate.json")
    for name, (old, new) in TEAM_EDITS.items():
        path = repo / name
        text = path.read_text()
        assert old is None or old in text, f"{name} of {PREVIOUS} has no {old!r}"
        path.write_text(text.replace(old, new) if old else text + new)
    commit_all(repo, f"Scaffold at {PREVIOUS}, with the team's edits")
    return repo


def branches(records: list[dict]) -> list[dict]:
    (info,) = [r for r in records if r["msg"] == "branches info extended"]
    return info["branchesInformation"]


def test_renovate_proposes_the_newest_release(previous, tmp_path) -> None:
    records = run_renovate(previous, tmp_path / "home", "--dry-run=full")
    (branch,) = branches(records)
    assert branch["branchName"] == "renovate/golden-path-template"
    assert branch["prTitle"] == f"Update golden-path template to {NEWEST}"
    (upgrade,) = branch["upgrades"]
    assert upgrade["packageFile"] == ".copier-answers.yml"
    assert (upgrade["currentValue"], upgrade["newValue"]) == (PREVIOUS, NEWEST)


def test_renovate_cannot_follow_a_filesystem_path(previous, template, tmp_path) -> None:
    """Negative control: the same repo with `_src_path` a plain path gets no template update."""
    repo = tmp_path / "repo"
    git(tmp_path, "clone", "--quiet", str(previous), str(repo))
    answers = repo / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(f"file://{template}", str(template)))
    commit_all(repo, "Answers name the template by its path")
    records = run_renovate(repo, tmp_path / "home", "--dry-run=full")
    extracted = [r for r in records if r["msg"] == "Dependency extraction complete"]
    assert extracted and extracted[0]["stats"]["total"]["depCount"] == 0
    assert any(r["msg"] == "Parsing Copier answers YAML failed" for r in records)


def renovate_apply(origin: Path, work: Path, allow_scripts: bool) -> dict:
    """Renovate's branch update of the answers file to NEWEST (see renovate_apply.cjs)."""
    done = run_node(
        APPLY,
        work.parent,
        work.parent / "home",
        str(origin),
        str(work),
        NEWEST,
        "true" if allow_scripts else "false",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line.removeprefix("RESULT "))


def commit_renovate_branch(origin: Path, dst: Path, result: dict) -> str:
    """What Renovate commits: the updated answers file, then every artifact file; the tree."""
    git(origin.parent, "clone", "--quiet", str(origin), str(dst))
    (dst / ".copier-answers.yml").write_text(result["package_file"])
    for file in result["files"]:
        path = dst / file["path"]
        if file["type"] == "deletion":
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(base64.b64decode(file["contents"]))
    commit_all(dst, f"Update golden-path template to {NEWEST}")
    return git(dst, "rev-parse", "HEAD^{tree}")


def test_renovate_update_equals_fleet_update_and_keeps_team_edits(previous, tmp_path) -> None:
    result = renovate_apply(previous, tmp_path / "renovate-work", allow_scripts=True)
    assert result["errors"] == [] and result["notices"] == [], result
    renovate_tree = commit_renovate_branch(previous, tmp_path / "renovate", result)

    fleet_repo = tmp_path / "fleet"
    git(tmp_path, "clone", "--quiet", str(previous), str(fleet_repo))
    fleet = subprocess.run(
        [sys.executable, "-m", "goldenpath", "fleet", "update", str(fleet_repo), "--to", NEWEST],
        capture_output=True,
        text=True,
    )
    assert fleet.returncode == 0, fleet.stdout + fleet.stderr
    fleet_tree = git(fleet_repo, "rev-parse", f"template-update-{NEWEST}^{{tree}}")

    differences = git(tmp_path / "renovate", "diff", "--stat", fleet_tree, renovate_tree)
    assert renovate_tree == fleet_tree, differences
    updated = tmp_path / "renovate"
    assert f"_commit: {NEWEST}" in (updated / ".copier-answers.yml").read_text()
    assert (updated / "src/iris_classifier/contract.py").is_file(), "the model contract is there"
    for name, (_, new) in TEAM_EDITS.items():
        assert new in (updated / name).read_text(), f"the team's edit of {name} was lost"


def test_renovate_without_allow_scripts_stops_at_the_migrations(previous, tmp_path) -> None:
    """Negative control for the how-to's settings: without allowScripts Renovate runs copier
    without --trust, and copier refuses the template's migrations."""
    result = renovate_apply(previous, tmp_path / "renovate-work", allow_scripts=False)
    assert result["files"] == []
    (error,) = result["errors"]
    assert "unsafe" in error and "migrations" in error, error


def test_generated_renovate_configs_pass_renovates_validator(tmp_path) -> None:
    # The golden render is the default (GitHub) answers, kept equal to a render by test_golden.
    gitlab = copy_project(tmp_path / "gitlab", ci_provider="gitlab")
    configs = tmp_path / "configs"
    configs.mkdir()
    shutil.copy(GOLDEN / "renovate.json", configs / "github.json")
    shutil.copy(gitlab / "renovate.json", configs / "gitlab.json")
    validator = install() / "config-validator.js"
    done = run_node(validator, configs, tmp_path / "home", "--strict", "github.json", "gitlab.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validating gitlab.json" in done.stdout and "ERROR" not in done.stdout
    # Negative control: the validator rejects an option Renovate does not have.
    config = json.loads((configs / "gitlab.json").read_text())
    (configs / "broken.json").write_text(json.dumps({**config, "ignoreScript": False}))
    done = run_node(validator, configs, tmp_path / "home", "--strict", "broken.json")
    assert done.returncode != 0
    assert "Invalid configuration option: ignoreScript" in done.stdout + done.stderr
