"""A ``charter up --auth`` with known users and role bindings, for the client tests.

Users are made through the security service on the database before the
processes start (so both tiers load them at start):

- ``admin`` (SystemAdmin, the bootstrap user, password from CHARTER_ADMIN_PASSWORD);
- ``alice``: ResourceOwner on ``Topic:orders-*`` and ``Subject:orders-*``;
- ``dave``: DeveloperWrite on ``Topic:orders-*`` and ``Subject:orders-*``;
- ``bob``: DeveloperRead on ``Topic:orders-*``, ``Subject:orders-*``, ``Group:bob-*``;
- ``mallory``: no bindings;
- ``root``: no bindings either, but a super user (``super_users``): allowed everything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from charter.compose import open_migrated_database
from charter.config import Settings
from charter.security import security_service
from tests.charter.processes import CharterProcess, launch

__all__ = ["ADMIN_PASSWORD", "PASSWORDS", "secured_up", "seed_users"]

ADMIN_PASSWORD = "admin-secret-1"
PASSWORDS = {
    "admin": ADMIN_PASSWORD,
    "alice": "alice-secret-1",
    "dave": "dave-secret-1",
    "bob": "bob-secret-1",
    "mallory": "mallory-secret-1",
    "root": "root-secret-1",
}
BINDINGS = [
    ("alice", "ResourceOwner", "Topic:orders-*"),
    ("alice", "ResourceOwner", "Subject:orders-*"),
    ("dave", "DeveloperWrite", "Topic:orders-*"),
    ("dave", "DeveloperWrite", "Subject:orders-*"),
    ("bob", "DeveloperRead", "Topic:orders-*"),
    ("bob", "DeveloperRead", "Subject:orders-*"),
    ("bob", "DeveloperRead", "Group:bob-*"),
]


def seed_users(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, auth=True)
    database = open_migrated_database(settings)
    service = security_service(settings, database)
    try:
        service.bootstrap_admin(ADMIN_PASSWORD)
        for name, password in PASSWORDS.items():
            if name != "admin":
                service.create_user(name, password, actor="test")
        for name, role, resource in BINDINGS:
            service.create_binding(f"User:{name}", role, resource, actor="test")
    finally:
        service.audit.stop()
        service.authorizer.stop()
        database.close()


@contextlib.contextmanager
def secured_up(
    data_dir: Path, *extra_args: str, environment: dict[str, str] | None = None
) -> Iterator[CharterProcess]:
    seed_users(data_dir)
    charter = launch(
        "up",
        data_dir,
        extra_args=("--auth", *extra_args),
        environment={
            "CHARTER_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CHARTER_SUPER_USERS": "User:root",
            **(environment or {}),
        },
    )
    try:
        charter.wait_ready()
        yield charter
    finally:
        charter.stop()
