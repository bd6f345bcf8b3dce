"""The Kafka door's security administration over the store (SQLite and PostgreSQL): ACLs as
role bindings, SCRAM credentials from salted passwords, and the audit of every change."""

from __future__ import annotations

import hashlib
import types
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from charter.compose import open_migrated_database
from charter.config import Settings
from charter.db import apply_migrations
from charter.security import security_service
from governance.security import credentials
from governance.security import store as store_module
from governance.security.acls import Acl, AclFilter, AclNotSupported, acl_to_entry
from governance.security.audit import security_entries
from governance.security.authorizer import RoleBindingAuthorizer
from governance.security.errors import (
    CredentialNotFound,
    DuplicateAlteration,
    InvalidSecurityRequest,
    UnacceptableCredential,
    UnsupportedMechanism,
)
from governance.security.kafka_admin import KafkaSecurityAdmin, ScramDeletion, ScramUpsertion
from governance.security.model import Action, ResourceType

ANY_FILTER = AclFilter(1, None, 1, None, None, 1, 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def admin(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KafkaSecurityAdmin]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    settings = Settings(data_dir=tmp_path, auth=True, database_url=url)
    database = open_migrated_database(settings)
    service = security_service(settings, database)
    service.create_user("alice", "alice-secret-1", actor="test")
    yield KafkaSecurityAdmin(service)
    service.audit.stop()
    service.authorizer.stop()
    database.close()


def _audit(admin: KafkaSecurityAdmin) -> list[tuple[str, str, str, str]]:
    admin.service.audit.flush()
    return [
        (r.actor, r.action, r.resource, r.detail)
        for r in security_entries(admin.service.store.database)
    ]


def test_created_acls_are_bindings_the_authorizer_uses_and_are_audited(admin) -> None:
    authorizer = admin.service.authorizer
    assert not authorizer.allows("User:alice", Action.READ, ResourceType.TOPIC, "orders-1")
    outcomes = admin.create_acls(
        [Acl(2, "orders-", 4, "User:alice", "*", 3, 3), Acl(5, "tx-1", 3, "User:alice", "*", 4, 3)],
        actor="User:admin",
    )
    assert outcomes == [None, None]
    assert authorizer.allows("User:alice", Action.READ, ResourceType.TOPIC, "orders-1")
    assert not authorizer.allows("User:alice", Action.WRITE, ResourceType.TOPIC, "orders-1")
    assert authorizer.allows("User:alice", Action.WRITE, ResourceType.TRANSACTIONAL_ID, "tx-1")
    assert [str(b.resource) for b in admin.service.bindings("User:alice")] == [
        "Topic:orders-*",
        "TransactionalId:tx-1",
    ]
    assert ("User:admin", "rolebinding.create", "Topic:orders-*") in [
        entry[:3] for entry in _audit(admin)
    ]
    assert any("via Kafka CreateAcls" in entry[3] for entry in _audit(admin))
    assert len(admin.describe_acls(ANY_FILTER)) == 2
    [refused] = admin.create_acls([Acl(7, "x", 3, "User:alice", "*", 3, 3)], actor="User:admin")
    assert isinstance(refused, AclNotSupported)  # USER resources


def test_acls_no_role_expresses_are_entries_in_force_listed_deleted_and_audited(admin) -> None:
    service = admin.service
    service.create_binding("User:alice", "DeveloperRead", "Topic:orders-*", actor="t")
    # a second authorizer over the same database stands for another process
    other = RoleBindingAuthorizer(service.store, refresh_interval_s=3600)
    assert other.allows("User:alice", Action.READ, ResourceType.TOPIC, "orders-1")
    created = admin.create_acls(
        [
            Acl(2, "orders-1", 3, "User:alice", "*", 3, 2),  # DENY READ orders-1
            Acl(4, "kafka-cluster", 3, "User:alice", "*", 5, 3),  # ALLOW CREATE cluster
            Acl(2, "*", 3, "User:*", "10.1.2.3", 10, 3),  # everyone's DESCRIBE_CONFIGS, one host
        ],
        actor="User:admin",
    )
    assert created == [None, None, None]
    assert service.bindings("User:alice")[0].role.value == "DeveloperRead"  # no new binding
    authorizer = service.authorizer
    topic = ResourceType.TOPIC
    assert not authorizer.allows("User:alice", Action.READ, topic, "orders-1")  # DENY wins
    assert authorizer.allows("User:alice", Action.READ, topic, "orders-2")
    assert authorizer.allows("User:alice", Action.CREATE, topic, "anything")  # cluster CREATE
    assert authorizer.allows("User:bob", Action.DESCRIBE_CONFIGS, topic, "t", host="10.1.2.3")
    assert not authorizer.allows("User:bob", Action.DESCRIBE_CONFIGS, topic, "t", host="10.1.2.4")
    assert not authorizer.allows("User:bob", Action.DESCRIBE_CONFIGS, topic, "t")
    # the other process sees the change when it reloads (the generation moved)
    other.refresh()
    assert not other.allows("User:alice", Action.READ, topic, "orders-1")
    acls = admin.describe_acls(ANY_FILTER)
    assert {(a.resource_name, a.operation, a.permission, a.host) for a in acls} == {
        ("orders-", 3, 3, "*"),
        ("orders-1", 3, 2, "*"),
        ("kafka-cluster", 5, 3, "*"),
        ("*", 10, 3, "10.1.2.3"),
    }
    only_denies = admin.describe_acls(AclFilter(1, None, 1, None, None, 1, 2))
    assert [(a.resource_name, a.permission) for a in only_denies] == [("orders-1", 2)]
    assert [e.operation.name for e in service.acl_entries("User:*")] == ["DESCRIBE_CONFIGS"]
    again = admin.create_acls([Acl(2, "orders-1", 3, "User:alice", "*", 3, 2)], actor="t")
    assert again == [None] and len(service.acl_entries()) == 3  # existing: left as it is
    [deleted] = admin.delete_acls([AclFilter(1, None, 1, None, None, 1, 2)], actor="User:admin")
    assert [(a.resource_name, a.permission) for a in deleted] == [("orders-1", 2)]
    assert authorizer.allows("User:alice", Action.READ, topic, "orders-1")
    other.refresh()
    assert other.allows("User:alice", Action.READ, topic, "orders-1")
    audit = [entry[:3] for entry in _audit(admin)]
    assert ("User:admin", "acl.create", "Topic:orders-1") in audit
    assert ("User:admin", "acl.create", "Cluster:kafka-cluster") in audit
    assert ("User:admin", "acl.delete", "Topic:orders-1") in audit
    assert any("DENY READ for User:alice" in entry[3] for entry in _audit(admin))
    service.delete_user("alice", actor="t")  # the user's entries go with it
    assert [e.principal for e in service.acl_entries()] == ["User:*"]
    other.stop()


def test_delete_acls_deletes_the_matching_bindings_only(admin) -> None:
    admin.create_acls(
        [Acl(2, "orders-", 4, "User:alice", "*", 3, 3), Acl(3, "g", 3, "User:alice", "*", 3, 3)],
        actor="User:admin",
    )
    admin.service.create_binding("User:alice", "DeveloperWrite", "Subject:orders-*", actor="t")
    [deleted, invalid] = admin.delete_acls(
        [AclFilter(2, "orders-1", 2, None, None, 1, 1), AclFilter(0, None, 1, None, None, 1, 1)],
        actor="User:admin",
    )
    assert [(a.resource_type, a.resource_name) for a in deleted] == [(2, "orders-")]
    assert isinstance(invalid, InvalidSecurityRequest)
    left = [str(b.resource) for b in admin.service.bindings("User:alice")]
    assert left == ["Group:g", "Subject:orders-*"]  # the subject binding has no ACL form
    assert ("User:admin", "rolebinding.delete", "Topic:orders-*") in [e[:3] for e in _audit(admin)]
    [[group], again] = admin.delete_acls([ANY_FILTER, ANY_FILTER], actor="User:admin")
    assert group.resource_name == "g" and again == []  # a binding is deleted once
    assert [str(b.resource) for b in admin.service.bindings("User:alice")] == ["Subject:orders-*"]


def _upsert(user: str, mechanism: int = 1, password: str = "new-pass", iterations: int = 4096):
    algorithm = "sha256" if mechanism == 1 else "sha512"
    salted = hashlib.pbkdf2_hmac(algorithm, password.encode(), b"salty", max(iterations, 1))
    return ScramUpsertion(user, mechanism, iterations, b"salty", salted)


def test_scram_upsert_from_a_salted_password_describe_and_delete(admin) -> None:
    store = admin.service.store
    assert [(d.user, d.credentials) for d in admin.describe_scram(None)] == [
        ("alice", ((1, 4096), (2, 4096)))
    ]
    outcome = admin.alter_scram([], [_upsert("carol", 2, iterations=8192)], actor="User:admin")
    assert outcome == {"carol": None}
    stored = store.scram_credential("carol", "SCRAM-SHA-512")
    assert stored == credentials.derive_scram(
        "new-pass", "SCRAM-SHA-512", salt=b"salty", iterations=8192
    )
    # the new user has no password: Basic/PLAIN fail, only SCRAM logs in
    assert not credentials.check_password("new-pass", store.user("carol").password_hash)
    [carol] = admin.describe_scram(["carol"])
    assert carol.credentials == ((2, 8192),) and carol.error is None
    assert admin.alter_scram([ScramDeletion("carol", 2)], [], actor="User:admin") == {"carol": None}
    [gone, twice] = admin.describe_scram(["carol", "alice", "alice"])
    assert isinstance(gone.error, CredentialNotFound)
    assert isinstance(twice.error, DuplicateAlteration)
    actions = [e[1] for e in _audit(admin)]
    assert "scram.upsert" in actions and "scram.delete" in actions
    assert all("new-pass" not in e[3] for e in _audit(admin))


def test_scram_alterations_fail_per_user_with_kafkas_errors(admin) -> None:
    outcome = admin.alter_scram(
        [ScramDeletion("nobody", 1), ScramDeletion("dup", 1)],
        [
            _upsert("few", iterations=1000),
            _upsert("many", iterations=20000),
            _upsert("bogus", mechanism=0),
            _upsert(""),
            _upsert("dup"),
            _upsert("alice", mechanism=2, password="fine-pass"),
        ],
        actor="User:admin",
    )
    assert isinstance(outcome["nobody"], CredentialNotFound)
    assert isinstance(outcome["dup"], DuplicateAlteration)
    assert isinstance(outcome["few"], UnacceptableCredential)
    assert isinstance(outcome["many"], UnacceptableCredential)
    assert isinstance(outcome["bogus"], UnsupportedMechanism)
    assert isinstance(outcome[""], UnacceptableCredential)
    assert outcome["alice"] is None
    assert admin.service.store.user("few") is None  # nothing made for a failed user
    bad_length = ScramUpsertion("short", 1, 4096, b"s", b"too-short")
    assert isinstance(
        admin.alter_scram([], [bad_length], actor="a")["short"], UnacceptableCredential
    )


def test_an_existing_database_gains_the_acl_table(tmp_path: Path) -> None:
    """A database made before ACL entries (security migration 1 only) is upgraded in place."""
    database = peewee.SqliteDatabase(str(tmp_path / "old.db"))
    first_only = types.SimpleNamespace(
        __name__=store_module.__name__,
        MIGRATION_KEY=store_module.MIGRATION_KEY,
        MIGRATIONS=store_module.MIGRATIONS[:1],
    )
    apply_migrations(database, [first_only])
    assert "security_acls" not in database.get_tables()
    apply_migrations(database, [store_module])
    store = store_module.SecurityStore(database)
    entry = acl_to_entry(Acl(2, "t", 3, "User:*", "*", 3, 2))
    [created] = store.create_acl_entries([entry], "test")
    assert store.acl_entries() == [created] and store.generation() == 1
    database.close()
