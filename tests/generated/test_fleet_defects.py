"""What a platform engineer met trying the fleet commands at v0.4.0 (issue 29, part 5), each with
the repository scaffolded from a URL (`file:///…/template.git`), as the README and the Renovate
how-to require: status and verify on such repos, the default branch's version and waiting
update branches, `git status --porcelain` read whole, and a help line for every option."""

import argparse
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.project import commit_all, git
from devkit.releases import NEW, OLD, RELEASES, tagged_template, template_url
from goldenpath.cli import COMMANDS
from goldenpath.fleet.update import conflicted_files
from goldenpath.proc import git as proc_git
from goldenpath.render import render

ROOT = Path(__file__).resolve().parents[2]


def goldenpath(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "goldenpath", *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    return template_url(tagged_template(tmp_path_factory.mktemp("releases") / "template"))


def scaffold(url: str, dst: Path, ref: str = OLD) -> Path:
    render(dst, {"service_name": dst.name}, src=url, vcs_ref=ref)
    commit_all(dst, f"Scaffold at {ref}")
    return dst


def test_status_reads_a_repo_scaffolded_from_a_url(url, tmp_path) -> None:
    repo = scaffold(url, tmp_path / "svc-url")
    done = goldenpath("fleet", "status", str(repo), "--json")
    (row,) = json.loads(done.stdout)
    assert row["error"] is None, row["error"]
    assert row["template"] == url and row["current"] == OLD and row["missing"] == []
    assert done.returncode == 0, done.stderr


def test_verify_compares_with_the_release_the_repo_records(url, tmp_path) -> None:
    """A fresh repo at the newest release meets the standards even when the template's HEAD
    (this working tree) renders files that release did not have."""
    repo = scaffold(url, tmp_path / "svc-fresh", ref=RELEASES[-1])
    done = goldenpath("verify", str(repo))
    assert done.returncode == 0, done.stdout
    assert "meets the standards" in done.stdout
    (repo / "Makefile").unlink()
    commit_all(repo, "Drop the Makefile")
    done = goldenpath("verify", str(repo))
    assert "FAIL Makefile is missing" in done.stdout and done.returncode == 1


def test_status_shows_the_default_branch_and_pending_updates(url, tmp_path) -> None:
    repo = scaffold(url, tmp_path / "svc-pending")
    branch = f"template-update-{NEW}"
    done = goldenpath("fleet", "update", str(repo), "--json")
    (entry,) = json.loads(done.stdout)["repos"]
    assert entry["outcome"] == "updated", entry
    # The report names files as they are: `.copier-answers.yml`, never a shortened path.
    trees = {
        path
        for ref in ("main", branch)
        for path in git(repo, "ls-tree", "-r", "--name-only", ref).splitlines()
    }
    assert ".copier-answers.yml" in entry["files"]
    assert set(entry["files"]) <= trees, set(entry["files"]) - trees
    git(repo, "checkout", "--quiet", branch)  # someone looks at the update before merging it

    (row,) = json.loads(goldenpath("fleet", "status", str(repo), "--json").stdout)
    assert row["current"] == OLD and row["branch"] == "main", row
    assert row["behind"] == len(RELEASES) - RELEASES.index(OLD) - 1 + (NEW not in RELEASES)
    assert row["pending"] == [branch] and row["checked_out"] == branch, row
    table = goldenpath("fleet", "status", str(repo)).stdout
    assert branch in table, table

    for extra in (["--dry-run"], []):
        done = goldenpath("fleet", "update", str(repo), "--json", *extra)
        (entry,) = json.loads(done.stdout)["repos"]
        assert entry["outcome"] == "pending" and entry["branch"] == branch, entry
        assert done.returncode == 0, done.stderr


def test_porcelain_output_keeps_its_first_line_whole(tmp_path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.txt").write_text("one\n")
    (repo / "b.txt").write_text("two\n")
    commit_all(repo, "Two files")
    (repo / "a.txt").write_text("<<<<<<< before\none\n=======\nuno\n>>>>>>> after\n")
    assert proc_git(repo, "status", "--porcelain") == " M a.txt"
    assert conflicted_files(repo) == ["a.txt"]
    # Other callers still get one clean value.
    assert re.fullmatch(r"[0-9a-f]{40}", proc_git(repo, "rev-parse", "HEAD"))


def parsers() -> dict[str, argparse.ArgumentParser]:
    return {
        name: importlib.import_module(module).parser() for name, (module, _) in COMMANDS.items()
    }


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_has_a_help_line_naming_its_default(command) -> None:
    parser = parsers()[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help != argparse.SUPPRESS, f"{command} {name}: no help"
        if action.default not in (None, False, True, argparse.SUPPRESS):
            text = action.help % {"default": action.default, "prog": parser.prog}
            assert "default" in text, f"{command} {name}: its default is not in its help"


def test_fleet_rollout_check_runs_the_repos_tests() -> None:
    how_to = (ROOT / "docs/how-to/fleet-rollout.md").read_text()
    (check,) = re.findall(r'--check "([^"]+)"', how_to)
    assert check.startswith("make ") and "test" in check.split()[1:], check
