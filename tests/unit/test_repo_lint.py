"""The template repository's own Python is lint-clean and formatted (what `make lint` checks)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_repo_python_is_lint_clean_and_formatted() -> None:
    for command in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                *command,
                "src",
                "devkit",
                "tests",
                "tools",
                "benchmarks",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
