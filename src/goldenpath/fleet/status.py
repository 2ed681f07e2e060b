"""`goldenpath fleet status`: where each service repository stands against its template.

Each row is the repository's default branch (origin's HEAD, else main or master), whatever branch
is checked out, with the `template-update-*` branches not merged into it yet.

goldenpath fleet status [REPO ...] [--repos-file FILE] [--discover DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from ..args import add_repo_selection, selected_repos
from ..proc import CommandError
from ..sources import renovate_problem
from .repos import (
    NotAServiceRepo,
    copier_version,
    is_version,
    missing_template_files,
    read_state,
    release_versions,
    releases_behind,
)


@cache
def _releases(src_path: str) -> tuple[str, ...]:
    return tuple(release_versions(src_path))


def repo_status(repo: Path) -> dict:
    try:
        state = read_state(repo)
    except NotAServiceRepo as error:
        return {"repo": str(repo), "error": str(error)}
    try:
        releases = list(_releases(state.src_path))
    except CommandError as error:
        releases, problem = [], f"template source unreachable: {error.brief}"
    else:
        problem = None
    latest = releases[-1] if releases else None
    # A copy made at a release tag records the tag; at any other commit, copier names the version.
    version = state.current if is_version(state.current) else copier_version(repo)
    try:
        missing = missing_template_files(state)
    except Exception as error:  # copier raises many kinds; all mean "could not render"
        missing = None
        problem = problem or one_line(f"cannot render the template at {state.current}: {error}")
    return {
        "repo": str(repo),
        "template": state.src_path,
        "current": state.current,
        "version": version,
        "latest": latest,
        "behind": releases_behind(version, releases),
        # The default branch, whose release the row shows, and update branches waiting on it.
        "branch": state.branch,
        "pending": list(state.pending),
        "checked_out": state.checked_out,
        "dirty": state.dirty,
        # Template-owned files the repo lacks: `copier update` never brings a deleted file back.
        "missing": missing,
        "error": problem,
        "renovate": renovate_problem(state.src_path),
    }


def current_column(row: dict) -> str:
    current, version = row.get("current"), row.get("version")
    if not current:
        return "-"
    return current if not version or version == current else f"{current} ({version})"


def one_line(text: str) -> str:
    """A cell of the table: never more than one line, whatever a tool printed."""
    return " ".join(text.split())


def table(rows: list[dict]) -> str:
    header = (
        "repo",
        "branch",
        "current",
        "latest",
        "behind",
        "pending",
        "dirty",
        "missing",
        "template / error",
    )
    lines = [header]
    for row in rows:
        behind = row.get("behind")
        lines.append(
            (
                row["repo"],
                row.get("branch") or "-",
                current_column(row),
                row.get("latest") or "-",
                "?" if behind is None else str(behind),
                ", ".join(row.get("pending") or []) or "-",
                "yes" if row.get("dirty") else "no",
                ", ".join(row.get("missing") or []) or "-",
                one_line(row.get("error") or row.get("template", ""))
                + (" (Renovate cannot follow it)" if row.get("renovate") else ""),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goldenpath fleet status", description=__doc__.splitlines()[0]
    )
    add_repo_selection(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    repos = selected_repos(args)
    if not repos:
        cli.error("no repositories: give paths, --repos-file or --discover")
    rows = [repo_status(repo) for repo in repos]
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 1 if any(row.get("error") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
