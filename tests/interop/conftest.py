"""Real client libraries (confluent-kafka, kafka-python, aiokafka, Confluent's serdes) against Charter.

Every test here is marked ``slow``. The in-process broker fixtures are the
broker package's own.
"""

from __future__ import annotations

import pytest

from tests.broker.conftest import broker, broker_factory  # noqa: F401 - fixtures for this folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "interop" in item.path.parts:
            item.add_marker(pytest.mark.slow)
