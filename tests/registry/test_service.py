"""Unit tests of ``registry.service.RegistryService`` without Flask, over SQLite (and PostgreSQL)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest

from charter.app import migrate
from charter.db import open_database
from registry import errors
from registry.compatibility import CompatibilityLevel
from registry.hooks import ALLOW, ANONYMOUS, Actor, Decision, LevelChange
from registry.service import (
    LATEST,
    ConfigUpdate,
    Mode,
    RegistryService,
    SchemaRequest,
)
from registry.store import Reference
from tests.registry.schemas import record_text


def record(name: str, *fields: tuple[str, Any], namespace: str = "test") -> str:
    """An Avro record schema text with the given (name, type) fields."""
    return record_text(name, *fields, namespace=namespace)


V1 = record("User", ("id", "long"))
V2 = record("User", ("id", "long"), ("email", ["null", "string"]))  # not backward compatible
V2_WITH_DEFAULT = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "test",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "email", "type": ["null", "string"], "default": None},
        ],
    }
)
INCOMPATIBLE = record("User", ("id", "string"))


def avro(text: str, **kwargs: Any) -> SchemaRequest:
    return SchemaRequest(schema=text, schema_type="AVRO", **kwargs)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[peewee.Database]:
    db = open_database(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate(db)
    yield db
    db.close()


@pytest.fixture
def service(database: peewee.Database) -> RegistryService:
    return RegistryService(database)


def announced(service: RegistryService, event_name: str) -> list[dict[str, Any]]:
    """The payloads of every ``event_name`` event in the registry outbox, in order (without
    ``actor``, the principal who asked: ``test_events_name_the_actor`` checks it)."""
    return [
        {key: value for key, value in event.payload.items() if key != "actor"}
        for event in service.store.outbox.events_since(0)
        if event.name == event_name
    ]


# -- ids and versions ---------------------------------------------------------------------


def test_same_schema_in_two_subjects_shares_one_id(service: RegistryService) -> None:
    first = service.register("a", avro(V1))
    second = service.register("b", avro(json.dumps(json.loads(V1), indent=4)))
    assert first.schema.schema_id == second.schema.schema_id == 1
    assert (first.version, second.version) == (1, 1)
    assert service.schema_subjects(1) == ["a", "b"]


def test_re_registering_a_live_schema_returns_it_without_a_new_version(
    service: RegistryService,
) -> None:
    service.register("a", avro(V1))
    again = service.register("a", avro(V1))
    assert (again.schema.schema_id, again.version) == (1, 1)
    assert service.list_versions("a") == [1]
    seen = announced(service, "schema_registered")
    assert len(seen) == 1
    assert seen[0] == {"subject": "a", "version": 1, "schema_id": 1, "schema_type": "AVRO"}


def test_distinct_schemas_get_distinct_ids_and_versions_count_up(service: RegistryService) -> None:
    service.register("a", avro(V1))
    second = service.register("a", avro(V2_WITH_DEFAULT))
    assert (second.schema.schema_id, second.version) == (2, 2)
    assert service.get_version("a", LATEST).version == 2


def test_soft_deleted_version_is_not_latest_and_not_checked(service: RegistryService) -> None:
    service.register("a", avro(V1))
    service.register("a", avro(V2_WITH_DEFAULT))
    assert service.delete_version("a", 2) == 2
    assert service.get_version("a", LATEST).version == 1
    assert service.list_versions("a") == [1]
    assert service.list_versions("a", include_deleted=True) == [1, 2]
    assert service.list_versions("a", deleted_only=True) == [2]
    with pytest.raises(errors.VersionNotFound):
        service.get_version("a", 2)
    assert service.get_version("a", 2, include_deleted=True).deleted
    # Only version 1 is live, so a schema incompatible with version 2 alone is accepted.
    service.delete_version("a", 1)
    registered = service.register("a", avro(INCOMPATIBLE))
    assert registered.version == 3  # versions are never reused


def test_re_registering_a_soft_deleted_schema_makes_a_new_version_with_the_same_id(
    service: RegistryService,
) -> None:
    service.register("a", avro(V1))
    service.delete_version("a", 1)
    again = service.register("a", avro(V1))
    assert (again.schema.schema_id, again.version) == (1, 2)
    # As in Confluent, the older soft-deleted version of the same id is dropped.
    assert service.list_versions("a", include_deleted=True) == [2]


def test_compatibility_uses_subject_level_then_global(service: RegistryService) -> None:
    service.register("a", avro(V1))
    with pytest.raises(errors.IncompatibleSchema) as caught:
        service.register("a", avro(INCOMPATIBLE))
    assert caught.value.error_code == 409
    assert "oldSchemaVersion: 1" in caught.value.message
    service.set_config(None, ConfigUpdate(CompatibilityLevel.NONE))
    assert service.register("a", avro(INCOMPATIBLE)).version == 2
    service.set_config("a", ConfigUpdate(CompatibilityLevel.BACKWARD))
    with pytest.raises(errors.IncompatibleSchema):
        service.register("a", avro(record("User", ("id", "int"))))
    # A schema already live in the subject is returned without a check.
    assert service.register("a", avro(V1)).version == 1


def test_transitive_level_checks_every_live_version(service: RegistryService) -> None:
    service.set_config("a", ConfigUpdate(CompatibilityLevel.NONE))
    service.register("a", avro(V1))
    service.register("a", avro(INCOMPATIBLE))
    third = record("User", ("id", "string"), ("x", "int"))
    service.set_config("a", ConfigUpdate(CompatibilityLevel.FORWARD_TRANSITIVE))
    result = service.test_compatibility("a", avro(third))
    assert not result.is_compatible  # the new schema cannot be read by version 1
    service.set_config("a", ConfigUpdate(CompatibilityLevel.FORWARD))
    assert service.test_compatibility("a", avro(third)).is_compatible


def test_test_compatibility_against_one_version(service: RegistryService) -> None:
    service.register("a", avro(V1))
    assert service.test_compatibility("a", avro(V2_WITH_DEFAULT), version=1).is_compatible
    result = service.test_compatibility("a", avro(INCOMPATIBLE), version=LATEST)
    assert not result.is_compatible and result.messages
    with pytest.raises(errors.VersionNotFound):
        service.test_compatibility("a", avro(V1), version=7)
    # A subject without versions accepts anything as "latest".
    assert service.test_compatibility("new", avro(V1), version=LATEST).is_compatible


def test_invalid_schema_and_unknown_type(service: RegistryService) -> None:
    with pytest.raises(errors.InvalidSchema):
        service.register("a", avro("{not json"))
    with pytest.raises(errors.InvalidSchema):
        service.register("a", SchemaRequest(schema=V1, schema_type="XML"))
    with pytest.raises(errors.InvalidSchema):
        service.register("a", avro("  "))
    assert service.list_subjects() == []


def test_json_schema_is_registered_with_its_type(service: RegistryService) -> None:
    text = json.dumps({"type": "object", "properties": {"id": {"type": "integer"}}})
    registered = service.register("j", SchemaRequest(schema=text, schema_type="JSON"))
    assert service.get_schema(registered.schema.schema_id).schema_type == "JSON"
    assert service.schema_types() == ["AVRO", "JSON", "PROTOBUF"]


# -- lookup -----------------------------------------------------------------------------


def test_lookup_finds_the_version_and_reports_missing(service: RegistryService) -> None:
    service.register("a", avro(V1))
    found = service.lookup("a", avro(json.dumps(json.loads(V1), indent=2)))
    assert (found.subject, found.version, found.schema.schema_id) == ("a", 1, 1)
    with pytest.raises(errors.SchemaNotFound):
        service.lookup("a", avro(V2_WITH_DEFAULT))
    with pytest.raises(errors.SubjectNotFound):
        service.lookup("missing", avro(V1))
    service.delete_version("a", 1)
    with pytest.raises(errors.SubjectNotFound):
        service.lookup("a", avro(V1))
    assert service.lookup("a", avro(V1), include_deleted=True).deleted


# -- metadata and rule sets ------------------------------------------------------------


def test_metadata_and_rule_set_are_kept_and_part_of_identity(service: RegistryService) -> None:
    metadata = {"properties": {"owner": "team-a"}, "tags": {"id": ["PII"]}}
    rule_set = {"domainRules": [{"name": "r", "kind": "CONDITION", "type": "CEL", "expr": "true"}]}
    plain = service.register("a", avro(V1))
    governed = service.register("a", avro(V1, metadata=metadata, rule_set=rule_set))
    assert governed.schema.schema_id != plain.schema.schema_id
    assert governed.version == 2
    stored = service.get_schema(governed.schema.schema_id)
    assert stored.metadata == metadata and stored.rule_set == rule_set
    assert service.lookup("a", avro(V1)).version == 1
    assert service.lookup("a", avro(V1, metadata=metadata, rule_set=rule_set)).version == 2
    # A lookup without metadata still finds a schema registered only with metadata.
    service.register("b", avro(V1, metadata=metadata))
    assert service.lookup("b", avro(V1)).schema.metadata == metadata
    with pytest.raises(errors.SchemaNotFound):
        service.lookup("b", avro(V1, metadata={"properties": {"owner": "other"}}))


# -- references ------------------------------------------------------------------------

ADDRESS = record("Address", ("street", "string"), namespace="refs")
COUNTRY = record("Country", ("code", "string"), namespace="refs")
ADDRESS_WITH_COUNTRY = json.dumps(
    {
        "type": "record",
        "name": "Address",
        "namespace": "refs",
        "fields": [
            {"name": "street", "type": "string"},
            {"name": "country", "type": "refs.Country"},
        ],
    }
)
PERSON = json.dumps(
    {
        "type": "record",
        "name": "Person",
        "namespace": "refs",
        "fields": [{"name": "address", "type": "refs.Address"}],
    }
)


def test_references_resolve_recursively_and_block_deletion(service: RegistryService) -> None:
    service.register("country", avro(COUNTRY))
    service.register(
        "address",
        avro(ADDRESS_WITH_COUNTRY, references=(Reference("refs.Country", "country", 1),)),
    )
    person = service.register(
        "person", avro(PERSON, references=(Reference("refs.Address", "address", LATEST),))
    )
    # LATEST is pinned to the concrete version when stored.
    assert person.schema.references == (Reference("refs.Address", "address", 1),)
    assert service.referenced_by("address", 1) == [person.schema.schema_id]
    with pytest.raises(errors.ReferenceExists) as caught:
        service.delete_version("address", 1)
    assert caught.value.error_code == 42206
    with pytest.raises(errors.ReferenceExists):
        service.delete_subject("country")
    # Once the referrer is gone, the referenced version may be deleted.
    service.delete_subject("person")
    assert service.delete_version("address", 1) == 1


def test_missing_reference_is_an_invalid_schema(service: RegistryService) -> None:
    with pytest.raises(errors.InvalidSchema) as caught:
        service.register("person", avro(PERSON, references=(Reference("refs.Address", "nope", 1),)))
    assert caught.value.error_code == 42201
    with pytest.raises(errors.InvalidSchema):
        service.register("person", avro(PERSON))  # unresolved name without the reference


def test_same_text_with_other_references_is_another_schema(service: RegistryService) -> None:
    service.register("address", avro(ADDRESS))
    service.register("address-2", avro(ADDRESS))
    one = service.register(
        "p1", avro(PERSON, references=(Reference("refs.Address", "address", 1),))
    )
    two = service.register(
        "p2", avro(PERSON, references=(Reference("refs.Address", "address-2", 1),))
    )
    assert one.schema.schema_id != two.schema.schema_id


# -- deletes ---------------------------------------------------------------------------


def test_delete_rules(service: RegistryService) -> None:
    service.register("a", avro(V1))
    service.register("a", avro(V2_WITH_DEFAULT))
    with pytest.raises(errors.SchemaVersionNotSoftDeleted):
        service.delete_version("a", 1, permanent=True)
    with pytest.raises(errors.SubjectNotSoftDeleted):
        service.delete_subject("a", permanent=True)
    assert service.delete_subject("a") == [1, 2]
    with pytest.raises(errors.SubjectSoftDeleted):
        service.delete_subject("a")
    with pytest.raises(errors.SchemaVersionSoftDeleted):
        service.delete_version("a", 1)
    assert service.list_subjects() == []
    assert service.list_subjects(include_deleted=True) == ["a"]
    assert service.list_subjects(deleted_only=True) == ["a"]
    # Soft-deleted schemas still resolve by id.
    assert service.get_schema(1).schema_id == 1
    assert service.delete_subject("a", permanent=True) == [1, 2]
    with pytest.raises(errors.SubjectNotFound):
        service.delete_subject("a")
    with pytest.raises(errors.SchemaNotFound):
        service.get_schema(1)
    deleted_events = announced(service, "subject_deleted")
    assert [event["permanent"] for event in deleted_events] == [False, True]
    # Ids are never reused after a permanent delete; the same schema gets its id back.
    assert service.register("b", avro(INCOMPATIBLE)).schema.schema_id == 3
    assert service.register("c", avro(V1)).schema.schema_id == 1


def test_soft_deleting_the_last_version_drops_subject_config_and_mode(
    service: RegistryService,
) -> None:
    service.register("a", avro(V1))
    service.set_config("a", ConfigUpdate(CompatibilityLevel.FULL))
    service.set_mode("a", Mode.READWRITE)
    service.delete_version("a", LATEST)
    with pytest.raises(errors.SubjectCompatibilityNotConfigured):
        service.get_config("a")
    with pytest.raises(errors.SubjectModeNotConfigured):
        service.get_mode("a")


# -- config and mode -------------------------------------------------------------------


def test_config_defaults_and_reset(service: RegistryService) -> None:
    assert service.get_config().compatibility is CompatibilityLevel.BACKWARD
    with pytest.raises(errors.SubjectCompatibilityNotConfigured):
        service.get_config("a")
    assert (
        service.get_config("a", default_to_global=True).compatibility is CompatibilityLevel.BACKWARD
    )
    service.set_config(None, ConfigUpdate(CompatibilityLevel.FULL))
    assert service.delete_config().compatibility is CompatibilityLevel.FULL
    assert service.get_config().compatibility is CompatibilityLevel.BACKWARD
    with pytest.raises(errors.SubjectNotFound):
        service.delete_config("a")


def test_normalize_option_in_config_applies_to_registration(service: RegistryService) -> None:
    service.set_config("a", ConfigUpdate(options={"normalize": True}))
    assert service.get_config("a").options == {"normalize": True}
    assert service.register("a", avro(V1)).schema.schema_id == 1


def test_read_only_modes_reject_writes(service: RegistryService) -> None:
    service.register("a", avro(V1))
    service.set_mode("a", Mode.READONLY)
    with pytest.raises(errors.OperationNotPermitted) as caught:
        service.register("a", avro(V2_WITH_DEFAULT))
    assert caught.value.error_code == 42205
    with pytest.raises(errors.OperationNotPermitted):
        service.delete_subject("a")
    service.register("b", avro(V1))  # other subjects keep the global READWRITE
    service.set_mode("a", Mode.READWRITE)
    service.set_mode(None, Mode.READONLY_OVERRIDE)
    with pytest.raises(errors.OperationNotPermitted):
        service.register("a", avro(V2_WITH_DEFAULT))  # overrides the subject's READWRITE
    assert service.delete_mode() is Mode.READONLY_OVERRIDE
    assert service.get_mode() is Mode.READWRITE


def test_import_mode(service: RegistryService) -> None:
    service.register("a", avro(V1))
    with pytest.raises(errors.OperationNotPermitted):
        service.set_mode(None, Mode.IMPORT)
    with pytest.raises(errors.OperationNotPermitted):
        service.register("b", avro(V2, schema_id=100, version=5))  # not in IMPORT mode
    service.set_mode("imported", Mode.IMPORT)  # no schemas in that subject yet
    with pytest.raises(errors.OperationNotPermitted):
        service.register("imported", avro(V2))  # IMPORT needs explicit ids
    imported = service.register("imported", avro(V2, schema_id=100, version=5))
    assert (imported.schema.schema_id, imported.version) == (100, 5)
    # No compatibility check in IMPORT mode; versions continue after the imported one.
    follow = service.register("imported", avro(INCOMPATIBLE, schema_id=101))
    assert (follow.schema.schema_id, follow.version) == (101, 6)
    with pytest.raises(errors.OperationNotPermitted):
        service.register("imported", avro(V1, schema_id=100))  # id taken by another schema
    with pytest.raises(errors.IdDoesNotMatch):
        service.register("imported", avro(V1, schema_id=200))  # V1 already has id 1
    assert service.set_mode(None, Mode.IMPORT, force=True) is Mode.IMPORT
    service.set_mode(None, Mode.READWRITE)
    service.delete_mode("imported")
    assert service.register("c", avro(record("New", ("x", "int")))).schema.schema_id == 102


def test_invalid_subject_names(service: RegistryService) -> None:
    with pytest.raises(errors.InvalidSubject):
        service.register("bad\x00name", avro(V1))
    with pytest.raises(errors.InvalidSubject):
        service.set_config("bad\nname", ConfigUpdate(CompatibilityLevel.NONE))


# -- listings --------------------------------------------------------------------------


def test_listings_with_prefix_and_latest_only(service: RegistryService) -> None:
    service.register("orders-value", avro(V1))
    service.register("orders-value", avro(V2_WITH_DEFAULT))
    service.register("Orders-key", avro(V1))
    service.register("users-value", avro(V1))
    assert service.list_subjects(subject_prefix="orders") == ["orders-value"]
    latest = service.list_schemas(subject_prefix="orders", latest_only=True)
    assert [(item.subject, item.version) for item in latest] == [("orders-value", 2)]
    assert len(service.list_schemas()) == 4
    assert service.schema_versions(1) == [
        ("Orders-key", 1),
        ("orders-value", 1),
        ("users-value", 1),
    ]
    assert service.schema_versions(1, subject="users-value") == [("users-value", 1)]


# -- hooks and events ------------------------------------------------------------------


class _OwnerPolicy:
    """Denies schemas without an ``owner`` property; records every call with its actor."""

    name = "owner-policy"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def before_register(
        self, actor: Actor, subject: str, parsed_schema: Any, metadata: Any, rule_set: Any
    ) -> Decision:
        self.calls.append((actor, subject, parsed_schema.schema_type, metadata, rule_set))
        if metadata is None or "owner" not in metadata.get("properties", {}):
            return Decision.deny("every schema needs an owner property")
        return ALLOW


class _RecordingHooks:
    """Allows everything and records the non-registration checks."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def before_config_change(self, *args: Any) -> Decision:
        self.calls.append(("config", *args))
        return ALLOW

    def before_mode_change(self, *args: Any) -> Decision:
        self.calls.append(("mode", *args))
        return ALLOW

    def before_delete(self, *args: Any) -> Decision:
        self.calls.append(("delete", *args))
        return ALLOW


def test_hooks_deny_before_the_compatibility_check(database: peewee.Database) -> None:
    policy = _OwnerPolicy()
    service = RegistryService(database, hooks=[policy])
    alice = Actor("User:alice", "10.0.0.1")
    with pytest.raises(errors.PolicyDenied, match="owner-policy: every schema needs an owner"):
        service.register("a", avro(V1), actor=alice)
    assert service.list_subjects() == []
    assert policy.calls[-1][0] == alice
    owned = {"properties": {"owner": "me"}}
    service.register("a", avro(V1, metadata=owned))
    # An incompatible schema without an owner is denied by the hook, not by compatibility.
    # (Sent without metadata it would inherit the previous version's owner, as in Confluent.)
    unowned = {"properties": {"team": "x"}}
    with pytest.raises(errors.PolicyDenied) as denied:
        service.register("a", avro(INCOMPATIBLE, metadata=unowned))
    assert (denied.value.http_status, denied.value.error_code) == (422, 42205)
    assert policy.calls[-1] == (ANONYMOUS, "a", "AVRO", unowned, None)


def test_hooks_run_once_per_registration(database: peewee.Database) -> None:
    policy = _OwnerPolicy()
    service = RegistryService(database, hooks=[policy])
    service.register("a", avro(V1, metadata={"properties": {"owner": "me"}}))
    assert len(policy.calls) == 1


def test_hooks_run_once_per_request_under_contention(database: peewee.Database) -> None:
    """Eight threads registering into one subject queue for the write lock; no request is
    checked twice and every one is checked."""

    class Counting:
        def __init__(self) -> None:
            self.calls = 0
            self.lock = threading.Lock()

        def before_register(self, *args: Any) -> Decision:
            with self.lock:
                self.calls += 1
            return ALLOW

    counting = Counting()
    service = RegistryService(database, hooks=[counting])
    service.set_config("shared", ConfigUpdate(CompatibilityLevel.NONE))
    threads_count, per_thread = 8, 6
    failures: list[BaseException] = []

    def register_many(number: int) -> None:
        try:
            for index in range(per_thread):
                service.register("shared", avro(record(f"T{number}x{index}", ("id", "long"))))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=register_many, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert counting.calls == threads_count * per_thread
    assert service.list_versions("shared") == list(range(1, threads_count * per_thread + 1))


def test_a_failing_hook_denies_instead_of_failing(database: peewee.Database) -> None:
    class Broken:
        def before_register(self, *args: Any) -> None:
            raise KeyError("bug in a policy")

    service = RegistryService(database, hooks=[Broken()])
    with pytest.raises(errors.PolicyDenied, match="Broken: the check failed .KeyError"):
        service.register("a", avro(V1))
    assert service.list_subjects() == []


def test_config_mode_and_delete_hooks_see_the_actor(database: peewee.Database) -> None:
    hooks = _RecordingHooks()
    service = RegistryService(database, hooks=[hooks])
    bob = Actor("User:bob")
    service.register("a", avro(V1))
    service.set_config("a", ConfigUpdate(CompatibilityLevel.FULL), actor=bob)
    service.delete_config("a", actor=bob)
    service.set_mode("a", Mode.READONLY, actor=bob)
    service.delete_mode("a", actor=bob)
    service.delete_version("a", 1, actor=bob)
    service.delete_subject("a", permanent=True, actor=bob)
    assert hooks.calls == [
        ("config", bob, "a", "FULL", {}, LevelChange("BACKWARD", "FULL")),
        ("config", bob, "a", None, {}, LevelChange("FULL", "BACKWARD")),
        ("mode", bob, "a", "READONLY"),
        ("mode", bob, "a", None),
        ("delete", bob, "a", 1, False),
        ("delete", bob, "a", None, True),
    ]


def test_a_hook_answering_no_decision_denies(database: peewee.Database) -> None:
    class Sloppy:
        def before_register(self, *args: Any) -> None:
            return None

    service = RegistryService(database, hooks=[Sloppy()])
    with pytest.raises(errors.PolicyDenied, match="answered None, not a Decision"):
        service.register("a", avro(V1))


def test_a_denied_change_writes_nothing(database: peewee.Database) -> None:
    class NoReadOnly:
        def before_mode_change(self, actor: Actor, subject: Any, mode: Any) -> Decision:
            return (
                Decision.deny("read-only subjects need a ticket") if mode == "READONLY" else ALLOW
            )

    service = RegistryService(database, hooks=[NoReadOnly()])
    with pytest.raises(errors.PolicyDenied, match="ticket"):
        service.set_mode("a", Mode.READONLY)
    assert service.get_mode("a", default_to_global=True) is Mode.READWRITE


def test_config_and_mode_changes_are_announced_and_unknown_events_refused(
    service: RegistryService,
) -> None:
    service.set_config("a", ConfigUpdate(CompatibilityLevel.NONE))
    service.set_mode("a", Mode.READONLY)
    events = service.store.outbox.events_since(0)
    assert [event.name for event in events] == ["config_changed", "mode_changed"]
    assert events[0].payload["subject"] == "a" and events[0].payload["compatibility"] == "NONE"
    assert events[1].payload == {"subject": "a", "mode": "READONLY", "actor": "User:ANONYMOUS"}
    with pytest.raises(ValueError, match="unknown registry event"), service.store.write():
        service.store.outbox.append("no_such_event", {})


def test_entering_import_mode_announces_the_purge_and_empties_the_schema_cache(
    service: RegistryService,
) -> None:
    service.register("a", avro(V1))
    service.delete_subject("a")
    assert service.get_schema(1).schema_id == 1  # soft-deleted: still found, now cached
    service.set_mode("a", Mode.IMPORT)
    with pytest.raises(errors.SchemaNotFound):
        service.get_schema(1)
    purge = announced(service, "subject_deleted")[-1]
    assert purge == {"subject": "a", "versions": [1], "permanent": True}


def test_a_change_that_rolls_back_announces_nothing(service: RegistryService) -> None:
    service.register("a", avro(V1))
    before = service.store.outbox.latest_seq()
    with pytest.raises(errors.IncompatibleSchema):
        service.register("a", avro(INCOMPATIBLE))
    with pytest.raises(errors.SubjectNotSoftDeleted):
        service.delete_subject("a", permanent=True)
    assert service.store.outbox.latest_seq() == before


# -- concurrency and store errors --------------------------------------------------------


def test_concurrent_registration_from_two_services_over_one_file(tmp_path: Path) -> None:
    """Two services (two connections, as two processes would have) racing on one SQLite file."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    databases = [open_database(url), open_database(url)]
    migrate(databases[0])
    services = [RegistryService(db) for db in databases]
    schemas = [record(f"R{index}", ("id", "long")) for index in range(6)]
    results: list[tuple[str, int, int]] = []
    failures: list[BaseException] = []

    def worker(service: RegistryService) -> None:
        try:
            for text in schemas:
                for subject in ("shared", "also-shared"):
                    registered = service.register(subject, avro(text))
                    results.append((subject, registered.version, registered.schema.schema_id))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    service_settings = [ConfigUpdate(CompatibilityLevel.NONE)]
    services[0].set_config(None, service_settings[0])
    threads = [threading.Thread(target=worker, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    for subject in ("shared", "also-shared"):
        assert services[0].list_versions(subject) == list(range(1, len(schemas) + 1))
    ids_by_schema = {services[0].lookup("shared", avro(text)).schema.schema_id for text in schemas}
    assert len(ids_by_schema) == len(schemas)
    for text in schemas:
        assert (
            services[0].lookup("shared", avro(text)).schema.schema_id
            == services[1].lookup("also-shared", avro(text)).schema.schema_id
        )
    for db in databases:
        db.close()


def test_store_failures_become_store_errors(
    service: RegistryService, database: peewee.Database
) -> None:
    service.register("a", avro(V1))
    database.execute_sql("DROP TABLE registry_subject_version")
    with pytest.raises(errors.StoreError) as caught:
        service.get_schema(1)
    assert caught.value.error_code == 50001


# -- PostgreSQL --------------------------------------------------------------------------


@pytest.mark.postgres
def test_service_over_postgresql(pg_schema_url: str) -> None:
    database = open_database(pg_schema_url)
    migrate(database)
    migrate(database)  # idempotent
    try:
        service = RegistryService(database)
        first = service.register("a b/c", avro(V1))
        assert service.register("other", avro(V1)).schema.schema_id == first.schema.schema_id
        service.register("a b/c", avro(V2_WITH_DEFAULT))
        service.delete_version("a b/c", 1)
        assert service.register("a b/c", avro(V1)).version == 3
        assert service.list_subjects(subject_prefix="a b") == ["a b/c"]
        with pytest.raises(errors.IncompatibleSchema):
            service.register("a b/c", avro(INCOMPATIBLE))
        service.delete_subject("other")
        service.delete_subject("other", permanent=True)
        assert service.get_schema(first.schema.schema_id).schema_id == first.schema.schema_id
    finally:
        database.close()


def test_events_name_the_actor(service: RegistryService) -> None:
    alice = Actor("User:alice")
    service.register("a", avro(V1), actor=alice)
    service.delete_version("a", 1, actor=alice)
    events = service.store.outbox.events_since(0)
    assert [(e.name, e.payload["actor"]) for e in events] == [
        ("schema_registered", "User:alice"),
        ("version_deleted", "User:alice"),
    ]


def test_subjects_are_listed_in_java_string_order_whatever_the_collation(
    pg_schema_url: str,
) -> None:
    """Confluent sorts subjects as Java strings; a PostgreSQL collation must not reorder them."""
    database = open_database(pg_schema_url)
    migrate(database)
    try:
        database.execute_sql(
            'ALTER TABLE registry_subject_version ALTER COLUMN subject TYPE TEXT COLLATE "en-US-x-icu"'
        )
        service = RegistryService(database)
        for subject in ("a", "B", "ab", "a-c"):
            service.register(subject, avro(V1))
        assert service.list_subjects() == ["B", "a", "a-c", "ab"]
        listed = [(item.subject, item.version) for item in service.list_schemas()]
        assert listed == [("B", 1), ("a", 1), ("a-c", 1), ("ab", 1)]
    finally:
        database.close()
