"""Test session set-up shared by every test of the template repository."""

import os
import sys
from pathlib import Path

# Generated repos call `uv` from their Makefile: use the one installed beside this interpreter.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
# uv installs a generated repo's environment without compiled bytecode (its default), and a machine
# may set PYTHONDONTWRITEBYTECODE: then every `make` target, server start and hook of every repo
# compiles the same libraries from source again (a third to a half of an import's CPU). Python
# keeps what it compiles in each environment instead.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import pytest

from devkit.answers import answer_sets
from devkit.environments import Environments
from devkit.project import copy_project

ANSWER_SETS = answer_sets()


@pytest.fixture(scope="session", params=sorted(ANSWER_SETS))
def rendered(request, tmp_path_factory) -> tuple[dict, Path]:
    """(answers, repo) for each answer set in tests/answers/, rendered once per session."""
    answers = ANSWER_SETS[request.param]
    return answers, copy_project(tmp_path_factory.mktemp(request.param) / "repo", **answers)


@pytest.fixture(scope="session")
def environments(tmp_path_factory, worker_id: str) -> Environments:
    """Generated environments shared by every test and every xdist worker of this run, one per
    distinct answer set (devkit/environments.py)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own base folder inside the run's: share the run's.
    return Environments((base if worker_id == "master" else base.parent) / "environments")


@pytest.fixture(scope="session")
def shared_bytecode(environments: Environments) -> None:
    """The generated lock's libraries compiled once into uv's cache for the whole run, before any
    generated repo installs them (devkit/bytecode.py). The generated and system tiers use it."""
    environments.share_bytecode()


# Heaviest tiers first: the two workers then finish together, instead of one idling while the other
# runs the last long module. The sort is stable, so a module's own order is kept.
TIER_ORDER = ("system", "generated", "render", "unit")
TESTS = Path(__file__).parent


# Within a tier, the modules with the longest single tests start first (measured with
# --durations): the tutorial, the framework matrix, the property test.
LONGEST_FIRST = ("test_tutorial.py", "test_frameworks.py", "test_answer_properties.py")


def tier_rank(item: pytest.Item) -> tuple[int, int]:
    folder = item.path.relative_to(TESTS).parts[0]
    tier = TIER_ORDER.index(folder) if folder in TIER_ORDER else len(TIER_ORDER)
    name = item.path.name
    return tier, LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def uses_a_module_fixture(item: pytest.Item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    if definitions is None:
        return False
    return any(
        defs and defs[-1].scope == "module" for defs in definitions.name2fixturedefs.values()
    )


# First: pytest-xdist's own hook reads the groups to name each test's group (`nodeid@group`).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=tier_rank)
    # Under `--dist loadgroup`, tests that share a module fixture (a tagged template, a trained
    # repo, a built image) run on one worker, so it is made once; every other test goes wherever
    # a worker is free.
    for item in items:
        if uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
