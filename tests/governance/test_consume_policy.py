"""``consume-access`` in the engine: who may read a restricted topic, which topics are, and a
failing lookup denies (fail closed); ``TopicFields`` reads a topic's tagged fields once per id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from governance.engine import PolicyEngine
from governance.policies import load_policies
from governance.topic_fields import TopicFields
from registry.store import StoredSchema

PERSON = {
    "type": "record",
    "name": "Person",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "email", "type": "string"},
    ],
}


class Lookup:
    def __init__(self) -> None:
        self.latest_ids: dict[str, int] = {}
        self.schemas: dict[int, StoredSchema] = {}
        self.loads = 0

    def add(self, subject: str, schema_id: int, schema: Any, metadata: Any = None) -> None:
        self.latest_ids[subject] = schema_id
        self.schemas[schema_id] = StoredSchema(
            schema_id, "AVRO", json.dumps(schema), (), metadata, None
        )

    def latest(self, subject: str) -> Any:
        found = self.latest_ids.get(subject)
        return SimpleNamespace(version=1, schema_id=found) if found is not None else None

    def schema(self, schema_id: int) -> StoredSchema | None:
        self.loads += 1
        return self.schemas.get(schema_id)


def _engine(**params: Any) -> PolicyEngine:
    engine = PolicyEngine(policies=load_policies(include_entry_points=False))
    engine.set_local("consume-access", True, params)
    return engine


def test_tagged_topics_are_read_by_listed_principals_only() -> None:
    lookup = Lookup()
    lookup.add("people-value", 1, PERSON, {"tags": {"Person.email": ["PII"]}})
    lookup.add("orders-value", 2, PERSON)
    fields = TopicFields(lookup)
    engine = _engine(principals=["User:hr-*", "User:dpo"])
    for principal, topic, allowed in (
        ("User:hr-bot", "people", True),
        ("User:dpo", "people", True),
        ("User:dpo2", "people", False),
        ("User:alice", "people", False),
        ("User:alice", "orders", True),
        ("User:alice", "no-schema", True),
    ):
        decision = engine.check_consume(principal, topic, "client", fields)
        assert decision.allowed is allowed, (principal, topic)
    denied = engine.check_consume("User:alice", "people", None, fields)
    assert denied.reason == (
        "policy consume-access: User:alice may not read topic 'people': its schema field "
        "Person.email is tagged PII"
    )
    for _ in range(3):
        engine.check_consume("User:alice", "people", None, fields)
    assert lookup.loads == 2  # once per schema id


def test_key_schemas_and_patterns_restrict_too() -> None:
    lookup = Lookup()
    key = {"type": "record", "name": "K", "fields": [{"name": "ssn", "type": "string"}]}
    lookup.add("accounts-key", 3, key, {"tags": {"K.ssn": ["PII"]}})
    engine = _engine(principals=[], topics=["secret.*"])
    fields = TopicFields(lookup)
    assert not engine.check_consume("User:x", "accounts", None, fields).allowed
    assert not engine.check_consume("User:x", "secret.plans", None, fields).allowed
    assert engine.check_consume("User:x", "public", None, fields).allowed


def test_a_failing_lookup_denies() -> None:
    def broken(topic: str) -> Mapping[str, tuple[str, ...]]:
        raise RuntimeError("database unreachable")

    decision = _engine().check_consume("User:x", "t", None, broken)
    assert not decision.allowed
    assert "policy consume-access failed (RuntimeError: database unreachable)" in decision.reason


def test_disabled_policy_never_looks_anything_up() -> None:
    engine = PolicyEngine(policies=load_policies(include_entry_points=False))

    def unused(topic: str) -> Mapping[str, tuple[str, ...]]:
        raise AssertionError("looked up")

    assert engine.check_consume("User:x", "t", None, unused).allowed
