"""`goldenpath fleet report`: the fleet on one page, for the platform team (JSON and HTML).

    goldenpath fleet report [REPO ...] [--repos-file FILE] [--discover DIR] --json PATH --html PATH

For every repository given (with --discover, every git repository below DIR, made from the
template or not): its service, owner, the template release its default branch is on, how many
releases behind it is, when the template last updated it, whether Renovate can deliver releases to
it, update branches waiting to be merged, the template-owned files the team changed or deleted,
and why it could not be read, if so. Then the fleet's figures: adoption, shares on the newest
release and within one release, median lag, Renovate coverage, policy results. The JSON follows
docs/reference/fleet-overview.schema.json; the HTML page needs no network. Each template release
is rendered once per run (per CI provider), not once per repository. Exits 0 when both files are
written, whatever the repositories' state; a repository that cannot be read is a row with the
reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from packaging.version import Version

from ...args import add_repo_selection, selected_repos
from .collect import SCHEMA_VERSION, collect, totals
from .page import render_page


def build_report(repos: list[Path], jobs: int = 4) -> dict:
    started = time.monotonic()
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rows, renders = collect(repos, jobs=jobs)
    newest = sorted({r["latest"] for r in rows if r["latest"]}, key=Version)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated": generated,
        "seconds": round(time.monotonic() - started, 3),
        "renders": renders,
        "newest_release": newest[-1] if newest else None,
        "totals": totals(rows),
        "repos": rows,
    }


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goldenpath fleet report", description=__doc__.splitlines()[0]
    )
    add_repo_selection(parser)
    parser.add_argument(
        "--json", type=Path, required=True, metavar="PATH", help="write the JSON report here"
    )
    parser.add_argument(
        "--html", type=Path, required=True, metavar="PATH", help="write the HTML page here"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=4,
        help="repositories read at once (git commands; renders run one at a time;"
        " default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    repos = selected_repos(args, git_repos=True)
    if not repos:
        cli.error("no repositories: give paths, --repos-file or --discover")
    if args.jobs < 1:
        cli.error("--jobs must be at least 1")
    report = build_report(repos, jobs=args.jobs)
    for path in (args.json, args.html):
        path.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    args.html.write_text(render_page(report))
    t = report["totals"]
    print(
        f"{t['repos']} repositories, {t['on_template']} on the template, {t['on_newest']} on the"
        f" newest release, {t['errors']} with a problem; {report['renders']} render(s) in"
        f" {report['seconds']} s: {args.json}, {args.html}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
