"""Rendering generated repos for tests, and working with them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from goldenpath.localservice import LOCAL_IDENTITY, scaffold
from goldenpath.proc import run
from goldenpath.render import render

# Who commits in the tests and benchmarks: the one identity of goldenpath.localservice.
GIT_IDENTITY = LOCAL_IDENTITY


def copy_project(dst: Path, **answers: Any) -> Path:
    """Render the template's working tree (uncommitted changes included) into dst."""
    return render(dst, answers)


def scaffold_at(template: Path | str, dst: Path, ref: str, **answers: Any) -> Path:
    """Render template (a clone with release tags, or its file:// URL) at ref into dst, with these
    answers (defaults for the rest), committed on `main` as a team's first commit."""
    return scaffold(dst, answers, GIT_IDENTITY, f"Scaffold at {ref}", src=template, vcs_ref=ref)


def goldenpath(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The goldenpath CLI of this checkout, as a user runs it: its exit status and output."""
    return run([sys.executable, "-m", "goldenpath", *args], cwd=cwd, echo=False, check=False)


def git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo, env=GIT_IDENTITY, echo=False).stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def assert_merged_cleanly(repo: Path) -> None:
    """No unmerged index entries, no .rej files and no conflict markers after an update."""
    unmerged = git(repo, "diff", "--name-only", "--diff-filter=U")
    assert unmerged == "", unmerged
    assert not list(repo.rglob("*.rej"))
    markers = run(
        ["git", "grep", "-n", "-e", "^<<<<<<< ", "-e", "^>>>>>>> "],
        cwd=repo,
        echo=False,
        check=False,
    )
    assert markers.stdout == "", markers.stdout
