"""The maintenance tools: `make lock` run in a scratch copy of this repository writes that copy's
template lock (and nothing outside it), a tool pointed at a folder that is not a checkout says so
instead of writing elsewhere, and cookiecutter.json is what copier.yml says (`make lint`
checks it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit import ROOT
from devkit.releases import copy_working_tree
from goldenpath.proc import run
from tools import relock

LOCK = "templates/model-service/uv.lock.jinja"


def test_make_lock_writes_the_lock_of_the_checkout_it_runs_in(tmp_path) -> None:
    scratch = tmp_path / "checkout"
    copy_working_tree(scratch)
    lock = scratch / LOCK
    before = lock.read_text()
    os.utime(lock, (0, 0))
    original_mtime = (ROOT / LOCK).stat().st_mtime
    venv = Path(sys.executable).parents[1]
    # This run's environment as it is (-o: never reinstall it from the scratch copy).
    make = ["make", "-o", f"{venv}/.installed", "lock", f"VENV={venv}"]
    done = run(make, cwd=scratch, echo=False, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert lock.stat().st_mtime > 0, f"`make lock` did not write {lock}"
    assert f"wrote {lock}" in done.stderr
    # Nothing in the template's dependencies changed: the same lock, rewritten in place.
    assert lock.read_text() == before
    assert (ROOT / LOCK).stat().st_mtime == original_mtime, "it wrote the real checkout's lock"


def test_a_tool_outside_a_checkout_names_where_it_looked(tmp_path) -> None:
    with pytest.raises(SystemExit, match=rf"{tmp_path} is not a template checkout: {LOCK}"):
        relock.template_lock(tmp_path)
    assert relock.template_lock(ROOT) == ROOT / LOCK


def cookiecutter_check(root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.cookiecutter", "--check"]
    return run(command, cwd=root, echo=False, check=False)


def test_cookiecutter_json_is_generated_from_copier_yml(tmp_path) -> None:
    done = cookiecutter_check(ROOT)
    assert done.returncode == 0, done.stderr
    scratch = tmp_path / "checkout"
    for name in ("copier.yml", "cookiecutter.json", "tools/__init__.py", "tools/cookiecutter.py"):
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_text((ROOT / name).read_text())
    copier_yml = scratch / "copier.yml"
    copier_yml.write_text(copier_yml.read_text().replace("  default: 250\n", "  default: 300\n", 1))
    stale = cookiecutter_check(scratch)
    assert stale.returncode == 1
    assert "cookiecutter.json is not what copier.yml says: run `make cookiecutter`" in stale.stderr
    written = run([sys.executable, "-m", "tools.cookiecutter"], cwd=scratch, echo=False)
    assert json.loads((scratch / "cookiecutter.json").read_text())["slo_latency_p99_ms"] == "300"
    assert written.returncode == 0 and cookiecutter_check(scratch).returncode == 0
