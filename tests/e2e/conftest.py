"""End-to-end tests: Charter's own processes (``charter up``, ``serve http|broker``) as a user runs them.

Every test here is marked ``slow``.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.slow)
