"""`goldenpath release tag`: create the template's annotated release tags from releases.toml.

goldenpath release tag [--repo CLONE] [--check CMD] [--dry-run]

Tags do not travel with the main branch, so the repository records its releases in releases.toml
(version, date, commit, what a team must do) and this command turns the record into tags in a
clone. It refuses, naming the release and the reason, when the record and the tree disagree (the
commit is missing or not on HEAD's history; its CHANGELOG.md lacks the version's section, or has a
newer or an Unreleased one; a migration is newer than the release; a tag of that name points
elsewhere) or when the check command fails at the commit. Nothing is tagged unless all pass.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shlex
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from .proc import CommandError, git, run

RECORD = "releases.toml"
CHANGELOG = "CHANGELOG.md"
DEFAULT_CHECK = "make test-fast"
# How much of a failed check's output a refusal shows.
CHECK_LINES = 15
HEADING = re.compile(r"^## v(\S+)\s*$", re.MULTILINE)


class ReleaseError(ValueError):
    """The record, the tree or the checks disagree; the message names the release and why."""


@dataclass(frozen=True)
class Release:
    version: str
    date: datetime.date
    commit: str
    must_do: str

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def parse_record(text: str, source: str = RECORD) -> list[Release]:
    """The releases of a record, oldest first; ReleaseError names the entry and the rule."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ReleaseError(f"{source} is not valid TOML: {error}") from error
    releases: list[Release] = []
    for index, entry in enumerate(data.get("release", []), start=1):
        where = f"{source}: release #{index}"
        missing = [k for k in ("version", "date", "commit", "must_do") if not entry.get(k)]
        if missing:
            raise ReleaseError(f"{where} lacks {', '.join(missing)}")
        try:
            version = Version(str(entry["version"]))
        except InvalidVersion as error:
            raise ReleaseError(f"{where}: version {entry['version']!r} is not PEP 440") from error
        if str(version) != str(entry["version"]):
            raise ReleaseError(f"{where}: write version {entry['version']!r} as {str(version)!r}")
        if not isinstance(entry["date"], datetime.date):
            raise ReleaseError(f"{where}: date {entry['date']!r} is not a TOML date (2026-11-28)")
        if not re.fullmatch(r"[0-9a-f]{40}", str(entry["commit"])):
            raise ReleaseError(f"{where}: commit {entry['commit']!r} is not a full 40-hex sha")
        release = Release(str(version), entry["date"], str(entry["commit"]), entry["must_do"])
        if releases and Version(releases[-1].version) >= version:
            raise ReleaseError(f"{where}: v{version} is not newer than {releases[-1].tag}")
        if releases and releases[-1].date > release.date:
            raise ReleaseError(f"{where}: {release.date} is before {releases[-1].tag}'s date")
        releases.append(release)
    if not releases:
        raise ReleaseError(f"{source} records no [[release]]")
    return releases


def read_record(repo: Path) -> list[Release]:
    path = repo / RECORD
    if not path.is_file():
        raise ReleaseError(f"{repo}: no {RECORD}")
    return parse_record(path.read_text(), str(path))


def changelog_section(text: str, version: str) -> str | None:
    """The body of `## v<version>` in a CHANGELOG, or None when it has no such section."""
    headings = list(HEADING.finditer(text))
    for index, heading in enumerate(headings):
        if heading.group(1) == version:
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            return text[heading.end() : end].strip()
    return None


def disagreements(repo: Path, release: Release) -> list[str]:
    """Why the tree at release.commit is not this release (empty when it is)."""
    if git(repo, "cat-file", "-t", release.commit, check=False) != "commit":
        return [f"commit {release.commit} is not in this clone (a shallow clone?)"]
    problems = []
    merged = run(
        ["git", "merge-base", "--is-ancestor", release.commit, "HEAD"],
        cwd=repo,
        echo=False,
        check=False,
    )
    if merged.returncode != 0:
        problems.append(f"commit {release.commit[:12]} is not in HEAD's history")
    changelog = git(repo, "show", f"{release.commit}:{CHANGELOG}", check=False)
    headings = HEADING.findall(changelog)
    if changelog_section(changelog, release.version) is None:
        problems.append(f"{CHANGELOG} at {release.commit[:12]} has no '## {release.tag}' section")
    elif headings[0] != release.version:
        problems.append(
            f"{CHANGELOG} at {release.commit[:12]} is newer: its first section is v{headings[0]}"
        )
    if re.search(r"^## Unreleased\s*$", changelog, re.MULTILINE):
        problems.append(f"{CHANGELOG} at {release.commit[:12]} has an '## Unreleased' section")
    copier_yml = yaml.safe_load(git(repo, "show", f"{release.commit}:copier.yml")) or {}
    for migration in copier_yml.get("_migrations", []):
        version = migration.get("version")
        if version and Version(str(version)) > Version(release.version):
            problems.append(f"copier.yml at {release.commit[:12]} has a {version} migration")
    tagged = git(repo, "rev-parse", "--verify", "--quiet", f"{release.tag}^{{commit}}", check=False)
    if tagged and tagged != release.commit:
        problems.append(f"tag {release.tag} already points at {tagged[:12]}")
    return problems


def run_check(repo: Path, release: Release, command: str) -> str | None:
    """Run the check command in a worktree at the release's commit; the failure, or None."""
    with tempfile.TemporaryDirectory(prefix=f"release-{release.tag}-") as scratch:
        worktree = Path(scratch) / "tree"
        git(repo, "worktree", "add", "--detach", "--quiet", str(worktree), release.commit)
        try:
            # Its output in the order it was written, so the end is the command's own last words
            # (a failing test's summary), not whatever it wrote to stderr along the way.
            done = run(["bash", "-c", f"{{ {command}\n}} 2>&1"], cwd=worktree, check=False)
        finally:
            git(repo, "worktree", "remove", "--force", str(worktree), check=False)
    if done.returncode == 0:
        return None
    tail = done.stdout.strip().splitlines()[-CHECK_LINES:]
    last = "\n".join(f"    {line}" for line in tail)
    head = f"`{command}` failed at {release.commit[:12]} (exit {done.returncode})"
    return f"{head}; its last lines:\n{last}"


def tag_message(repo: Path, release: Release) -> str:
    changelog = git(repo, "show", f"{release.commit}:{CHANGELOG}")
    section = changelog_section(changelog, release.version) or ""
    must_do = f"What a team must do: {release.must_do}"
    return f"{release.tag} ({release.date})\n\n{section}\n\n{must_do}\n"


def tag_releases(repo: Path, check: str | None = DEFAULT_CHECK, dry_run: bool = False) -> list[str]:
    """Check every recorded release, then create the missing tags; returns the tags created."""
    releases = read_record(repo)
    problems = [f"{r.tag}: {p}" for r in releases for p in disagreements(repo, r)]
    if problems:
        raise ReleaseError("the record and the tree disagree:\n  " + "\n  ".join(problems))
    existing = set(git(repo, "tag", "--list", "v*").split())
    missing = [r for r in releases if r.tag not in existing]
    for release in missing if check else []:
        failure = run_check(repo, release, check)
        if failure:
            raise ReleaseError(f"{release.tag}: {failure}")
    for release in [] if dry_run else missing:
        env = {
            "GIT_COMMITTER_DATE": f"{release.date.isoformat()}T12:00:00+00:00",
            "GIT_COMMITTER_NAME": "golden-path release",
            "GIT_COMMITTER_EMAIL": "golden-path-release@invalid",
        }
        run(
            ["git", "tag", "--annotate", "--file=-", release.tag, release.commit],
            cwd=repo,
            env=env,
            echo=False,
            stdin_text=tag_message(repo, release),
        )
    return [r.tag for r in missing]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="goldenpath release tag", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repo", type=Path, default=Path("."), help="the template clone")
    parser.add_argument(
        "--check",
        default=DEFAULT_CHECK,
        help=f"run at each release's commit before tagging it (default: {DEFAULT_CHECK!r});"
        " '' skips it",
    )
    parser.add_argument("--dry-run", action="store_true", help="check, but create no tag")
    args = parser.parse_args(argv)
    try:
        created = tag_releases(args.repo, check=args.check or None, dry_run=args.dry_run)
    except (ReleaseError, CommandError) as error:
        print(f"goldenpath release tag: {error}", file=sys.stderr)
        return 1
    verb = "would create" if args.dry_run else "created"
    print(f"{verb}: {', '.join(created)}" if created else "every recorded release is tagged")
    if created and not args.dry_run:
        print(f"publish them: git -C {shlex.quote(str(args.repo))} push origin {' '.join(created)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
