"""The cookiecutter entry point: the same repo as `copier copy` for the same answers, the same
validation messages, `--checkout <tag>`, and a baked repo that `copier update` can update."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.project import commit_all, git
from devkit.releases import NEW, OLD, tagged_template
from goldenpath.args import ANSWERS_FILE as ANSWERS
from goldenpath.render import render
from tools.golden import files_of, read_entry

ANSWERS_FILE = Path(ANSWERS)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A committed template repository with release tags (cookiecutter renders commits)."""
    return tagged_template(tmp_path_factory.mktemp("releases") / "template")


def tree(root: Path) -> dict[Path, str]:
    return {rel: read_entry(root / rel) for rel in files_of(root)}


def assert_same_repo(baked: Path, rendered: Path) -> None:
    """Every file equal; the answers file may differ only in _src_path (documented)."""
    mine, theirs = tree(baked), tree(rendered)
    assert sorted(mine) == sorted(theirs)
    for rel in mine:
        if rel == ANSWERS_FILE:
            a, b = (yaml.safe_load(x) for x in (mine[rel], theirs[rel]))
            a.pop("_src_path"), b.pop("_src_path")
            assert a == b
        else:
            assert mine[rel] == theirs[rel], f"{rel} differs between cookiecutter and copier"


def test_defaults_bake_the_copier_repo(cookies, template, tmp_path) -> None:
    result = cookies.bake(template=str(template))
    assert result.exit_code == 0, result.exception
    baked = Path(result.project_path)
    assert baked.name == "iris-classifier"
    render(tmp_path / "copier", src=template, vcs_ref=NEW)
    assert_same_repo(baked, tmp_path / "copier")
    answers = yaml.safe_load((baked / ANSWERS_FILE).read_text())
    assert answers["_src_path"] == str(template)
    assert answers["_commit"] == NEW  # the newest tag of the template
    assert not (baked / ".golden-path-placeholder").exists()


def test_without_checkout_the_newest_release_is_baked_not_the_unreleased_head(
    cookies, template, tmp_path
) -> None:
    """As `copier copy` does: a commit on the default branch after the newest release tag is not
    what a new repository gets until it is released."""
    ahead = tmp_path / "template"
    git(template, "clone", "--quiet", str(template), str(ahead))
    readme = ahead / "templates/model-service/README.md.jinja"
    readme.write_text(readme.read_text() + "\nAn unreleased line.\n")
    commit_all(ahead, "Unreleased change")
    result = cookies.bake(template=str(ahead))
    assert result.exit_code == 0, result.exception
    baked = Path(result.project_path)
    assert yaml.safe_load((baked / ANSWERS_FILE).read_text())["_commit"] == NEW
    assert "An unreleased line." not in (baked / "README.md").read_text()


def test_extra_context_bakes_the_same_as_copier_answers(cookies, template, tmp_path) -> None:
    answers = {
        "service_name": "fraud-scorer",
        "description": 'Scores payments: "risky" or not # really',
        "ci_provider": "gitlab",
        "python_version": "3.12",
        "slo_availability": "99.95",
        "min_replicas": "3",
    }
    result = cookies.bake(template=str(template), extra_context=answers)
    assert result.exit_code == 0, result.exception
    typed = {**answers, "slo_availability": 99.95, "min_replicas": 3}
    render(tmp_path / "copier", typed, src=template, vcs_ref=NEW)
    assert_same_repo(Path(result.project_path), tmp_path / "copier")
    recorded = yaml.safe_load((Path(result.project_path) / ANSWERS_FILE).read_text())
    assert recorded["max_replicas"] == 9 and recorded["k8s_namespace"] == "ml-platform"


INVALID = [
    # (question, as typed for cookiecutter, as copier types it)
    ("service_name", "Fraud_Scorer", "Fraud_Scorer"),
    ("min_replicas", "-1", -1),
    ("slo_availability", "100.5", 100.5),
    ("container_registry", "https://registry.example.com", "https://registry.example.com"),
]


@pytest.mark.parametrize(("question", "value", "typed"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_answers_are_rejected_with_the_copier_message(
    template, tmp_path, question, value, typed
) -> None:
    with pytest.raises(ValueError) as copier_error:
        render(tmp_path / "copier", {question: typed}, src=template, vcs_ref=NEW)
    copier_message = str(copier_error.value)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(tmp_path / "cc"),
            str(template),
            f"{question}={value}",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert copier_message in done.stderr, (copier_message, done.stderr[-2000:])
    assert not (tmp_path / "cc").exists() or not any((tmp_path / "cc").iterdir())


def test_checkout_a_tag_and_update_with_copier(template, tmp_path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--checkout",
            OLD,
            "--output-dir",
            str(tmp_path),
            str(template),
            "service_name=churn",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    repo = tmp_path / "churn"
    answers = yaml.safe_load((repo / ANSWERS_FILE).read_text())
    assert answers["_commit"] == OLD and answers["_src_path"] == str(template)
    assert (repo / "src/churn/train.py").exists(), "the v0.2.0 layout: no model contract yet"
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baked"],
    ):
        subprocess.run(["git", *command], cwd=repo, check=True)
    update = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", "--vcs-ref", NEW],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert update.returncode == 0, update.stderr
    assert yaml.safe_load((repo / ANSWERS_FILE).read_text())["_commit"] == NEW
    assert (repo / "src/churn/contract.py").exists() and not (repo / "src/churn/train.py").exists()
    assert (repo / "legacy/v0.2.0/src/churn/train.py").exists(), "the v0.3.0 migration ran"
