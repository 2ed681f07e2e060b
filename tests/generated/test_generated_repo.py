"""The generated repo's lint finds a planted secret and says when its audit could not run; its
pre-commit hooks pass on a fresh render without changing a file; its committed OpenAPI document
(docs/openapi.json) is what the code produces in every answer set, and a contract change that
leaves it stale fails `make openapi-check` until `make openapi` regenerates it.

(Every answer set passing its own `make setup test lint` is tests/generated/test_frameworks.py.)"""

import os
import subprocess
from pathlib import Path

import pytest

from devkit.answers import answer_sets
from devkit.project import commit_all, copy_project, git


@pytest.fixture(scope="module")
def set_up(tmp_path_factory) -> Path:
    """A fresh render of the default answers, committed, after `make setup`."""
    repo = copy_project(tmp_path_factory.mktemp("generated") / "iris-classifier")
    commit_all(repo, "Scaffold")
    subprocess.run(["make", "setup"], cwd=repo, check=True, capture_output=True, timeout=900)
    return repo


HOOKS = (
    "ruff check",
    "ruff format",
    "hadolint (Dockerfile)",
    "uv.lock matches",
    "scan for secrets",
    "docs/openapi.json matches",
    "the platform's policies",
)


def test_pre_commit_hooks_pass_on_a_fresh_render_and_change_nothing(set_up, tmp_path) -> None:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    hooks = ["uv", "run", "--locked", "--offline", "pre-commit", "run", "--all-files"]
    done = subprocess.run(hooks, cwd=set_up, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if line.endswith("Passed")]
    for hook in HOOKS:
        assert any(line.startswith(hook) for line in passed), f"{hook} did not run:\n{done.stdout}"
    status = subprocess.run(["git", "status", "--porcelain"], cwd=set_up, capture_output=True)
    assert status.stdout == b"", status.stdout.decode()
    # The control: a planted secret fails the hooks, naming the file (the secret scan's hook on
    # its own: the others just passed on the same tree).
    leak = set_up / "config" / "hook_leak.py"
    leak.write_text('password = "correct-horse-battery-staple-42"\n')
    try:
        scan = [*hooks[:-1], "scan-secrets", "--all-files"]
        done = subprocess.run(scan, cwd=set_up, capture_output=True, text=True, env=env)
    finally:
        leak.unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "config/hook_leak.py:1: possible secret" in done.stdout


def test_lint_finds_a_planted_secret_and_says_when_the_audit_could_not_run(set_up) -> None:
    repo = set_up
    run = ["uv", "run", "--locked", "--offline", "python"]
    leak = repo / "config" / "leak.py"
    leak.write_text('password = "correct-horse-battery-staple-42"\n')
    try:
        scan = subprocess.run(
            [*run, "scripts/scan_secrets.py"], cwd=repo, capture_output=True, text=True
        )
    finally:
        leak.unlink()  # the module's other tests lint this repo
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


def make(repo: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_a_contract_change_fails_the_openapi_check_until_make_openapi(set_up) -> None:
    repo = set_up
    assert git(repo, "status", "--porcelain") == ""
    done = make(repo, "openapi-check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "docs/openapi.json is current" in done.stdout
    # The team adds a feature to its contract (a nullable one: the examples stay valid).
    contract = next((repo / "src").glob("*/contract.py"))
    text = contract.read_text()
    assert "FEATURES = (\n" in text
    contract.write_text(
        text.replace(
            "FEATURES = (\n",
            'FEATURES = (\n    Numeric("leaf_count", minimum=0.0, maximum=99.0, nullable=True),\n',
            1,
        )
    )
    try:
        stale = make(repo, "openapi-check")
        assert stale.returncode != 0, stale.stdout + stale.stderr
        assert "docs/openapi.json is out of date" in stale.stderr, stale.stderr
        assert "Run `make openapi` and commit docs/openapi.json" in stale.stderr, stale.stderr
        assert "leaf_count" in stale.stderr  # the difference is shown
        lint = make(repo, "lint")
        assert lint.returncode != 0 and "docs/openapi.json is out of date" in lint.stderr
        fixed = make(repo, "openapi", "openapi-check")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "leaf_count" in (repo / "docs" / "openapi.json").read_text()
        changed = git(repo, "diff", "--name-only").splitlines()
        assert changed == ["docs/openapi.json", str(contract.relative_to(repo))], changed
    finally:
        git(repo, "checkout", "--", ".")


@pytest.mark.parametrize("name", sorted(set(answer_sets()) - {"default"}))
def test_every_answer_set_ships_the_document_its_code_produces(name, tmp_path) -> None:
    repo = copy_project(tmp_path / "repo", **answer_sets()[name])
    commit_all(repo, "Scaffold")
    done = make(repo, "setup", "openapi-check")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "docs/openapi.json is current" in done.stdout
