"""The platform's policies on this repository's own files (GP_REPO_*), run by scripts/policy.py.

checkov runs the Kubernetes policies (kubernetes/); it has no parser for CODEOWNERS and runs no
graph policy on a plain YAML file, and these rules compare files with the answers the repository
was made with (.copier-answers.yml). So each is a plain function here: it takes the repository's
root and the answers and returns (file, problem) pairs, empty when the rule holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# The organisation's SLO bounds, the same as the template's questions accept (copier.yml).
AVAILABILITY_PERCENT = (95, 100)  # from 95, up to but not including 100
LATENCY_P99_MS = (1, 60000)  # whole milliseconds, both included

Problems = list[tuple[str, str]]


@dataclass(frozen=True)
class Policy:
    id: str
    rule: str
    reason: str
    doc: str
    check: Callable[[Path, dict[str, Any]], Problems]


def codeowners(root: Path, answers: dict[str, Any]) -> Problems:
    owner = f"@{answers.get('org')}/{answers.get('owner_team')}"
    path = root / "CODEOWNERS"
    if not path.is_file():
        return [("CODEOWNERS", "missing")]
    for line in path.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] == "*":
            if owner in fields[1:]:
                return []
            return [
                ("CODEOWNERS", f"'*' is owned by {' '.join(fields[1:]) or 'nobody'}, not {owner}")
            ]
    return [("CODEOWNERS", f"no '*' line owned by {owner}")]


def catalog_owner(root: Path, answers: dict[str, Any]) -> Problems:
    owner = answers.get("owner_team")
    path = root / "catalog-info.yaml"
    if not path.is_file():
        return [("catalog-info.yaml", "missing")]
    problems = []
    for entity in yaml.safe_load_all(path.read_text()):
        if not isinstance(entity, dict):
            continue
        name = f"{entity.get('kind')} {(entity.get('metadata') or {}).get('name')}"
        found = (entity.get("spec") or {}).get("owner")
        if found != owner:
            problems.append(("catalog-info.yaml", f"{name} is owned by {found}, not {owner}"))
    return problems


def slo_bounds(root: Path, answers: dict[str, Any]) -> Problems:
    problems = []
    availability, latency = answers.get("slo_availability"), answers.get("slo_latency_p99_ms")
    low, high = AVAILABILITY_PERCENT
    if not isinstance(availability, int | float) or not low <= availability < high:
        problems.append(("slo_availability", f"{availability} is not from {low} up to {high}"))
    low, high = LATENCY_P99_MS
    if not isinstance(latency, int) or not low <= latency <= high:
        problems.append(("slo_latency_p99_ms", f"{latency} is not whole ms from {low} to {high}"))
    return [(".copier-answers.yml", f"{key}: {problem}") for key, problem in problems]


POLICIES = (
    Policy(
        "GP_REPO_1",
        "CODEOWNERS gives every file ('*') to the owning team (@org/owner_team)",
        "Reviews go to the team that is paged for the service, not to whoever touched it last.",
        "docs/policies.md#gp_repo_1",
        codeowners,
    ),
    Policy(
        "GP_REPO_2",
        "Every catalog-info.yaml entity is owned by owner_team",
        "The service catalog is how people find who runs a service; a stale owner sends them to "
        "the wrong team in an incident.",
        "docs/policies.md#gp_repo_2",
        catalog_owner,
    ),
    Policy(
        "GP_REPO_3",
        "The SLO answers are within the organisation's bounds",
        "Outside them the alerts cannot work: at 100% there is no error budget to burn, below 95% "
        "a fast burn can never page, and a latency objective beyond a minute is not one.",
        "docs/policies.md#gp_repo_3",
        slo_bounds,
    ),
)


def results(root: Path, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy's outcome, as `make policy` and the platform's fleet report both read it: one
    entry per problem (passed false), or one passed entry. A policy that cannot run (a file it
    cannot read) raises an error naming it."""
    outcomes: list[dict[str, Any]] = []
    for policy in POLICIES:
        try:
            problems = policy.check(root, answers)
        except Exception as error:
            raise RuntimeError(f"policy {policy.id} could not run: {error}") from error
        base = {"id": policy.id, "rule": policy.rule, "doc": policy.doc}
        outcomes += [
            {**base, "file": file, "what": what, "passed": False} for file, what in problems
        ]
        if not problems:
            outcomes.append({**base, "passed": True})
    return outcomes
