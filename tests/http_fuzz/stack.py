"""A seeded app for the HTTP fuzz tests: registry subjects, catalog entities, a KEK and DEK,
and with auth on an admin, a low-privilege reader and a principal with no role at all."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from charter.app import create_app
from charter.config import Settings
from tests.ui.seed import seed_catalog

MAX_REQUEST_BYTES = 64 * 1024
KEK = {"name": "kek-1", "kmsType": "local-kms", "kmsKeyId": "local-kms://key-1"}
DEK = {"subject": "orders-value", "encryptedKeyMaterial": base64.b64encode(b"\x01" * 40).decode()}

# Examples per operation: moderate and derandomized by default (CI sees the same requests every
# run); CHARTER_FUZZ_EXAMPLES=500 for a long local run with fresh random data each time.
EXAMPLES = int(os.environ.get("CHARTER_FUZZ_EXAMPLES", "0")) or None
DERANDOMIZE = EXAMPLES is None


def examples(default: int) -> int:
    return EXAMPLES or default


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic("admin", "admin-password")
READER = basic("reader", "reader-password")
NOBODY = basic("nobody", "nobody-password")
PRINCIPALS = {"admin": ADMIN, "reader": READER, "nobody": NOBODY}


@contextmanager
def seeded_app(data_dir: Path, *, auth: bool = False, database_url: str = "") -> Iterator[Flask]:
    """The real app over a fresh database, seeded through its own API; stopped afterwards."""
    settings = Settings(
        data_dir=data_dir,
        auth=auth,
        auth_failure_limit=1_000_000,
        max_request_bytes=MAX_REQUEST_BYTES,
        **({"database_url": database_url} if database_url else {}),
    )
    app = create_app(settings)
    headers: dict[str, str] = {}
    if auth:
        security = app.extensions["charter.security"]
        security.bootstrap_admin("admin-password")
        for name in ("reader", "nobody"):
            security.create_user(name, f"{name}-password", actor="test")
        security.create_binding("User:reader", "DeveloperRead", "Subject:orders-*", actor="test")
        headers = ADMIN
    try:
        seed_catalog(app, headers)
        client = app.test_client()
        for path, body in (
            ("/dek-registry/v1/keks", KEK),
            ("/dek-registry/v1/keks/kek-1/deks", DEK),
        ):
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
        app.extensions["charter.catalog"].indexer.catch_up()
        yield app
    finally:
        app.extensions["charter.events"].stop()
        if auth:
            app.extensions["charter.security"].audit.stop()
        database = app.extensions["charter.database"]
        if not database.is_closed():
            database.close()
