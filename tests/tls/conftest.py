"""A security service over a fresh SQLite database, per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from charter.compose import open_migrated_database
from charter.config import Settings
from charter.security import security_service
from governance.security.service import SecurityService


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SecurityService]:
    settings = Settings(data_dir=tmp_path, auth=True, auth_failure_limit=3)
    database = open_migrated_database(settings)
    security = security_service(settings, database)
    yield security
    security.audit.stop()
    security.authorizer.stop()
    database.close()
