"""The default generated repo passes its own checks on its first commit, and they change nothing."""

import subprocess

import pytest

from .support.project import commit_all, copy_project, git

pytestmark = [pytest.mark.generated_make, pytest.mark.server]


def test_make_setup_test_lint_pass_and_leave_the_tree_clean(tmp_path) -> None:
    repo = copy_project(tmp_path / "iris-classifier")
    commit_all(repo, "Scaffold")
    done = subprocess.run(
        ["make", "setup", "test", "lint"], cwd=repo, capture_output=True, text=True, timeout=900
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert " passed" in output and " failed" not in output
    assert git(repo, "status", "--porcelain") == "", "make setup/test/lint changed tracked files"
