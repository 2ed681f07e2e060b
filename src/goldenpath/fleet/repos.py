"""What the fleet commands read from a service repository and its template source."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .. import answers as answers_file
from ..owned import template_owned_files
from ..proc import CommandError, git, run

UPDATE_BRANCHES = "template-update-*"


@dataclass(frozen=True)
class RepoState:
    """A service repository as the fleet commands see it: its default branch's template release
    (what the service ships), whatever branch happens to be checked out."""

    path: Path
    src_path: str
    current: str  # `_commit` on the default branch
    branch: str  # the default branch ("HEAD" when none can be told and HEAD is detached)
    dirty: bool
    answers: dict  # the default branch's answers
    checked_out: str = ""  # the branch checked out, "HEAD" when detached
    pending: tuple[str, ...] = ()  # update branches not merged into the default branch


class NotAServiceRepo(ValueError):
    """The folder is not a git repository generated from the template."""


def default_branch(repo: Path, checked_out: str) -> str:
    """origin's HEAD, else init.defaultBranch, main or master (the first that exists), else the
    branch checked out."""
    remote_head = git(
        repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False
    )
    candidates = (
        remote_head.split("/", 1)[-1] if remote_head else "",
        git(repo, "config", "init.defaultBranch", check=False),
        "main",
        "master",
    )
    for name in candidates:
        if name and git(
            repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{name}", check=False
        ):
            return name
    return checked_out


def pending_updates(repo: Path, branch: str) -> tuple[str, ...]:
    """The `template-update-*` branches that are not merged into branch yet."""
    listed = git(
        repo,
        "branch",
        "--list",
        "--no-merged",
        branch,
        "--format=%(refname:short)",
        UPDATE_BRANCHES,
    )
    return tuple(sorted(listed.split()))


def read_state(repo: Path) -> RepoState:
    try:
        answers_file.read(repo)  # the checkout's, first: its problems are the clearest
    except answers_file.AnswersError as error:
        raise NotAServiceRepo(f"{repo}: {error}") from error
    try:
        checked_out = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
        dirty = bool(git(repo, "status", "--porcelain"))
    except CommandError as error:
        raise NotAServiceRepo(
            f"{repo}: not a git repository with a commit ({error.brief})"
        ) from error
    branch = default_branch(repo, checked_out)
    try:
        answers = answers_file.parse(git(repo, "show", f"{branch}:{answers_file.ANSWERS_FILE}"))
    except CommandError as error:
        raise NotAServiceRepo(f"{repo}: no {answers_file.ANSWERS_FILE} on {branch}") from error
    except answers_file.AnswersError as error:
        raise NotAServiceRepo(f"{repo}: on {branch}: {error}") from error
    for problem in answers_file.missing(answers, ("_src_path", "_commit")):
        raise NotAServiceRepo(f"{repo}: {problem}")
    return RepoState(
        path=repo,
        src_path=str(answers["_src_path"]),
        current=str(answers["_commit"]),
        branch=branch,
        dirty=dirty,
        answers=answers,
        checked_out=checked_out,
        pending=pending_updates(repo, branch) if branch != "HEAD" else (),
    )


def release_versions(src_path: str) -> list[str]:
    """The template's release tags (PEP 440 versions), oldest first."""
    out = run(["git", "ls-remote", "--tags", "--refs", src_path], echo=False).stdout
    tags = [line.split("refs/tags/", 1)[1] for line in out.splitlines() if "refs/tags/" in line]
    versions = []
    for tag in tags:
        try:
            versions.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return [tag for _, tag in sorted(versions)]


def is_version(ref: str) -> bool:
    try:
        Version(ref)
    except InvalidVersion:
        return False
    return True


def copier_version(repo: Path) -> str | None:
    """The repo's template version as `copier check-update` names it (PEP 440, from the tags).

    For a copy made at an untagged commit (`_commit: 1154505`), copier counts from the nearest
    tag: `0.3.0.post2.dev0+g1154505`, or `0.0.0.post10.dev0+1154505` before the first tag.
    """
    done = run(
        [sys.executable, "-m", "copier", "check-update", "--output-format", "json", str(repo)],
        echo=False,
        check=False,
    )
    try:
        return str(json.loads(done.stdout)["current_version"])
    except (ValueError, KeyError, TypeError):
        return None


def releases_behind(current: str | None, releases: list[str]) -> int | None:
    """How many releases are newer than current (None when current is not a version)."""
    if current is None or not is_version(current):
        return None
    mine = Version(current)
    return sum(1 for tag in releases if Version(tag) > mine)


def missing_template_files(state: RepoState) -> list[str]:
    """Template-owned files of the release the default branch records that its tree lacks
    (`copier update` never brings a deleted file back). Raises what copier raises when the
    release cannot be rendered."""
    expected = template_owned_files(state.src_path, state.answers, state.current)
    tree = set(git(state.path, "ls-tree", "-r", "--name-only", state.branch).splitlines())
    return sorted(expected - tree)
