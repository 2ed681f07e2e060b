"""The maintenance tools find the checkout they belong to: `make lock` run in a scratch copy of this
repository writes that copy's template lock (and nothing outside it), and a tool pointed at a folder
that is not a checkout says so instead of writing elsewhere."""

import os
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
