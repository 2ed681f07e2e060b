"""The template's answer rules, usable outside copier.

Each question's `validator` in copier.yml calls a macro of templates/includes/rules.jinja with its
own parameters. `validators` reads those lines from copier.yml and `violations` renders them here
with plain Jinja, for `goldenpath verify` and the cookiecutter pre-generation hook, so all three
reject the same answers with the same messages and no list of questions is kept twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from . import TEMPLATE_ROOT


def regex_search(value: Any, pattern: str) -> str | None:
    """The `regex_search` filter as copier's Ansible filters define it (first match or None)."""
    match = re.search(pattern, str(value))
    return match.group(0) if match else None


def regex_replace(value: Any, pattern: str, replacement: str = "") -> str:
    """The `regex_replace` filter as copier's Ansible filters define it."""
    return re.sub(pattern, replacement, str(value))


def environment(root: Path = TEMPLATE_ROOT) -> jinja2.Environment:
    """Plain Jinja with copier's two regex filters, loading templates from the template root.

    An answer a validator names but the caller did not give is undefined (max_replicas against a
    missing min_replicas), which the macros treat as "not a number": no relation to check.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)), trim_blocks=True, lstrip_blocks=True
    )
    env.filters["regex_search"] = regex_search
    env.filters["regex_replace"] = regex_replace
    return env


def validators(root: Path = TEMPLATE_ROOT) -> dict[str, str]:
    """{question: its validator's Jinja source} for every question of copier.yml that has one."""
    config = yaml.safe_load((root / "copier.yml").read_text()) or {}
    return {
        name: spec["validator"]
        for name, spec in config.items()
        if not name.startswith("_") and isinstance(spec, dict) and spec.get("validator")
    }


def violations(answers: Mapping[str, Any], root: Path = TEMPLATE_ROOT) -> dict[str, str]:
    """{question: message} for every answer that breaks its rule (empty when all are valid)."""
    env = environment(root)
    found = {}
    for question, source in validators(root).items():
        if question not in answers:
            continue
        message = env.from_string(source).render(dict(answers)).strip()
        if message:
            found[question] = message
    return found
