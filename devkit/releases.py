"""A clone of this template repository with its real release tags, for update and fleet tests.

Every release that releases.toml records is tagged at its commit by `goldenpath release tag`, as
the platform team does. When the working tree differs from the newest release in what copier
renders (copier.yml, templates/, hooks/, the cookiecutter entry), it is committed on top and tagged
as the candidate: the newest release with its minor version bumped; otherwise HEAD is the newest
release. So the tests take repositories from real past
releases to the template as it is now, and never reconstruct a past release.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from packaging.version import Version

from devkit import ROOT
from devkit.project import commit_all, git
from goldenpath.proc import run
from goldenpath.release import read_record, tag_releases

RENDERED = (
    "copier.yml",
    "templates",
    "hooks",
    "cookiecutter.json",
    "{{cookiecutter.service_name}}",
)
RELEASES = [release.tag for release in read_record(ROOT)]


def _working_tree_is_released() -> bool:
    newest = read_record(ROOT)[-1].commit
    changed = run(
        ["git", "diff", "--quiet", newest, "--", *RENDERED], cwd=ROOT, echo=False, check=False
    )
    untracked = git(ROOT, "ls-files", "--others", "--exclude-standard", "--", *RENDERED)
    return changed.returncode == 0 and not untracked


def _candidate() -> str | None:
    if _working_tree_is_released():
        return None
    newest = Version(RELEASES[-1])
    return f"v{newest.major}.{newest.minor + 1}.0"


CANDIDATE = _candidate()
TAGS = [*RELEASES, CANDIDATE] if CANDIDATE else RELEASES
# The update tests take a repository from the oldest release, or the one before the newest, to
# the newest (the candidate when the working tree has unreleased changes).
OLD, PREVIOUS, NEW = TAGS[0], TAGS[-2], TAGS[-1]


def copy_working_tree(dst: Path) -> None:
    """Tracked and untracked-but-not-ignored files of this repository, as they are now."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        rel = Path(name)
        if rel.parts[:2] == ("tests", "golden"):
            continue
        source, target = ROOT / rel, dst / rel
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.unlink(missing_ok=True)  # dst may be a checkout already
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)


def tagged_template(dst: Path) -> Path:
    """A clone of this repository at dst with every recorded release tagged; HEAD is the working
    tree (tagged CANDIDATE) when it has unreleased template changes, else the newest release."""
    # Without the checkout's own tags: the record makes them, the same in every clone.
    git(ROOT, "clone", "--quiet", "--no-tags", str(ROOT), str(dst))
    for child in dst.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    copy_working_tree(dst)
    if git(dst, "status", "--porcelain"):
        commit_all(dst, "The working tree under test")
    # Each release's own CI ran its tests at its commit; this run's suite is the candidate's check.
    tag_releases(dst, check=None)
    if CANDIDATE:
        git(dst, "tag", "--annotate", "--message", f"{CANDIDATE}: the working tree", CANDIDATE)
    else:  # nothing rendered changed since the newest release: HEAD is that release
        git(dst, "reset", "--hard", "--quiet", NEW)
    return dst
