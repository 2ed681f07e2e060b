"""The shared answer sets in tests/answers/*.yml."""

from __future__ import annotations

from typing import Any

import yaml

from devkit import ROOT

ANSWERS_DIR = ROOT / "tests" / "answers"


def answer_sets() -> dict[str, dict[str, Any]]:
    """Every answer set by name (file stem)."""
    return {
        path.stem: yaml.safe_load(path.read_text()) or {}
        for path in sorted(ANSWERS_DIR.glob("*.yml"))
    }
