"""`goldenpath verify` and `fleet status` flag a `_src_path` Renovate's copier manager cannot follow
(tests/test_renovate.py shows the real Renovate ignoring a filesystem path)."""

import json
import shutil
from pathlib import Path

import pytest

from devkit.project import commit_all, goldenpath
from goldenpath import TEMPLATE_ROOT
from goldenpath.sources import renovate_problem
from goldenpath.verify import warnings
from tools.golden import GOLDEN


@pytest.mark.parametrize(
    "src_path",
    [
        "https://github.com/acme/golden-path.git",
        "git+https://git.example.com/platform/golden-path",
        "ssh://git@git.example.com/platform/golden-path.git",
        "git+ssh://git@git.example.com/platform/golden-path.git",
        "git@github.com:acme/golden-path.git",
        "file:///srv/templates/golden-path.git",
    ],
)
def test_urls_renovate_follows(src_path) -> None:
    assert renovate_problem(src_path) is None


@pytest.mark.parametrize(
    ("src_path", "says"),
    [
        ("/srv/templates/golden-path", "is a filesystem path"),
        ("../golden-path", "is a filesystem path"),
        ("~/golden-path", "is a filesystem path"),
        ("C:/templates/golden-path", "is a filesystem path"),
        ("gh:acme/golden-path", "https://github.com/acme/golden-path.git"),
        ("gl:acme/golden-path", "https://gitlab.com/acme/golden-path.git"),
        ("ftp://example.com/golden-path", "uses ftp://"),
    ],
)
def test_sources_renovate_cannot_follow_are_named(src_path, says) -> None:
    problem = renovate_problem(src_path)
    assert problem and repr(src_path) in problem and says in problem, problem


def repo_with_source(dst: Path, src_path: str) -> Path:
    """The golden render (default answers) as a committed repo whose answers name src_path."""
    shutil.copytree(GOLDEN, dst, symlinks=True)
    answers = dst / ".copier-answers.yml"
    text = answers.read_text().replace("<template source>", src_path)
    answers.write_text(text.replace("<template commit>", "v0.2.0"))
    commit_all(dst, "Scaffold")
    return dst


def test_verify_and_fleet_status_flag_a_path_source(tmp_path) -> None:
    path = repo_with_source(tmp_path / "by-path", str(TEMPLATE_ROOT))
    url = repo_with_source(tmp_path / "by-url", f"file://{TEMPLATE_ROOT}")

    flagged = goldenpath("verify", str(path))
    assert f"WARN .copier-answers.yml: _src_path '{TEMPLATE_ROOT}' is a filesystem path" in (
        flagged.stdout
    )
    assert "meets the standards" in flagged.stdout, "a warning does not fail verification"
    assert warnings(url) == []  # the same function, without the minute of chart and rule checks

    status = goldenpath("fleet", "status", "--json", str(path), str(url))
    rows = {Path(row["repo"]).name: row for row in json.loads(status.stdout)}
    assert "filesystem path" in rows["by-path"]["renovate"]
    assert rows["by-url"]["renovate"] is None
    table = goldenpath("fleet", "status", str(path), str(url)).stdout
    assert "Renovate cannot follow" in table
