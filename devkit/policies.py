"""The generated repo's policy runner (scripts/policy.py), run as `make policy` runs it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from devkit import chart
from goldenpath.proc import run


def policy(repo: Path, rendered: Path) -> tuple[int, str, list[dict[str, Any]]]:
    """scripts/policy.py of repo on the renders in rendered (given relative to repo, as `make
    policy` gives build/policy/chart): exit status, stderr, results."""
    results = rendered.parent / "results.json"
    rendered = Path(os.path.relpath(rendered, repo))
    done = run(
        [
            sys.executable,
            "scripts/policy.py",
            *("--chart", str(chart.chart_dir(repo).relative_to(repo))),
            *("--rendered", str(rendered), "--json", str(results)),
        ],
        cwd=repo,
        env={"UV": str(Path(sys.executable).parent / "uv")},
        check=False,
        timeout=600,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, done.stderr, json.loads(results.read_text())
