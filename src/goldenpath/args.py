"""Argument helpers shared by the subcommands: how a command is told which repos to work on."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .answers import ANSWERS_FILE


def add_repo_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repos", nargs="*", type=Path, help="service repositories (paths)")
    parser.add_argument(
        "--repos-file", type=Path, help="a file with one repository path per line (# comments)"
    )
    parser.add_argument(
        "--discover",
        type=Path,
        metavar="DIR",
        help=f"every repository below DIR that has a {ANSWERS_FILE}",
    )


def selected_repos(args: argparse.Namespace, git_repos: bool = False) -> list[Path]:
    """The repositories named on the command line, in a file, or discovered (with git_repos,
    every git repository too, made from the template or not); de-duplicated."""
    repos: list[Path] = list(args.repos)
    if args.repos_file:
        for line in args.repos_file.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                repos.append(Path(line))
    if args.discover:
        repos += discover(args.discover, git_repos)
    seen: dict[Path, None] = {}
    for repo in repos:
        seen.setdefault(repo.resolve(), None)
    return list(seen)


def discover(root: Path, git_repos: bool = False) -> list[Path]:
    """Every folder below root holding an answers file (with git_repos, or a `.git`: a git
    repository, whose folders are not searched further); symlinked folders are followed (once)."""
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        is_git = ".git" in dirs or ".git" in files
        dirs[:] = [] if git_repos and is_git else sorted(d for d in dirs if d != ".git")
        if ANSWERS_FILE in files or (git_repos and is_git):
            found.append(Path(folder))
    return sorted(found)
