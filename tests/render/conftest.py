"""The render tier: real copier renders of the template and static checks of the rendered files
(linters, the Helm engine, schemas, promtool on the rules); no generated environment is set up."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this folder's tests with its tier (the hook sees every item: keep to our own)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.render)
