"""The generated tier: a generated repo's own `make` targets (setup, train, test, lint, score,
updates across release tags), in environments shared per answer set (tests/conftest.py)."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this folder's tests with its tier (the hook sees every item: keep to our own)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.generated)


@pytest.fixture(scope="session", autouse=True)
def _compiled_once(shared_bytecode: None) -> None:
    """Every test of this tier installs generated repos: compile their libraries once first."""
