"""A throw-away template repository with real release tags, for update and fleet tests.

v0.2.0 is the template as it is in this working tree. v0.1.0 is the same tree with the v0.2.0
standards changes of CHANGELOG.md reverted: team rules at monitoring/team-rules.yml, and the
shorter drain (preStopSleepSeconds 5, terminationGracePeriodSeconds 30).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .project import commit_all, git

ROOT = Path(__file__).resolve().parents[2]
MODEL_SERVICE = Path("templates/model-service")
VALUES = MODEL_SERVICE / "deploy/helm/{{ service_name }}/values.yaml.jinja"
OLD, NEW = "v0.1.0", "v0.2.0"


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
        assert old in text, f"{VALUES} no longer has {old!r}: update tests/support/releases.py"
        text = text.replace(old, new)
    values.write_text(text)


def make_releases(dst: Path) -> Path:
    """A template repository at dst with tags v0.1.0 and v0.2.0 (HEAD)."""
    copy_working_tree(dst)
    current = {p: p.read_bytes() for p in [dst / VALUES, dst / "copier.yml"]}
    revert_to_v0_1_0(dst)
    commit_all(dst, "Release v0.1.0")
    git(dst, "tag", OLD)
    (dst / MODEL_SERVICE / "monitoring" / "team-rules.yml").rename(
        dst / MODEL_SERVICE / "monitoring" / "rules" / "team.yml"
    )
    for path, content in current.items():
        path.write_bytes(content)
    commit_all(dst, "Release v0.2.0")
    git(dst, "tag", NEW)
    return dst
