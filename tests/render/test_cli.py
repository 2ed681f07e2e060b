"""The goldenpath CLI as a platform engineer meets it: help and version, one readable line per
repository whatever git says, repositories found through symlinks, progress as repos finish,
update branches that a team's own branch names cannot block, deleted template-owned files
reported by `verify` and `fleet status`, and every other shortfall `verify` finds."""

import json
from pathlib import Path

import pytest

from devkit.project import commit_all, copy_project, git, goldenpath, scaffold_at
from devkit.releases import copy_working_tree

OLD, NEW = "v8.0.0", "v9.0.0"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """This template at two tags: NEW adds one README line to OLD."""
    root = tmp_path_factory.mktemp("template") / "template"
    copy_working_tree(root)
    commit_all(root, "Template")
    git(root, "tag", OLD)
    readme = root / "templates/model-service/README.md.jinja"
    readme.write_text(readme.read_text() + "\nA line the newer release adds.\n")
    commit_all(root, "Newer release")
    git(root, "tag", NEW)
    return root


def scaffold(template: Path, dst: Path) -> Path:
    return scaffold_at(template, dst, OLD)


def test_version_and_group_help_answer() -> None:
    done = goldenpath("--version")
    assert done.returncode == 0 and done.stdout.startswith("goldenpath 0."), done.stderr
    done = goldenpath("fleet", "--help")
    assert done.returncode == 0, done.stderr
    assert "fleet status" in done.stdout and "fleet update" in done.stdout
    assert "demo" not in done.stdout
    assert goldenpath("fleet").returncode == 2


def test_status_keeps_a_git_error_to_one_row_and_follows_symlinks(template, tmp_path) -> None:
    real = scaffold(template, tmp_path / "elsewhere" / "svc")
    (real / ".github/workflows/template-update.yml").unlink()
    commit_all(real, "Drop the template-update workflow")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "svc").symlink_to(real)
    broken = fleet / "not-git"
    broken.mkdir()
    (broken / ".copier-answers.yml").write_text(f"_src_path: {template}\n_commit: {OLD}\n")

    done = goldenpath("fleet", "status", "--discover", str(fleet))
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout  # the header and one line per repository
    assert any("svc" in line and "missing" not in line for line in lines[1:]), done.stdout
    row = next(line for line in lines if "not-git" in line)
    assert "not a git repository" in row
    rows = json.loads(goldenpath("fleet", "status", "--discover", str(fleet), "--json").stdout)
    svc = next(r for r in rows if r["repo"].endswith("svc"))
    assert svc["missing"] == [".github/workflows/template-update.yml"]


def test_update_branch_cannot_be_blocked_and_git_errors_are_one_line(template, tmp_path) -> None:
    # The how-to once said `git switch -c template-update`: that branch blocked template-update/*.
    mine = scaffold(template, tmp_path / "mine")
    git(mine, "branch", "template-update")
    # A git that cannot lock the update branch's ref (fetching it back) prints several lines;
    # the report keeps one.
    locked = scaffold(template, tmp_path / "locked")
    (locked / ".git" / "refs" / "heads" / f"template-update-{NEW}.lock").write_text("")

    done = goldenpath(
        "fleet", "update", str(mine), str(locked), "--to", NEW, "--jobs", "2", "--json"
    )
    report = {Path(r["repo"]).name: r for r in json.loads(done.stdout)["repos"]}
    assert report["mine"]["outcome"] == "updated", report["mine"]
    assert "A line the newer release adds." in git(
        mine, "show", f"{report['mine']['branch']}:README.md"
    )
    assert report["locked"]["outcome"] == "failed"
    reason = report["locked"]["reason"]
    assert "\n" not in reason and f"template-update-{NEW}.lock" in reason, reason
    assert report["locked"]["commit"] is None, "a branch that was not fetched back has no commit"
    # Each repository is shown as it finishes, before the summary.
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert sorted(p.split("]")[0] for p in progress) == ["[1/2", "[2/2"], done.stderr


def test_verify_names_a_deleted_template_owned_file(template, tmp_path) -> None:
    # A fresh render passes verify (tests/render/test_monitoring.py, every answer set).
    repo = scaffold(template, tmp_path / "svc")
    (repo / ".github/workflows/template-update.yml").unlink()
    # A team-owned seed is the team's to delete: the same run does not name it.
    (repo / "tests/test_model.py").unlink()
    done = goldenpath("verify", str(repo))
    assert done.returncode == 1
    assert "FAIL .github/workflows/template-update.yml is missing: it is template-owned" in (
        done.stdout
    )
    assert "test_model.py" not in done.stdout, done.stdout


def test_verify_lists_every_shortfall(tmp_path) -> None:
    """What verify finds does not depend on the answers: one render (the defaults) shows it."""
    broken = copy_project(tmp_path / "broken")
    (broken / "Dockerfile").unlink()
    answers = broken / ".copier-answers.yml"
    answers.write_text(
        answers.read_text().replace("slo_latency_p99_ms:", "slo_latency_p99_ms: 0 #")
    )
    makefile = broken / "Makefile"
    makefile.write_text(makefile.read_text().replace("\nchart:", "\nchart-old:"))
    # An alert unit test that expects the wrong outcome: the failure alert silent after a failure.
    batch = broken / "monitoring/tests/batch.test.yml"
    batch.write_text(batch.read_text().replace("values: '1x30 0x30'", "values: '1x30 1x30'", 1))
    done = goldenpath("verify", str(broken))
    assert done.returncode == 1
    assert "FAIL Dockerfile is missing" in done.stdout
    assert "'0' is not a valid slo_latency_p99_ms" in done.stdout
    assert "Makefile has no `chart` target" in done.stdout
    assert "FAIL promtool test rules failed" in done.stdout and "BatchScoreFailed" in done.stdout
