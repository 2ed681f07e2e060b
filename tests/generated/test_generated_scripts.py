"""The generated repo's own scripts and Makefile, run for real in a rendered repo: what a team
meets before its first commit, in `make help`, and when `make template-update` commits."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.project import commit_all, copy_project, git
from devkit.releases import copy_working_tree
from goldenpath import TEMPLATE_ROOT
from goldenpath.render import render


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """The default render, before `git init`: as `copier copy` leaves it."""
    return copy_project(tmp_path_factory.mktemp("fresh") / "iris-classifier")


def test_secret_scan_before_git_init_says_what_to_do(fresh) -> None:
    done = subprocess.run(
        [sys.executable, "scripts/scan_secrets.py"], cwd=fresh, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "not a git repository yet" in done.stderr and "git init" in done.stderr


def test_git_init_comes_first_in_the_quickstart_and_after_copy_message(fresh) -> None:
    readme = (fresh / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("```sh\n", 1)[1]
    assert quickstart.startswith("git init && git add -A && git commit")
    message = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())["_message_after_copy"]
    assert message.index("git init") < message.index("make setup")


def test_make_help_expands_variables_and_aligns_every_target(fresh) -> None:
    # --no-print-directory: under an outer `make test`, make announces the directory it enters.
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=fresh,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert "$(" not in done.stdout
    assert any(re.match(r"\s+serve\s+.*http://127\.0\.0\.1:3000", line) for line in lines)
    columns = {re.match(r"\s+\S+\s+", line).end() for line in lines}
    assert len(columns) == 1, f"descriptions start at columns {columns}:\n{done.stdout}"
    assert "deployment-record" in done.stdout


def test_python_version_file_names_the_answer(tmp_path, fresh) -> None:
    assert (fresh / ".python-version").read_text() == "3.11\n"
    other = copy_project(tmp_path / "other", python_version="3.12")
    assert (other / ".python-version").read_text() == "3.12\n"


def test_make_keeps_the_model_store_inside_the_repo_unless_told(fresh) -> None:
    show = ["make", "-s", "--eval", "where:\n\t@echo $$BENTOML_HOME", "where"]
    env = {k: v for k, v in os.environ.items() if k != "BENTOML_HOME"}
    mine = subprocess.run(show, cwd=fresh, env=env, capture_output=True, text=True, check=True)
    assert mine.stdout.strip() == str(fresh / "bentoml_home")
    told = subprocess.run(
        show, cwd=fresh, env={**env, "BENTOML_HOME": "/srv/models"}, capture_output=True, text=True
    )
    assert told.stdout.strip() == "/srv/models"
    assert "bentoml_home/" in (fresh / ".gitignore").read_text().splitlines()


def test_template_update_gives_the_bot_identity_to_its_commit_only(tmp_path) -> None:
    template = tmp_path / "template"
    copy_working_tree(template)
    commit_all(template, "Template")
    repo = render(tmp_path / "svc", src=template)
    commit_all(repo, "Scaffold")
    readme = template / "templates/model-service/README.md.jinja"
    readme.write_text(readme.read_text() + "\nA line the next template commit adds.\n")
    # A change of the served OpenAPI document (an endpoint's description): the script regenerates
    # docs/openapi.json, which copier never touches, into the update commit.
    service = template / "templates/model-service/src/{{ package_name }}/service.py.jinja"
    old_doc = "Predict one row: the request body is an object of named features."
    new_doc = "Predict one row from an object of named features."
    assert old_doc in service.read_text()
    service.write_text(service.read_text().replace(old_doc, new_doc))
    commit_all(template, "Template: one more README line, a new endpoint description")

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(
        ["sh", "scripts/template-update.sh"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "A line the next template commit adds." in (repo / "README.md").read_text()
    assert git(repo, "log", "-1", "--format=%an").startswith("golden-path-bot")
    assert "docs/openapi.json" in git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert new_doc in (repo / "docs" / "openapi.json").read_text()
    assert git(repo, "status", "--porcelain") == ""
    local = subprocess.run(
        ["git", "config", "--local", "--get-regexp", "^user\\."],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert local.stdout == "", f".git/config keeps an identity: {local.stdout}"
