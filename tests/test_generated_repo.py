"""The default generated repo passes its own checks on its first commit, and they change nothing."""

import os
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


def test_lint_finds_a_planted_secret_and_says_when_the_audit_could_not_run(tmp_path) -> None:
    repo = copy_project(tmp_path / "iris-classifier")
    commit_all(repo, "Scaffold")
    subprocess.run(["make", "setup"], cwd=repo, check=True, capture_output=True, timeout=900)
    run = ["uv", "run", "--locked", "--offline", "python"]
    (repo / "config" / "leak.py").write_text('password = "correct-horse-battery-staple-42"\n')
    scan = subprocess.run(
        [*run, "scripts/scan_secrets.py"], cwd=repo, capture_output=True, text=True
    )
    assert scan.returncode == 1, scan.stdout + scan.stderr
    assert "config/leak.py:1: possible secret" in scan.stdout
    # No route to the vulnerability database: the audit says it did not run; CI makes that fatal.
    offline = {
        **os.environ,
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    for required, code in (("0", 0), ("1", 1)):
        audit = subprocess.run(
            [*run, "scripts/audit_dependencies.py"],
            cwd=repo,
            capture_output=True,
            text=True,
            env={**offline, "AUDIT_REQUIRED": required},
        )
        assert audit.returncode == code, audit.stdout + audit.stderr
        assert "dependency audit DID NOT RUN" in audit.stdout
