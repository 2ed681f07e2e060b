"""`goldenpath release tag`: the recorded releases become annotated tags in a clone, and nothing is
tagged when the record, the tree or the check disagree."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from devkit.project import commit_all, git
from devkit.releases import RENDERED, ROOT, copy_working_tree
from goldenpath.proc import run
from goldenpath.release import ReleaseError, changelog_section, parse_record, read_record

RECORD = read_record(ROOT)
NEWEST = Version(RECORD[-1].version)
# Versions after the newest recorded release, for records that must be refused.
PATCH = f"{NEWEST.major}.{NEWEST.minor}.{NEWEST.micro + 1}"
NEXT, AFTER, LATER = (f"{NEWEST.major}.{NEWEST.minor + n}.0" for n in (1, 2, 3))


def release_tag(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "goldenpath", "release", "tag", "--repo", str(clone), *args],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def clone(tmp_path) -> Path:
    dst = tmp_path / "template"
    # Without this checkout's tags (a platform engineer's clone holds the released ones): every
    # test starts from the record alone.
    git(ROOT, "clone", "--quiet", "--no-tags", str(ROOT), str(dst))
    (dst / "releases.toml").write_text((ROOT / "releases.toml").read_text())
    return dst


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "--list").split()


def record_entry(version: str, commit: str, date: str = RECORD[-1].date.isoformat()) -> str:
    return (
        f'\n[[release]]\nversion = "{version}"\ndate = {date}\ncommit = "{commit}"\n'
        'must_do = "nothing"\n'
    )


def test_tags_every_recorded_release_at_its_commit(clone, tmp_path) -> None:
    seen = tmp_path / "seen"
    done = release_tag(clone, "--check", f"git rev-parse HEAD >> {seen}")
    assert done.returncode == 0, done.stderr
    assert tags(clone) == [release.tag for release in RECORD]
    # The check ran once per release, in a tree at the release's commit.
    assert seen.read_text().split() == [release.commit for release in RECORD]
    for release in RECORD:
        assert git(clone, "rev-parse", f"{release.tag}^{{commit}}") == release.commit
        assert git(clone, "cat-file", "-t", release.tag) == "tag", "annotated, not lightweight"
        message = git(clone, "tag", "--list", "--format=%(contents)", release.tag)
        changelog = git(clone, "show", f"{release.commit}:CHANGELOG.md")
        assert changelog_section(changelog, release.version) in message
        assert release.must_do in message
    again = release_tag(clone, "--check", "false")
    assert again.returncode == 0 and "every recorded release is tagged" in again.stdout


def test_tags_are_the_same_objects_in_every_clone(clone, tmp_path) -> None:
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "--quiet", str(clone), str(other)], check=True)
    (other / "releases.toml").write_text((clone / "releases.toml").read_text())
    for repo in (clone, other):
        assert release_tag(repo, "--check", "").returncode == 0
    for release in RECORD:
        assert git(clone, "rev-parse", release.tag) == git(other, "rev-parse", release.tag)


def test_a_failing_check_tags_nothing(clone) -> None:
    done = release_tag(clone, "--check", "echo broken build; exit 3")
    assert done.returncode == 1
    assert f"{RECORD[0].tag}: `echo broken build; exit 3` failed" in done.stderr
    assert "broken build" in done.stderr
    assert tags(clone) == []


def test_a_refusal_shows_the_check_s_own_last_lines(clone) -> None:
    """A check that writes warnings to stderr (pip does) and then fails with a summary on stdout
    (pytest does): the refusal ends with the summary, in the order the check wrote it."""
    check = "for i in $(seq 30); do echo noise $i >&2; done; echo '1 failed, 9 passed'; exit 1"
    done = release_tag(clone, "--check", check)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].strip() == "1 failed, 9 passed", done.stderr
    assert "noise 30" in done.stderr and "noise 1\n" not in done.stderr, "only the last lines"
    assert tags(clone) == []


def test_dry_run_tags_nothing(clone) -> None:
    done = release_tag(clone, "--check", "", "--dry-run")
    assert done.returncode == 0 and "would create: v" in done.stdout
    assert tags(clone) == []


def test_a_commit_that_is_not_there_is_refused(clone) -> None:
    record = clone / "releases.toml"
    record.write_text(record.read_text() + record_entry(LATER, "0" * 40))
    done = release_tag(clone, "--check", "")
    assert done.returncode == 1
    assert "the record and the tree disagree" in done.stderr
    assert f"v{LATER}: commit {'0' * 40} is not in this clone" in done.stderr
    assert tags(clone) == [], "nothing is tagged when one release disagrees"


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        (PATCH, f"has no '## v{PATCH}' section"),
        (NEXT, f"is newer: its first section is v{AFTER}"),
        (AFTER, f"has a v{LATER} migration"),
        (AFTER, "has an '## Unreleased' section"),
    ],
)
def test_a_tree_that_is_not_the_release_is_refused(clone, version, reason) -> None:
    """A commit whose CHANGELOG lacks the version, or already describes a later release, or whose
    copier.yml carries a later release's migration, is not that release."""
    changelog = clone / "CHANGELOG.md"
    newest = f"## {RECORD[-1].tag}"
    changelog.write_text(
        changelog.read_text().replace(
            newest, f"## v{AFTER}\n\nLater.\n\n## v{NEXT}\n\nSoon.\n\n{newest}", 1
        )
    )
    changelog.write_text(
        changelog.read_text().replace(f"## v{AFTER}", f"## Unreleased\n\nNext.\n\n## v{AFTER}", 1)
    )
    copier_yml = clone / "copier.yml"
    copier_yml.write_text(
        copier_yml.read_text().replace(
            "_migrations:\n", f"_migrations:\n  - version: v{LATER}\n    command: [echo]\n", 1
        )
    )
    commit_all(clone, "Changes of later releases")
    record = clone / "releases.toml"
    record.write_text(record.read_text() + record_entry(version, git(clone, "rev-parse", "HEAD")))
    done = release_tag(clone, "--check", "")
    assert done.returncode == 1
    assert f"v{version}: " in done.stderr and reason in done.stderr, done.stderr
    assert tags(clone) == []


def test_a_tag_that_points_elsewhere_is_refused(clone) -> None:
    git(clone, "tag", RECORD[0].tag, "HEAD")
    done = release_tag(clone, "--check", "")
    assert done.returncode == 1
    assert f"tag {RECORD[0].tag} already points at" in done.stderr
    assert tags(clone) == [RECORD[0].tag]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "records no [[release]]"),
        ('[[release]]\nversion = "0.2"\n', "lacks date, commit, must_do"),
        (record_entry("v0.2.0", "a" * 40), "write version 'v0.2.0' as '0.2.0'"),
        (record_entry("0.2.0", "abc1234"), "is not a full 40-hex sha"),
        (record_entry("0.2.0", "a" * 40, '"yesterday"'), "is not a TOML date"),
        (record_entry("0.3.0", "a" * 40) + record_entry("0.2.0", "b" * 40), "is not newer than"),
        ("[[release]\n", "is not valid TOML"),
    ],
)
def test_the_record_is_checked(text, message) -> None:
    with pytest.raises(ReleaseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_record(text)


def test_the_record_matches_the_changelog() -> None:
    """Every recorded release has its CHANGELOG section in this tree too (what users read)."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    for release in RECORD:
        assert changelog_section(changelog, release.version), release.tag


def test_the_release_tests_pass_in_a_clone_that_holds_the_release_tags(tmp_path) -> None:
    """A platform engineer cuts the next release from a clone that already has every released
    tag: the default check's tests must not assume a clone without them."""
    clone = tmp_path / "tagged"
    git(ROOT, "clone", "--quiet", str(ROOT), str(clone))
    copy_working_tree(clone)  # the tests as they are now, uncommitted changes included
    assert release_tag(clone, "--check", "").returncode == 0
    assert set(tags(clone)) >= {release.tag for release in RECORD}
    this = "tests/unit/test_release.py::test_the_release_tests_pass_in_a_clone_that_holds"
    inner = [sys.executable, "-m", "pytest", "tests/unit/test_release.py", "-n", "0", "-q"]
    inner += ["-p", "no:cacheprovider", "--deselect", f"{this}_the_release_tags"]
    done = run(inner, cwd=clone, echo=False, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout, done.stdout[-3000:]


def test_main_describes_the_newest_release_or_says_what_is_unreleased() -> None:
    """What copier renders equals the newest recorded release; when it does not (a change on its
    way to a release), the CHANGELOG's newest section is `## Unreleased`."""
    newest = RECORD[-1]
    changed = run(
        ["git", "diff", "--name-only", newest.commit, "--", *RENDERED], cwd=ROOT, echo=False
    ).stdout.split()
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert not changed or headings[0] == "Unreleased", (
        f"{', '.join(changed)} changed since {newest.tag} and the CHANGELOG has no Unreleased"
        " section: release it (docs/how-to/author-a-template-change.md) or mark it unreleased"
    )
