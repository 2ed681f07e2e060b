"""What the fleet report says about each repository, and about the fleet.

Each repository's row comes from its default branch (what the service ships): the release its
answers file records, how many releases are newer, when the template last wrote it, whether
Renovate can deliver releases to it, and the template-owned files the team changed or deleted since.
A repository that cannot be read is a row with the reason, never an abort.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import tempfile
import threading
import types
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from ... import answers as answers_file
from ...owned import REPOSITORY_POLICIES, repository_policies_source, template_owned_files
from ...proc import CommandError, git
from ...sources import renovate_problem
from ..repos import (
    NotAServiceRepo,
    RepoState,
    copier_version,
    is_version,
    read_state,
    release_versions,
    releases_behind,
)

SCHEMA_VERSION = 1
# `copier check-update` keeps a mirror of the template in a shared cache: two at once in this
# process raced on it, and one answered nothing (seen in the tests, under load).
COPIER_ONE_AT_A_TIME = threading.Lock()
# Where Renovate looks for its configuration (docs.renovatebot.com, configuration-options).
RENOVATE_FILES = (
    "renovate.json",
    "renovate.json5",
    ".github/renovate.json",
    ".github/renovate.json5",
    ".gitlab/renovate.json",
    ".gitlab/renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".renovaterc.json5",
)


@cache
def _releases(src_path: str) -> tuple[str, ...]:
    return tuple(release_versions(src_path))


def _row(repo: Path) -> dict:
    """The row's fields that need no render, and the state a render needs (or None)."""
    return {
        "repo": str(repo),
        "service": repo.name,
        "owner": None,
        "on_template": False,
        "template": None,
        "branch": None,
        "commit": None,
        "release": None,
        "version": None,
        "latest": None,
        "releases_behind": None,
        "last_template_update": None,
        "renovate": False,
        "renovate_problem": None,
        "pending": [],
        "changed": None,
        "missing": None,
        "policies": None,
        "error": None,
    }


def _is_git_repo(repo: Path) -> bool:
    done = git(repo, "rev-parse", "--is-inside-work-tree", check=False) if repo.is_dir() else ""
    top = git(repo, "rev-parse", "--show-toplevel", check=False) if done == "true" else ""
    return bool(top) and Path(top).resolve() == repo.resolve()


def read_repo(repo: Path) -> tuple[dict, RepoState | None]:
    """The row without the render's findings, and the state to render for (None: no render)."""
    row = _row(repo)
    if not repo.is_dir():
        row["error"] = "no such folder"
        return row, None
    if not _is_git_repo(repo):
        has_answers = (repo / answers_file.ANSWERS_FILE).is_file()
        row["on_template"] = has_answers
        row["error"] = "not a git repository" + (
            f" (it has a {answers_file.ANSWERS_FILE})" if has_answers else ""
        )
        return row, None
    try:
        tree = set(git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    except CommandError as error:
        row["error"] = f"no commit to read: {error.brief}"
        return row, None
    try:
        state = read_state(repo)
    except NotAServiceRepo as error:
        message = str(error).removeprefix(f"{repo}: ")
        if message.startswith(f"no {answers_file.ANSWERS_FILE}"):
            return row, None  # a repository not made from the template
        row["on_template"] = True
        row["error"] = message
        return row, None
    if state.branch != "HEAD":
        tree = set(git(repo, "ls-tree", "-r", "--name-only", state.branch).splitlines())
    answers = state.answers
    row.update(
        on_template=True,
        service=str(answers.get("service_name") or repo.name),
        owner=answers.get("owner_team"),
        template=state.src_path,
        branch=state.branch,
        commit=state.current,
        pending=list(state.pending),
    )
    last = git(
        repo, "log", "-1", "--format=%H %cI", state.branch, "--", answers_file.ANSWERS_FILE
    ).split()
    if last:
        row["last_template_update"] = last[1]
        row["_since"] = last[0]
    row["_tree"] = tree
    problem = renovate_problem(state.src_path)
    row["renovate_problem"] = problem
    row["renovate"] = problem is None and any(name in tree for name in RENOVATE_FILES)
    try:
        releases = list(_releases(state.src_path))
    except CommandError as error:
        row["error"] = f"template source unreachable: {error.brief}"
        return row, None
    row["latest"] = releases[-1] if releases else None
    if state.current in releases:
        row["release"] = row["version"] = state.current
    else:
        # Not a release: copier names the commit's version from the nearest tag
        # (`0.3.0.post2.dev0+g1154505`), or cannot when the template lacks the commit.
        with COPIER_ONE_AT_A_TIME:
            row["version"] = copier_version(repo)
        where = (
            f"copier places it at {row['version']}"
            if row["version"]
            else "the template does not have it"
        )
        row["error"] = f"on template commit {state.current}, which is no release ({where})"
        if not row["version"]:
            return row, None
    row["releases_behind"] = releases_behind(row["version"], releases)
    return row, state


def add_render_findings(row: dict, state: RepoState) -> None:
    """Template-owned files the default branch lacks, and those the team changed since the
    template last wrote the repository (the last commit that changed its answers file)."""
    try:
        owned = template_owned_files(state.src_path, state.answers, state.current)
    except Exception as error:  # copier raises many kinds; all mean "could not render"
        reason = " ".join(f"cannot render the template at {state.current}: {error}".split())
        row["error"] = row["error"] or reason[:500]
        return
    tree = row.get("_tree", set())
    row["missing"] = sorted(owned - tree)
    since = row.get("_since")
    changed = set()
    if since:
        diff = git(state.path, "diff", "--name-only", "--no-renames", since, state.branch)
        changed = set(diff.splitlines())
    row["changed"] = sorted((owned & tree) & changed)
    add_policy_results(row, state)


# The files the repository policies read, besides the answers (policies/repository.py).
POLICY_INPUTS = ("CODEOWNERS", "catalog-info.yaml")


@cache
def _policies(source: str) -> types.ModuleType:
    """One release's REPOSITORY_POLICIES source (the rendered release's own file, never the
    repository's copy), loaded once per run; its results(root, answers) runs every policy."""
    name = f"goldenpath_release_policies_{hashlib.sha256(source.encode()).hexdigest()[:12]}"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(source, REPOSITORY_POLICIES, "exec"), module.__dict__)
    return module


def add_policy_results(row: dict, state: RepoState) -> None:
    """The repository policies (GP_REPO_*) of the repository's release, on its default branch.
    The chart policies (checkov, several seconds a repository) run in each repository's own CI
    (`make policy`), not here: the report keeps to its minute for 200 repositories."""
    source = repository_policies_source(state.src_path, state.answers, state.current)
    if source is None:
        return  # the release ships no policies: null, not a made-up pass
    try:
        policies = _policies(source)
    except Exception as error:  # the release's file is code; any failure means "not checked"
        row["error"] = row["error"] or f"cannot load {REPOSITORY_POLICIES}: {error}"[:500]
        return
    tree = row.get("_tree", set())
    with tempfile.TemporaryDirectory(prefix="goldenpath-policy-") as scratch:
        root = Path(scratch)
        for name in POLICY_INPUTS:
            if name in tree:
                (root / name).write_text(git(state.path, "show", f"{state.branch}:{name}"))
        try:
            # The same function `make policy` runs in the repository (policies/repository.py).
            outcomes = policies.results(root, dict(state.answers))
        except Exception as error:  # a file a policy cannot read: the row says which policy
            row["error"] = row["error"] or " ".join(str(error).split())[:500]
            return
    failed = [
        {"id": o["id"], "file": o["file"], "rule": o["rule"], "problem": o["what"]}
        for o in outcomes
        if not o["passed"]
    ]
    passed = [o["id"] for o in outcomes if o["passed"]]
    row["policies"] = {"passed": passed, "failed": failed}


def collect(repos: Iterable[Path], jobs: int = 4) -> tuple[list[dict], int]:
    """Every repository's row, in the order given, and how many renders it took. Reading runs
    `jobs` repositories at a time (git commands); renders run one after another, once per
    release (and CI provider), before the rows that need them."""
    repos = list(repos)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        read = list(pool.map(read_repo, repos))
    before = owned_renders()
    for row, state in read:
        if state is not None:
            add_render_findings(row, state)
    rows = []
    for row, _ in read:
        rows.append({key: value for key, value in row.items() if not key.startswith("_")})
    return rows, owned_renders() - before


def owned_renders() -> int:
    from ...owned import rendered_release

    return rendered_release.cache_info().misses


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def totals(rows: list[dict]) -> dict:
    """The fleet's figures. Shares of releases are over the repositories on the template whose
    release is known (`measured`); adoption is over every repository given."""
    on_template = [r for r in rows if r["on_template"]]
    measured = [r for r in on_template if r["releases_behind"] is not None]
    lags = [r["releases_behind"] for r in measured]
    checked = [r for r in rows if r["policies"] is not None]
    policy_failures: Counter = Counter()
    failures_by_team: dict[str, Counter] = defaultdict(Counter)
    for row in checked:
        for failure in row["policies"]["failed"]:
            policy_failures[failure["id"]] += 1
            failures_by_team[row["owner"] or "unknown"][failure["id"]] += 1
    teams: dict[str, dict] = {}
    for row in on_template:
        team = teams.setdefault(
            row["owner"] or "unknown",
            {"repos": 0, "on_newest": 0, "behind": 0, "unknown": 0, "policy_failures": 0},
        )
        team["repos"] += 1
        lag = row["releases_behind"]
        team["unknown" if lag is None else "on_newest" if lag == 0 else "behind"] += 1
    for team, failures in failures_by_team.items():
        teams.setdefault(team, {"repos": 0, "on_newest": 0, "behind": 0, "unknown": 0})
        teams[team]["policy_failures"] = sum(failures.values())
    versions = Counter(r["version"] or "unknown" for r in on_template)
    return {
        "repos": len(rows),
        "on_template": len(on_template),
        "adoption": _share(len(on_template), len(rows)),
        "measured": len(measured),
        "on_newest": sum(1 for lag in lags if lag == 0),
        "within_one": sum(1 for lag in lags if lag <= 1),
        "share_on_newest": _share(sum(1 for lag in lags if lag == 0), len(measured)),
        "share_within_one": _share(sum(1 for lag in lags if lag <= 1), len(measured)),
        "median_lag": statistics.median(lags) if lags else None,
        "lag": {str(lag): count for lag, count in sorted(Counter(lags).items())},
        "versions": dict(sorted(versions.items(), key=lambda item: _version_key(item[0]))),
        "renovate": sum(1 for r in on_template if r["renovate"]),
        "pending_updates": sum(1 for r in on_template if r["pending"]),
        "changed_template_files": sum(1 for r in on_template if r["changed"]),
        "missing_template_files": sum(1 for r in on_template if r["missing"]),
        "errors": sum(1 for r in rows if r["error"]),
        "policies_checked": len(checked),
        "policy_pass_rate": _share(
            sum(1 for r in checked if not r["policies"]["failed"]), len(checked)
        ),
        "policy_failures": dict(sorted(policy_failures.items())),
        "teams": dict(sorted(teams.items())),
    }


def _version_key(version: str) -> tuple:
    from packaging.version import Version

    return (0, Version(version)) if is_version(version) else (1, version)
