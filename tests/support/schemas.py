"""Validators that the artifacts' own projects publish, from the npm packages in tests/schemas/
(installed by `make schemas`, which `make test` and `make test-fast` run first)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def node_check(check: str, documents: list[Any]) -> list[list[str]]:
    """For each document, the errors `tests/schemas/validate.mjs <check>` finds (empty: valid)."""
    node = shutil.which("node")
    assert node, "node is missing: `make test` installs nodejs (scripts/system-packages.sh)"
    assert (SCHEMAS / "node_modules").is_dir(), "the npm validators are missing: run `make schemas`"
    done = subprocess.run(
        [node, str(SCHEMAS / "validate.mjs"), check],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        cwd=SCHEMAS,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
