"""A throw-away template repository with real release tags, for update and fleet tests.

- v0.3.0 is the template as it is in this working tree (the model contract).
- v0.2.0 is the template exactly as released: the tree of the commit RELEASED records, taken from
  this repository's own history with `git archive`.
- v0.1.0 is v0.2.0 with the v0.2.0 standards changes of CHANGELOG.md reverted: team rules at
  monitoring/team-rules.yml, and the shorter drain (preStopSleepSeconds 5,
  terminationGracePeriodSeconds 30). v0.2.0 is frozen, so this revert never drifts.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from .project import commit_all, git

ROOT = Path(__file__).resolve().parents[2]
MODEL_SERVICE = Path("templates/model-service")
VALUES = MODEL_SERVICE / "deploy/helm/{{ service_name }}/values.yaml.jinja"
V1, V2, V3 = "v0.1.0", "v0.2.0", "v0.3.0"
# The commit of main each past release was made from (this repository has no tags of its own).
RELEASED = {V2: "e91bfc8b1f6ed9871e3ef88fe97a2ea5d9952255"}
# The update tests take a repository from the oldest release to the newest.
OLD, PREVIOUS, NEW = V1, V2, V3


def copy_working_tree(dst: Path) -> None:
    """Tracked and untracked-but-not-ignored files of this repository, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = Path(raw.decode())
        if rel.parts[:2] == ("tests", "golden"):
            continue
        source, target = ROOT / rel, dst / rel
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)


def copy_release(version: str, dst: Path) -> None:
    """The template tree of a past release, from the commit RELEASED records for it."""
    commit = RELEASED[version]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "copier.yml", "templates", "hooks", "src"],
        cwd=ROOT,
        capture_output=True,
    )
    assert archive.returncode == 0, (
        f"release {version} is commit {commit} of this repository's history, which this clone"
        f" lacks (a shallow clone?): {archive.stderr.decode()}"
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dst, filter="tar")


def clear(template: Path) -> None:
    for child in template.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def revert_to_v0_1_0(template: Path) -> None:
    rules = template / MODEL_SERVICE / "monitoring"
    (rules / "rules" / "team.yml").rename(rules / "team-rules.yml")
    copier_yml = template / "copier.yml"
    text = copier_yml.read_text().replace(
        "  - monitoring/rules/team.yml\n", "  - monitoring/team-rules.yml\n"
    )
    copier_yml.write_text(text)
    values = template / VALUES
    text = values.read_text()
    for old, new in (
        ("preStopSleepSeconds: 10", "preStopSleepSeconds: 5"),
        ("terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 30"),
    ):
        assert old in text, f"{VALUES} of {V2} has no {old!r}"
        text = text.replace(old, new)
    values.write_text(text)


def make_releases(dst: Path) -> Path:
    """A template repository at dst with tags v0.1.0, v0.2.0 and v0.3.0 (HEAD)."""
    dst.mkdir(parents=True)
    copy_release(V2, dst)
    revert_to_v0_1_0(dst)
    commit_all(dst, f"Release {V1}")
    git(dst, "tag", V1)
    clear(dst)
    copy_release(V2, dst)
    commit_all(dst, f"Release {V2}")
    git(dst, "tag", V2)
    clear(dst)
    copy_working_tree(dst)
    commit_all(dst, f"Release {V3}")
    git(dst, "tag", V3)
    return dst
