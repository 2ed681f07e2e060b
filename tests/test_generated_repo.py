"""The generated repo's lint finds a planted secret and says when its audit could not run.

(Every answer set passing its own `make setup test lint` is tests/test_frameworks.py.)"""

import os
import subprocess

import pytest

from .support.project import commit_all, copy_project

pytestmark = [pytest.mark.generated_make, pytest.mark.server]


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
