"""The real Renovate CLI (npm, tools/renovate/), installed on first use and cached, and the
template releases it looks up.

Renovate 39 is the newest whose `engines` accept Node 20. npm installs it from
tools/renovate/package-lock.json into tools/renovate/node_modules (ignored by git, a few hundred
MB); a later run reuses that copy while it matches the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devkit import ROOT
from goldenpath.proc import run

TOOL = ROOT / "tools" / "renovate"
DIST = TOOL / "node_modules" / "renovate" / "dist"
# Compiler flags for npm's native builds (the Makefile's `schemas` target uses the same).
NATIVE_BUILD = {"CFLAGS": "-O0 -g0", "CXXFLAGS": "-O0 -g0"}


def install() -> Path:
    """tools/renovate/node_modules as the lock file says (npm ci when it is missing or stale)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("Renovate needs Node.js 20+ and npm on the PATH (Debian: nodejs, npm)")
    installed = TOOL / "node_modules" / ".package-lock.json"
    lock = TOOL / "package-lock.json"
    # One installer at a time when test workers start together (the lock file is ignored by git).
    with open(TOOL / ".install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
            # Its native modules (re2, better-sqlite3) are compiled here: their prebuilt binaries
            # come from GitHub releases, not a registry. Unoptimised and without debug symbols,
            # the install takes 72 s instead of 122 on 2 cores; the tests do not notice.
            command = ["npm", "ci", "--no-audit", "--no-fund"]
            done = run(command, cwd=TOOL, env=NATIVE_BUILD, echo=False, check=False)
            assert done.returncode == 0, f"npm ci in {TOOL} failed:\n{done.stderr[-3000:]}"
    return DIST


def environment(home: Path) -> dict[str, str]:
    """Renovate's environment: JSON logs on stdout, its caches in a folder of the test's own."""
    return {
        **os.environ,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "debug",
        "RENOVATE_BASE_DIR": str(home),
        "RENOVATE_X_IGNORE_NODE_WARN": "true",
    }


def run_renovate(repo: Path, home: Path, *args: str) -> list[dict]:
    """`renovate --platform=local` in repo; its log records, one dict per line."""
    dist = install()
    command = ["node", str(dist / "renovate.js"), "--platform=local", *args]
    done = run(command, cwd=repo, env=environment(home), echo=False, check=False)
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return records


def run_node(script: Path, cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    """A Renovate script, or one requiring its modules (RENOVATE_DIST names their folder)."""
    dist = install()
    env = {**environment(home), "RENOVATE_DIST": str(dist)}
    return run(["node", str(script), *args], cwd=cwd, env=env, echo=False, check=False)
