"""Rendering generated repos for tests, and working with them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from goldenpath.proc import run
from goldenpath.render import render

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@localhost",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@localhost",
}


def copy_project(dst: Path, **answers: Any) -> Path:
    """Render the template's working tree (uncommitted changes included) into dst."""
    return render(dst, answers)


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
    markers = subprocess.run(
        ["git", "grep", "-n", "-e", "^<<<<<<< ", "-e", "^>>>>>>> "],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert markers.stdout == "", markers.stdout
