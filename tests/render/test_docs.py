"""The documentation: the site builds in strict mode, every generated file is in the reference
table, and every shell block of the tutorial is marked as run or not (tests/system/test_tutorial.py
runs them)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.project import copy_project
from devkit.tutorial import tutorial_blocks
from tools.golden import files_of

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GOLDEN_ANSWERS = "tests/golden/default/.copier-answers.yml"


def test_site_builds_in_strict_mode(tmp_path) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "mkdocs"),
            "build",
            "--strict",
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()
    assert (tmp_path / "site" / "assets" / "golden-path.svg").is_file()


def test_questions_tables_are_generated_from_copier_yml(tmp_path) -> None:
    script = [sys.executable, "-m", "tools.questions", "--check"]
    done = subprocess.run(script, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    # A copy whose README restates a rule by hand (the old "from 90") is caught, naming the file.
    for name in ("copier.yml", "README.md", "docs/reference/questions.md", GOLDEN_ANSWERS):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("from 95 up to", "from 90 up to", 1))
    done = subprocess.run(
        [*script, "--root", str(tmp_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 1
    assert "README.md" in done.stderr and "docs/reference" not in done.stderr


def generated_files_table() -> set[str]:
    text = (DOCS / "reference" / "generated-files.md").read_text()
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))


def ownership_column() -> dict[str, str]:
    """Each row of the generated-files table: its path and its owner (template, team, or copier
    for the answers file)."""
    text = (DOCS / "reference" / "generated-files.md").read_text()
    owner = r"(template|team|copier)"
    rows = re.findall(rf"^\| `([^`]+)` \|.*\| {owner} \|[^|]*\|$", text, flags=re.MULTILINE)
    return dict(rows)


def test_team_owned_rows_are_what_copier_yml_never_updates() -> None:
    skipped = yaml.safe_load((ROOT / "copier.yml").read_text())["_skip_if_exists"]
    skipped = {path.replace("{{ package_name }}", "<package>") for path in skipped}
    owners = ownership_column()
    assert set(owners) == generated_files_table(), "a row without its owner column"
    team = {path for path, owner in owners.items() if owner == "team"}
    assert team == skipped, (
        f"team rows not in _skip_if_exists: {sorted(team - skipped)}; "
        f"_skip_if_exists without a team row: {sorted(skipped - team)}"
    )


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_every_generated_file_is_documented(tmp_path, provider) -> None:
    repo = copy_project(tmp_path / "repo", ci_provider=provider)
    documented = {
        row.replace("<service>", "iris-classifier").replace("<package>", "iris_classifier")
        for row in generated_files_table()
    }
    rendered = {str(rel) for rel in files_of(repo)}
    assert rendered - documented == set(), "generated but not in docs/reference/generated-files.md"
    if provider == "github":
        other_provider = {".gitlab-ci.yml"}
    else:
        other_provider = {row for row in documented if row.startswith(".github/")}
    assert documented - rendered == other_provider, "documented but not generated"


def test_every_block_is_marked() -> None:
    blocks = tutorial_blocks()
    assert sum(1 for mark, _ in blocks if mark == "run") >= 7
    for mark, _ in blocks:
        assert mark == "run" or len(mark) > len("not run: ") + 10, (
            "a not-run block needs its reason"
        )
