"""The documentation: the site builds in strict mode, every generated file is in the reference
table, and the tutorial's shell blocks run, in order, in a temporary folder."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tools.golden import files_of

from .support import containers
from .support.project import copy_project
from .support.releases import tagged_template
from .support.service import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GOLDEN_ANSWERS = "tests/golden/default/.copier-answers.yml"
BLOCK = re.compile(r"<!-- (run|not run: [^>]+) -->\n```sh\n(.*?)```", re.DOTALL)


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


def tutorial_blocks() -> list[tuple[str, str]]:
    text = (DOCS / "tutorial.md").read_text()
    blocks = BLOCK.findall(text)
    assert text.count("```sh") == len(blocks), (
        "every sh block needs <!-- run --> or <!-- not run: why -->"
    )
    return blocks


def test_every_block_is_marked() -> None:
    blocks = tutorial_blocks()
    assert sum(1 for mark, _ in blocks if mark == "run") >= 7
    for mark, _ in blocks:
        assert mark == "run" or len(mark) > len("not run: ") + 10, (
            "a not-run block needs its reason"
        )


@pytest.mark.generated_make
@pytest.mark.server
@pytest.mark.container
def test_tutorial_runs_as_written(tmp_path) -> None:
    base = containers.ensure_base_image()
    # A committed copy of the template: a render must name a revision a later update can find.
    template = tagged_template(tmp_path / "template")
    work = tmp_path / "work"
    work.mkdir()
    script = ["set -euo pipefail", f"cd {work}"]
    for mark, body in tutorial_blocks():
        if mark == "run":
            script.append(body)
    env = {
        **os.environ,
        "TEMPLATE": str(template),
        "PORT": str(free_port()),
        "BASE_IMAGE": base,
        "CONTAINERS_CONF": str(containers.containers_conf()),
    }
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], env=env, capture_output=True, text=True, timeout=900
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert '"model_version"' in done.stdout and "HTTP/1.1 200" in done.stdout
    assert '"petal_width_cm"],"msg":"Field required"' in done.stdout  # the 400 names the field
    assert done.stdout.count('"model_version"') >= 2  # the curl and `make request` predictions
    assert "SUCCESS" in output  # promtool
    with socket.socket() as probe:  # the tutorial stopped its server
        assert probe.connect_ex(("127.0.0.1", int(env["PORT"]))) != 0, "the server is still running"
    containers.remove_image("localhost/iris-classifier:tutorial")
