"""`goldenpath verify [PATH]`: check a generated repository against the current standards.

Lists every shortfall and exits 1 when there is any: required files, template-owned files the
team deleted (those of the release the repo records, `_src_path` at `_commit`: `copier update`
leaves a deleted file deleted, so it would silently stop receiving changes), a valid answers file
(answers that pass today's rules), the standard Makefile targets, a chart that lints and renders
with every values file, and alert rules that pass promtool (when promtool is installed).
Warns, without failing, about a template source (`_src_path`) that Renovate cannot follow.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from . import TEMPLATE_ROOT
from . import answers as answers_file
from .answers import ANSWERS_FILE
from .owned import template_owned_files
from .proc import run
from .rules import violations
from .sources import renovate_problem

REQUIRED_FILES = (
    ANSWERS_FILE,
    "README.md",
    "Makefile",
    "pyproject.toml",
    "uv.lock",
    "Dockerfile",
    ".dockerignore",
    ".gitignore",
    ".pre-commit-config.yaml",
    "CODEOWNERS",
    "catalog-info.yaml",
    "docs/runbook.md",
    "docs/onboarding.md",
    "monitoring/rules/slo.yml",
    "monitoring/rules/service.yml",
    "monitoring/rules/team.yml",
)
CI_FILES = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}
MAKE_TARGETS = ("setup", "train", "serve", "test", "lint", "image", "chart", "verify")
CHART_FILES = (
    "Chart.yaml",
    "values.yaml",
    "values.schema.json",
    "values-staging.yaml",
    "values-production.yaml",
)


def check_answers(repo: Path) -> tuple[dict, list[str]]:
    """The repo's answers and what is wrong with them (a missing file is reported elsewhere)."""
    if not (repo / ANSWERS_FILE).is_file():
        return {}, []
    try:
        answers = answers_file.read(repo)
    except answers_file.AnswersError as error:
        return {}, [str(error)]
    problems = answers_file.missing(answers, ("_src_path", "_commit", "service_name"))
    problems += [f"{ANSWERS_FILE}: {message}" for message in violations(answers).values()]
    return answers, problems


def missing_template_files(
    repo: Path, answers: Mapping, src: Path | str | None = None, vcs_ref: str | None = None
) -> list[str]:
    """Template-owned files that the release the repo records (`_src_path` at `_commit`, unless
    src and vcs_ref say otherwise) renders for its answers, and that the repo lacks."""
    src = src or str(answers["_src_path"])
    vcs_ref = vcs_ref or str(answers["_commit"])
    expected = template_owned_files(src, answers, vcs_ref)
    return sorted(name for name in expected if not os.path.lexists(repo / name))


def check_makefile(repo: Path) -> list[str]:
    makefile = repo / "Makefile"
    if not makefile.is_file():
        return []
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile.read_text(), flags=re.MULTILINE))
    return [
        f"Makefile has no `{target}` target" for target in MAKE_TARGETS if target not in defined
    ]


def check_chart(repo: Path, service: str) -> list[str]:
    chart = repo / "deploy" / "helm" / service
    missing = [
        f"deploy/helm/{service}/{name} is missing"
        for name in CHART_FILES
        if not (chart / name).is_file()
    ]
    if missing:
        return missing
    import helm_python

    problems = []
    for values_file in [None, *sorted(chart.glob("values-*.yaml"))]:
        label = values_file.name if values_file else "values.yaml"
        values = yaml.safe_load(values_file.read_text()) if values_file else {}
        lint = helm_python.lint(str(chart), values, strict=True)
        problems += [f"chart lint ({label}): {e}".strip() for e in lint.get("errors", [])]
        try:
            helm_python.Chart.load(str(chart)).render(values, name=service, namespace="default")
        except helm_python.HelmError as error:
            problems.append(f"chart render ({label}): {error}")
    return problems


def check_rules(repo: Path, notes: list[str]) -> list[str]:
    promtool = shutil.which("promtool")
    rules = sorted(str(p) for p in (repo / "monitoring" / "rules").glob("*.yml"))
    if not rules:
        return []
    if not promtool:
        notes.append(
            "promtool not found: the alert rules and their unit tests were not checked"
            " (install Prometheus' promtool)"
        )
        return []
    problems = []
    tests = sorted(str(p) for p in (repo / "monitoring" / "tests").glob("*.yml"))
    for command in (["check", "rules", *rules], ["test", "rules", *tests] if tests else []):
        if not command:
            continue
        done = run([promtool, *command], cwd=repo, echo=False, check=False)
        if done.returncode != 0:
            problems.append(
                f"promtool {command[0]} rules failed:\n{done.stdout}{done.stderr}".strip()
            )
    return problems


def verify(repo: Path, notes: list[str] | None = None) -> list[str]:
    """What is wrong with repo; what could only be checked in part is added to notes."""
    notes = [] if notes is None else notes
    problems = [f"{name} is missing" for name in REQUIRED_FILES if not (repo / name).exists()]
    answers, answer_problems = check_answers(repo)
    problems += answer_problems
    provider = answers.get("ci_provider")
    if provider in CI_FILES and not (repo / CI_FILES[provider]).is_file():
        problems.append(f"{CI_FILES[provider]} is missing (ci_provider is {provider})")
    if answers.get("service_name") and not any(p.startswith(ANSWERS_FILE) for p in problems):
        try:
            missing = missing_template_files(repo, answers)
        except Exception as error:  # copier raises many kinds; all mean "could not render"
            # An unreachable source, or a copy of uncommitted template changes (copier records
            # a commit the source never had): the template this goldenpath ships stands in.
            notes.append(
                f"{ANSWERS_FILE}: cannot render the release it records ({answers['_commit']} from"
                f" {answers['_src_path']}: {' '.join(str(error).split())[:300]}); template-owned"
                " files are checked against the template goldenpath ships"
            )
            missing = missing_template_files(repo, answers, TEMPLATE_ROOT, "HEAD")
        problems += [
            f"{name} is missing: it is template-owned, and `copier update` does not bring back a"
            " deleted file (`copier recopy` or `git checkout` restores it)"
            for name in missing
            if f"{name} is missing" not in problems
        ]
    problems += check_makefile(repo)
    if answers.get("service_name"):
        problems += check_chart(repo, str(answers["service_name"]))
    problems += check_rules(repo, notes)
    return problems


def warnings(repo: Path) -> list[str]:
    """Shortfalls that do not fail verification: a template source Renovate cannot follow."""
    src_path = check_answers(repo)[0].get("_src_path")
    problem = renovate_problem(str(src_path)) if src_path else None
    return [f"{ANSWERS_FILE}: {problem}"] if problem else []


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="goldenpath verify", description=__doc__.splitlines()[0])
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=Path("."),
        help="the generated repository to check (default: this folder)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    notes: list[str] = []
    problems = verify(args.path.resolve(), notes)
    for warning in [*warnings(args.path.resolve()), *notes]:
        print(f"WARN {warning}")
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"{args.path}: " + (f"{len(problems)} problem(s)" if problems else "meets the standards"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
