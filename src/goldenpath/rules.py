"""The template's answer rules (templates/includes/rules.jinja), usable outside copier.

copier evaluates the same macros in each question's validator; `goldenpath verify` and the
cookiecutter pre-generation hook call `violations` here, so all three reject the same answers
with the same messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from . import TEMPLATE_ROOT

VALIDATED = (
    "service_name",
    "description",
    "owner_team",
    "org",
    "repo_url",
    "container_registry",
    "k8s_namespace",
    "slo_availability",
    "slo_latency_p99_ms",
    "min_replicas",
    "max_replicas",
)


def regex_search(value: Any, pattern: str) -> str | None:
    """The `regex_search` filter as copier's Ansible filters define it (first match or None)."""
    match = re.search(pattern, str(value))
    return match.group(0) if match else None


def regex_replace(value: Any, pattern: str, replacement: str = "") -> str:
    return re.sub(pattern, replacement, str(value))


def environment(root: Path = TEMPLATE_ROOT) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["regex_search"] = regex_search
    env.filters["regex_replace"] = regex_replace
    return env


def violations(answers: Mapping[str, Any], root: Path = TEMPLATE_ROOT) -> dict[str, str]:
    """{question: message} for every answer that breaks its rule (empty when all are valid)."""
    check = environment(root).get_template("templates/includes/rules.jinja").module.check
    found = {}
    for question in VALIDATED:
        if question not in answers:
            continue
        message = str(check(question, answers[question], dict(answers))).strip()
        if message:
            found[question] = message
    return found
