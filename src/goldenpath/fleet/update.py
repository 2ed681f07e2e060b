"""`goldenpath fleet update`: take a template release into many service repositories at once.

    goldenpath fleet update [REPO ...] [--repos-file FILE] [--discover DIR]
        [--to REF] [--jobs N] [--dry-run] [--branch NAME] [--check CMD]
        [--push local|github] [--json] [--report FILE]

For each repository, in a throw-away clone of its default branch (origin's HEAD, else main or
master), on a new branch, run `copier update` with the saved answers, then classify the result:

  up_to_date    already at the target release (or the update changed nothing)
  pending       the update branch already exists, waiting to be merged: nothing done
  updated       clean update, committed on the branch with a provenance trailer, fetched back into
                the repository (not with --dry-run), then published
  conflicts     copier left conflicts (unmerged files, conflict markers or .rej files): listed,
                nothing fetched back
  check_failed  --check CMD failed on the updated tree: nothing fetched back
  failed        the update could not run (dirty tree, no answers file, copier error): the reason

The repository's working tree and its branches are never touched: it only gains the update
branch. The run ends with a summary grouped by outcome and exits 1 when any repository conflicted
or failed. `--json` prints the report (schema: goldenpath/fleet/report.schema.json, documented in
docs/reference/fleet-report.md).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..args import add_repo_selection, selected_repos
from ..proc import CommandError, git, run
from .pushers import GitHubPullRequestPusher, LocalBranchPusher, PublishError, Pusher
from .repos import NotAServiceRepo, read_state, release_versions

OUTCOMES = ("up_to_date", "pending", "updated", "conflicts", "check_failed", "failed")
FAILING = {"conflicts", "check_failed", "failed"}
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Settings:
    to: str | None = None
    branch: str | None = None
    check: str | None = None
    dry_run: bool = False
    pusher: Pusher = field(default_factory=LocalBranchPusher)


@dataclass
class Outcome:
    """What happened to one repository: one entry of the report."""

    repo: Path
    outcome: str = "failed"
    from_: str | None = None
    to: str | None = None
    branch: str | None = None
    files: list[str] = field(default_factory=list)
    reason: str | None = None
    commit: str | None = None
    published: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """The report's entry (goldenpath/fleet/report.schema.json)."""
        entry = {name.rstrip("_"): value for name, value in asdict(self).items()}
        return {**entry, "repo": str(self.repo)}


def conflicted_files(repo: Path) -> list[str]:
    """Files copier could not merge: unmerged index entries, conflict markers, .rej files."""
    unmerged = set(git(repo, "diff", "--name-only", "--diff-filter=U").splitlines())
    changed = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    paths = {line[3:].split(" -> ")[-1] for line in changed}
    found = set(unmerged)
    for path in paths:
        full = repo / path
        if path.endswith(".rej"):
            found.add(path)
        elif full.is_file() and not full.is_symlink():
            try:
                text = full.read_text()
            except (UnicodeDecodeError, OSError):
                continue
            if any(f"\n{m}" in f"\n{text}" for m in CONFLICT_MARKERS):
                found.add(path)
    return sorted(found)


def staged_files(repo: Path) -> list[str]:
    """Every path the staged change touches, one per file: both sides of a move (a migration
    moves files to legacy/), the files inside a new folder."""
    return sorted(git(repo, "diff", "--cached", "--name-only", "--no-renames").splitlines())


@contextlib.contextmanager
def stdout_to_stderr():
    """Send what copier and its migrations print to stderr, keeping stdout for the report."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_copier_update(repo: Path, target: str) -> None:
    import copier  # imported in the worker process

    with stdout_to_stderr():
        copier.run_update(
            dst_path=str(repo),
            vcs_ref=target,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            unsafe=True,
            quiet=True,
            conflict="inline",
            context_lines=3,
        )


def commit_message(current: str, target: str, src: str) -> str:
    return (
        f"Update the golden-path template from {current} to {target}\n\n"
        f"Template-Update: {current} -> {target}\n"
        f"Template-Source: {src}\n"
        "Updated-By: goldenpath fleet update\n"
    )


def update_repo(repo: Path, settings: Settings) -> Outcome:
    """Update one repository, timed; never raises."""
    started = time.monotonic()
    outcome = Outcome(repo)
    with tempfile.TemporaryDirectory(prefix="goldenpath-update-") as scratch:
        try:
            _update(repo, settings, outcome, Path(scratch) / repo.name)
        except CommandError as error:
            outcome.outcome, outcome.reason = "failed", error.brief
    outcome.seconds = round(time.monotonic() - started, 3)
    return outcome


def _update(repo: Path, settings: Settings, outcome: Outcome, work: Path) -> None:
    """As all-repos does: clone, update, check and commit in the clone `work`; on success fetch
    the branch back into repo (not with --dry-run) and publish it. The repository's working tree
    and its branches are never touched until the branch is fetched, so every exit leaves it as it
    was; outcome is filled in as the steps go."""
    try:
        state = read_state(repo)
    except NotAServiceRepo as error:
        outcome.reason = str(error)
        return
    if state.dirty:
        outcome.reason = "uncommitted changes: commit or stash first"
        return
    if state.branch == "HEAD":
        outcome.reason = "detached HEAD: check out a branch first"
        return
    try:
        target = settings.to or (release_versions(state.src_path) or [None])[-1]
    except CommandError as error:
        outcome.reason = f"template source unreachable: {error.brief}"
        return
    if not target:
        outcome.reason = "the template has no release tags: use --to"
        return
    outcome.from_, outcome.to = state.current, target
    if state.current == target:
        outcome.outcome = "up_to_date"
        return
    # Flat (no '/'): a team's own `template-update` branch cannot block the ref, as it would
    # block `template-update/<release>`.
    branch = settings.branch or f"template-update-{target}"
    outcome.branch = branch
    if git(repo, "branch", "--list", branch):
        outcome.outcome = "pending"
        outcome.reason = f"{branch} is waiting to be merged (merge or delete it to update again)"
        return
    git(repo, "clone", "--quiet", "--branch", state.branch, str(repo), str(work))
    git(work, "checkout", "--quiet", "-b", branch)
    try:
        run_copier_update(work, target)
    except Exception as error:  # copier raises many kinds; all mean "could not update"
        reason = " ".join(f"copier update failed: {type(error).__name__}: {error}".split())
        outcome.reason = reason[:500]
        return
    conflicts = conflicted_files(work)
    if conflicts:
        outcome.outcome, outcome.files = "conflicts", conflicts
        outcome.reason = "copier could not merge these: docs/how-to/take-a-template-update.md"
        return
    # The update's changes, new files included, are staged before the check; after it, only the
    # check's changes to tracked files are (regenerated documents such as `make openapi`'s), so
    # build output it leaves behind is never committed.
    git(work, "add", "-A")
    outcome.files = staged_files(work)
    if not outcome.files:
        outcome.outcome, outcome.branch = "up_to_date", None
        return
    if settings.check:
        done = run(["sh", "-c", settings.check], cwd=work, echo=False, check=False)
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-20:]
            outcome.outcome = "check_failed"
            outcome.reason = f"`{settings.check}` exited {done.returncode}: " + "\n".join(tail)
            return
        git(work, "add", "-u")
        outcome.files = sorted(set(outcome.files) | set(staged_files(work)))
    message = commit_message(state.current, target, state.src_path)
    git(work, "commit", "--quiet", "-m", message)
    commit = git(work, "rev-parse", "HEAD")
    if not settings.dry_run:
        git(repo, "fetch", "--quiet", str(work), f"refs/heads/{branch}:refs/heads/{branch}")
    outcome.outcome, outcome.commit = "updated", commit
    if settings.dry_run:
        return
    try:
        outcome.published = settings.pusher.publish(
            repo, branch, state.branch, message.splitlines()[0], message
        )
    except (PublishError, CommandError) as error:
        outcome.outcome = "failed"
        outcome.reason = f"updated on {branch}, but publishing failed: {brief(error)}"


def brief(error: Exception) -> str:
    """One line for a report: a failed command's brief, or the error's text on one line."""
    return error.brief if isinstance(error, CommandError) else " ".join(str(error).split())


class Progress:
    """One line per repository as it finishes, on stderr; a bar below them on a terminal."""

    def __init__(self, total: int, stream=None) -> None:
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.bar = self.stream.isatty()

    def __call__(self, entry: Outcome) -> None:
        self.done += 1
        line = f"[{self.done}/{self.total}] {entry.repo}: {entry.outcome}"
        if entry.outcome in FAILING and entry.reason:
            line += f" ({entry.reason.splitlines()[0]})"
        if self.bar:
            width = 30
            filled = width * self.done // self.total
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            line = f"\r\x1b[K{line}\n{bar}"
            if self.done == self.total:
                line += "\n"
        else:
            line += "\n"
        self.stream.write(line)
        self.stream.flush()


def run_fleet(repos: list[Path], settings: Settings, jobs: int, progress=None) -> list[Outcome]:
    """Update every repo, `jobs` at a time (separate processes: copier changes the working dir);
    `progress` is called with each result as its repository finishes."""
    progress = progress or (lambda entry: None)
    if jobs <= 1 or len(repos) <= 1:
        results = []
        for repo in repos:
            results.append(update_repo(repo, settings))
            progress(results[-1])
        return results
    # Copier keeps one mirror of a URL source in its cache and refreshes it on every update; two
    # processes doing that at once race on the mirror's git locks. Each worker gets its own.
    caches = tempfile.TemporaryDirectory(prefix="goldenpath-copier-cache-")
    pool = ProcessPoolExecutor(
        max_workers=jobs, initializer=own_copier_cache, initargs=(caches.name,)
    )
    with caches, pool:
        futures = {pool.submit(update_repo, repo, settings): repo for repo in repos}
        for future in as_completed(futures):
            progress(future.result())
        return [future.result() for future in futures]


def own_copier_cache(parent: str) -> None:
    """In a worker process: copier's mirror cache in a folder of this process's own."""
    os.environ["COPIER_CACHE_DIR"] = tempfile.mkdtemp(prefix="worker-", dir=parent)


def report(results: list[Outcome], settings: Settings, started_at: str, seconds: float) -> dict:
    counts = Counter(r.outcome for r in results)
    return {
        "schema_version": SCHEMA_VERSION,
        "started": started_at,
        "seconds": round(seconds, 3),
        "target": settings.to,
        "dry_run": settings.dry_run,
        "counts": {outcome: counts.get(outcome, 0) for outcome in OUTCOMES},
        "repos": [r.as_dict() for r in results],
    }


def summary(results: list[Outcome]) -> str:
    lines = []
    for outcome in OUTCOMES:
        group = [r for r in results if r.outcome == outcome]
        if not group:
            continue
        lines.append(f"{outcome} ({len(group)}):")
        for r in group:
            detail = {
                "updated": f"{r.from_} -> {r.to} on {r.branch} ({r.published or 'dry run'})",
                "up_to_date": f"at {r.to or r.from_}",
                "pending": f"{r.branch} is waiting to be merged",
                "conflicts": "conflicts in " + ", ".join(r.files),
            }.get(outcome, r.reason or "")
            lines.append(f"  {r.repo}: {detail}")
    return "\n".join(lines)


def make_pusher(args: argparse.Namespace) -> Pusher:
    if args.push == "github":
        return GitHubPullRequestPusher(
            api_url=args.github_api, remote=args.remote, repository=args.github_repo
        )
    return LocalBranchPusher()


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="goldenpath fleet update", description=__doc__.splitlines()[0]
    )
    add_repo_selection(parser)
    parser.add_argument("--to", help="template ref to update to (default: its newest release tag)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="repositories updated at once (default: %(default)s)"
    )
    parser.add_argument("--dry-run", action="store_true", help="update throw-away clones only")
    parser.add_argument("--branch", help="update branch name (default: template-update-<ref>)")
    parser.add_argument("--check", metavar="CMD", help="shell command that must pass on the update")
    parser.add_argument(
        "--push",
        choices=("local", "github"),
        default="local",
        help="where each update branch goes: local keeps it in the repository; github pushes it"
        " to --remote and opens a pull request, with GITHUB_TOKEN (default: %(default)s)",
    )
    parser.add_argument(
        "--github-api",
        default="https://api.github.com",
        metavar="URL",
        help="GitHub's REST API, for GitHub Enterprise (with --push github; default: %(default)s)",
    )
    parser.add_argument(
        "--github-repo", help="owner/name (with --push github; default: from the remote's URL)"
    )
    parser.add_argument(
        "--remote",
        default="origin",
        help="the git remote the branch is pushed to (with --push github; default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    parser.add_argument("--report", type=Path, help="also write the JSON report to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    repos = selected_repos(args)
    if not repos:
        cli.error("no repositories: give paths, --repos-file or --discover")
    if args.jobs < 1:
        cli.error("--jobs must be at least 1")
    if (
        args.branch
        and run(
            ["git", "check-ref-format", "--branch", args.branch], echo=False, check=False
        ).returncode
    ):
        cli.error(f"--branch {args.branch!r} is not a valid git branch name")
    settings = Settings(
        to=args.to,
        branch=args.branch,
        check=args.check,
        dry_run=args.dry_run,
        pusher=make_pusher(args),
    )
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    results = run_fleet(repos, settings, args.jobs, progress=Progress(len(repos)))
    full = report(results, settings, started_at, time.monotonic() - started)
    text = json.dumps(full, indent=2)
    if args.report:
        args.report.write_text(text + "\n")
    print(summary(results), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(text)
    return 1 if any(r.outcome in FAILING for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
