"""System tests: whole servers, fleets of clients, crashes, restarts, the installed wheel.

Everything in this folder is marked ``slow``: ``make test`` runs it, ``make test-fast`` leaves
it out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest hook sees every collected item, not only this folder's: filter by path.
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.slow)
