"""Real client libraries (confluent-kafka, kafka-python, aiokafka, Confluent's serdes) against Charter.

Every test here is marked ``slow``. The in-process broker fixtures are the
broker package's own.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.broker.conftest import broker, broker_factory  # noqa: F401 - fixtures for this folder
from tests.install_lock import installing

JS_DIR = Path(__file__).resolve().parent / "js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "interop" in item.path.parts:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def kafkajs_installed() -> Path:
    """tests/interop/js with kafkajs installed (``npm ci`` once); skipped without node/npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the kafkajs interop test needs them")
    with installing("npm"):  # one npm at a time, whichever test process asks first
        if not (JS_DIR / "node_modules" / "kafkajs").is_dir():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=JS_DIR,
                check=True,
                capture_output=True,
                timeout=300,
            )
    return JS_DIR
