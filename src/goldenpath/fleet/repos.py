"""What the fleet commands read from a service repository and its template source."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .. import answers as answers_file
from ..proc import CommandError, git, run


@dataclass(frozen=True)
class RepoState:
    path: Path
    src_path: str
    current: str
    branch: str
    dirty: bool
    answers: dict


class NotAServiceRepo(ValueError):
    """The folder is not a git repository generated from the template."""


def read_state(repo: Path) -> RepoState:
    try:
        answers = answers_file.read(repo)
    except answers_file.AnswersError as error:
        raise NotAServiceRepo(f"{repo}: {error}") from error
    for problem in answers_file.missing(answers, ("_src_path", "_commit")):
        raise NotAServiceRepo(f"{repo}: {problem}")
    try:
        branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
        dirty = bool(git(repo, "status", "--porcelain"))
    except CommandError as error:
        raise NotAServiceRepo(
            f"{repo}: not a git repository with a commit ({error.brief})"
        ) from error
    return RepoState(
        path=repo,
        src_path=str(answers["_src_path"]),
        current=str(answers["_commit"]),
        branch=branch,
        dirty=dirty,
        answers=answers,
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
