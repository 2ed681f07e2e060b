"""Shared by the cookiecutter hooks: answers typed as copier.yml declares them, validated by the
template's one set of rules (templates/includes/rules.jinja through goldenpath.rules)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml


def typed_answers(repo_dir: Path, context: dict[str, Any]) -> dict[str, Any]:
    """The cookiecutter context (all strings) cast to the types copier.yml gives each question."""
    questions = yaml.safe_load((repo_dir / "copier.yml").read_text())
    casts = {"int": int, "float": float, "str": str}
    answers: dict[str, Any] = {}
    for name, value in context.items():
        spec = questions.get(name)
        if name.startswith("_") or not isinstance(spec, dict) or spec.get("when") is False:
            continue
        cast = casts.get(spec.get("type", "str"), str)
        try:
            answers[name] = cast(value)
        except ValueError:
            answers[name] = value  # left for the rules to reject by name
    return answers


def violations(repo_dir: Path, answers: dict[str, Any]) -> dict[str, str]:
    sys.path.insert(0, str(repo_dir / "src"))
    from goldenpath.rules import violations as rule_violations

    return rule_violations(answers, root=repo_dir)
