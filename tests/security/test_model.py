"""The permission model, credentials and the authorizer, without any transport."""

from __future__ import annotations

import base64
import time

import pytest

from governance.security import credentials
from governance.security.audit import security_entries
from governance.security.errors import (
    AuthenticationFailed,
    InvalidSecurityRequest,
    TooManyFailures,
    UserExists,
)
from governance.security.model import (
    Action,
    ResourceType,
    Role,
    parse_resource,
    role_allows,
)
from governance.security.ratelimit import FailureLimiter
from governance.security.service import SecurityService

T, S, G, C = ResourceType.TOPIC, ResourceType.SUBJECT, ResourceType.GROUP, ResourceType.CLUSTER


def test_resource_patterns_literal_prefix_and_cluster() -> None:
    literal, prefix = parse_resource("Topic:orders"), parse_resource("topic:orders-*")
    assert literal.matches(T, "orders") and not literal.matches(T, "orders-1")
    assert prefix.matches(T, "orders-1") and not prefix.matches(S, "orders-1")
    assert parse_resource("Cluster:charter").matches(G, "anything")
    assert str(prefix) == "Topic:orders-*"
    for bad in ("orders", "Table:x", "Topic:", "Topic:a\x01b"):
        with pytest.raises(InvalidSecurityRequest):
            parse_resource(bad)


@pytest.mark.parametrize(
    ("role", "kind", "action", "allowed"),
    [
        (Role.DEVELOPER_READ, T, Action.READ, True),
        (Role.DEVELOPER_READ, T, Action.WRITE, False),
        (Role.DEVELOPER_READ, G, Action.READ, True),
        (Role.DEVELOPER_WRITE, T, Action.WRITE, True),
        (Role.DEVELOPER_WRITE, T, Action.CREATE, False),
        (Role.DEVELOPER_WRITE, S, Action.WRITE, True),
        (Role.DEVELOPER_WRITE, S, Action.DELETE, False),
        (Role.RESOURCE_OWNER, T, Action.CREATE, True),
        (Role.RESOURCE_OWNER, C, Action.MANAGE, False),
        (Role.DATA_STEWARD, S, Action.DELETE, True),
        (Role.DATA_STEWARD, T, Action.WRITE, False),
        (Role.SYSTEM_ADMIN, C, Action.MANAGE, True),
    ],
)
def test_what_each_role_allows(
    role: Role, kind: ResourceType, action: Action, allowed: bool
) -> None:
    assert role_allows(role, kind, action) is allowed


def test_passwords_are_scrypt_hashed_and_checked() -> None:
    stored = credentials.hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert credentials.check_password("correct horse", stored)
    assert not credentials.check_password("wrong", stored)
    assert not credentials.check_password("correct horse", None)  # unknown user
    assert not credentials.check_password("x", "garbage")


def test_scram_credentials_match_rfc_7677() -> None:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    credential = credentials.derive_scram("pencil", "SCRAM-SHA-256", salt=salt)
    # ServerSignature of the RFC's exchange is checked end to end in test_sasl.py
    assert credential.iterations == 4096 and len(credential.stored_key) == 32
    assert len(credentials.derive_scram("pencil", "SCRAM-SHA-512").stored_key) == 64


def test_rate_limiter_counts_per_user_and_address() -> None:
    now = [0.0]
    limiter = FailureLimiter(limit=2, window_s=10, clock=lambda: now[0])
    limiter.failed("alice", "10.0.0.1")
    assert not limiter.blocked("alice", "10.0.0.1")
    limiter.failed("alice", "10.0.0.1")
    assert limiter.blocked("alice", "10.0.0.1")
    assert not limiter.blocked("alice", "10.0.0.2")  # alice is not locked out elsewhere
    assert not limiter.blocked("bob", "10.0.0.1")
    now[0] = 11
    assert not limiter.blocked("alice", "10.0.0.1")
    for index in range(10):  # spraying many users from one address
        limiter.failed(f"user{index}", "10.0.0.3")
    assert limiter.blocked("someone", "10.0.0.3")


def test_users_bindings_and_the_authorizer(service: SecurityService) -> None:
    service.create_user("alice", "alice-password", actor="User:admin")
    with pytest.raises(UserExists):
        service.create_user("alice", "another-password", actor="User:admin")
    with pytest.raises(InvalidSecurityRequest):
        service.create_user("bob", "short", actor="User:admin")
    authorizer = service.authorizer
    assert not authorizer.allows("User:alice", Action.WRITE, T, "orders-1")
    binding = service.create_binding("User:alice", "DeveloperWrite", "Topic:orders-*", actor="x")
    assert authorizer.allows("User:alice", Action.WRITE, T, "orders-1")
    assert not authorizer.allows("User:alice", Action.READ, T, "orders-1")
    assert not authorizer.allows("User:alice", Action.WRITE, T, "payments")
    assert service.create_binding("User:alice", "developerwrite", "Topic:orders-*", actor="x") == (
        binding
    )  # idempotent
    service.delete_binding(binding.id, actor="x")
    assert not authorizer.allows("User:alice", Action.WRITE, T, "orders-1")
    with pytest.raises(InvalidSecurityRequest):
        service.create_binding("User:alice", "DeveloperRead", None, actor="x")
    with pytest.raises(InvalidSecurityRequest):
        service.create_binding("alice", "DeveloperRead", "Topic:x", actor="x")


def test_authentication_and_its_audit(service: SecurityService) -> None:
    service.create_user("alice", "alice-password", actor="User:admin")
    assert service.authenticate_password("alice", "alice-password", "10.0.0.1") == "User:alice"
    for _ in range(3):
        with pytest.raises(AuthenticationFailed):
            service.authenticate_password("alice", "wrong", "10.0.0.1")
    with pytest.raises(TooManyFailures):  # even the right password, from there, for a while
        service.authenticate_password("alice", "alice-password", "10.0.0.1")
    key = service.create_api_key("alice", "ci", actor="User:admin")
    assert service.authenticate_api_key(key["secret"], "10.0.0.2") == "User:alice"
    with pytest.raises(AuthenticationFailed):
        service.authenticate_api_key(key["secret"] + "x", "10.0.0.2")
    service.audit.flush()
    rows = security_entries(service.store.database, limit=100)
    denied = [row for row in rows if row.outcome == "denied"]
    assert {row.actor for row in denied} >= {"User:alice"}
    assert all("alice-password" not in row.detail and "wrong" not in row.detail for row in rows)
    assert {row.action for row in rows if row.outcome == "success"} >= {
        "user.create",
        "apikey.create",
    }


def test_bootstrap_admin_once(service: SecurityService) -> None:
    generated = service.bootstrap_admin(None)
    assert generated and len(generated) >= 16
    assert service.bootstrap_admin(None) is None  # users exist: nothing happens
    assert service.authenticate_password("admin", generated, None) == "User:admin"
    assert service.authorizer.allows("User:admin", Action.MANAGE, C, "charter")


def test_another_process_binding_reaches_the_authorizer(service: SecurityService) -> None:
    service.create_user("carol", "carol-password", actor="x")
    assert not service.authorizer.allows("User:carol", Action.READ, T, "t")
    # a change made through another store (another process) is seen on refresh
    from governance.security.model import ResourcePattern
    from governance.security.store import SecurityStore

    SecurityStore(service.store.database).create_binding(
        "User:carol", Role.DEVELOPER_READ, ResourcePattern(T, "t"), "elsewhere"
    )
    deadline = time.monotonic() + 10
    while not service.authorizer.allows("User:carol", Action.READ, T, "t"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_transactional_id_resources_and_roles() -> None:
    pattern = parse_resource("TransactionalId:app-*")
    assert pattern.matches(ResourceType.TRANSACTIONAL_ID, "app-1")
    assert not pattern.matches(T, "app-1")
    x = ResourceType.TRANSACTIONAL_ID
    assert role_allows(Role.DEVELOPER_WRITE, x, Action.WRITE)
    assert not role_allows(Role.DEVELOPER_READ, x, Action.WRITE)
    assert role_allows(Role.DEVELOPER_READ, x, Action.DESCRIBE)
    assert role_allows(Role.RESOURCE_OWNER, x, Action.WRITE)
    assert not role_allows(Role.DATA_STEWARD, x, Action.WRITE)


def test_a_scram_only_user_has_no_password_and_costs_the_same_check() -> None:
    from governance.security.store import NO_PASSWORD

    assert not credentials.check_password("anything", NO_PASSWORD)
    assert not credentials.check_password("", NO_PASSWORD)
