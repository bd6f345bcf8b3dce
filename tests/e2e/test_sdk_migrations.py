"""READ-mode rules and JSONATA migration rules on consume, against ``charter up``.

Records written with one version of a subject are read with another
(``use_latest_version``, ``use_latest_with_metadata``) by the SDK's Consumer
and, side by side, by confluent-kafka's ``AvroDeserializer`` with its own
``JsonataExecutor``: both must hand out the same values. READ-mode condition
rules send a failing record to the consumer's ``on_error`` policy.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import confluent_kafka
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentRegistry
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.rules.jsonata.jsonata_executor import JsonataExecutor
from confluent_kafka.serialization import MessageField, SerializationContext

from charter import Producer, SchemaRegistryClient
from charter.sdk import RecordErrorRaised, Schema
from tests.charter.processes import CharterProcess, running_up
from tests.charter.sdk.people import PERSON_NICK, PERSON_V1, SIZE_TO_HEIGHT
from tests.e2e.test_sdk import consume, raw_records

V1, V2, UPGRADE = PERSON_V1, PERSON_NICK, SIZE_TO_HEIGHT
DOWNGRADE = (
    "$merge([$sift($, function($v, $k) {$k != 'height' and $k != 'nick'}), {'size': $.'height'}])"
)
MIGRATIONS = {
    "migrationRules": [
        {"name": "sizeToHeight", "kind": "TRANSFORM", "type": "JSONATA", "mode": "UPGRADE",
         "expr": UPGRADE},
        {"name": "heightToSize", "kind": "TRANSFORM", "type": "JSONATA", "mode": "DOWNGRADE",
         "expr": DOWNGRADE},
    ]
}  # fmt: skip


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    JsonataExecutor.register()  # confluent's deserializer runs JSONATA rules with it
    with running_up(tmp_path_factory.mktemp("sdk-migrations") / "data") as process:
        yield process


@pytest.fixture
def topic() -> str:
    return f"people-{uuid.uuid4().hex[:8]}"


def two_versions(charter: CharterProcess, topic: str) -> tuple[int, int]:
    """v1 (app=v1) and v2 (app=v2, migration rules) of ``<topic>-value``; their ids."""
    registry = SchemaRegistryClient(charter.url)
    subject = f"{topic}-value"
    registry.set_compatibility("NONE", subject)  # size -> height is a breaking rename
    first = registry.register(
        subject, Schema(json.dumps(V1), metadata={"properties": {"app": "v1"}})
    )
    second = registry.register(
        subject,
        Schema(json.dumps(V2), metadata={"properties": {"app": "v2"}}, rule_set=MIGRATIONS),
    )
    return first, second


def confluent_read(charter: CharterProcess, topic: str, count: int, conf: dict) -> list[Any]:
    deserialize = AvroDeserializer(ConfluentRegistry({"url": charter.url}), conf=conf)
    context = SerializationContext(topic, MessageField.VALUE)
    return [deserialize(raw.value(), context) for raw in raw_records(charter, topic, count)]


def test_upgrade_and_downgrade_match_confluents_deserializer(charter, topic):
    first, second = two_versions(charter, topic)
    with Producer(charter.bootstrap, charter.url, auto_register=False) as producer:
        producer.produce(topic, {"name": "ann", "size": 170}, schema=json.dumps(V1))
        producer.produce(topic, {"name": "bob", "height": 180, "nick": "b"}, schema=json.dumps(V2))

    latest = consume(charter, topic, 2, use_latest_version=True)
    assert [m.schema_id for m in latest] == [first, second]
    upgraded = [m.value for m in latest]
    assert upgraded == [
        {"name": "ann", "height": 170, "nick": None},
        {"name": "bob", "height": 180, "nick": "b"},
    ]
    # Confluent hands out the migrated dict as the rules left it; the SDK then resolves it
    # into the reader schema, so the reader's defaulted field ("nick") is there too.
    assert confluent_read(charter, topic, 2, {"use.latest.version": True}) == [
        {"name": "ann", "height": 170},
        upgraded[1],
    ]

    old = consume(charter, topic, 2, use_latest_with_metadata={"app": "v1"})
    downgraded = [m.value for m in old]
    assert downgraded == [{"name": "ann", "size": 170}, {"name": "bob", "size": 180}]
    assert confluent_read(charter, topic, 2, {"use.latest.with.metadata": {"app": "v1"}}) == (
        downgraded
    )
    # Without a reader version each record comes back as it was written.
    assert [m.value for m in consume(charter, topic, 2)] == [
        {"name": "ann", "size": 170},
        {"name": "bob", "height": 180, "nick": "b"},
    ]


READ_RULES = {
    "domainRules": [
        {"name": "positiveSize", "kind": "CONDITION", "type": "CEL", "mode": "READ",
         "expr": "message.size > 0"},
    ]
}  # fmt: skip


def test_read_rules_send_failures_to_the_error_policy(charter, topic):
    registry = SchemaRegistryClient(charter.url)
    registry.register(f"{topic}-value", Schema(json.dumps(V1), rule_set=READ_RULES))
    with Producer(charter.bootstrap, charter.url, auto_register=False) as producer:
        for name, size in (("ok", 5), ("bad", -1), ("fine", 7)):
            producer.produce(topic, {"name": name, "size": size})  # READ rules: not on write

    skipping = consume(charter, topic, 2, on_error="skip")
    assert [m.value["name"] for m in skipping] == ["ok", "fine"]

    dlq = f"{topic}-dlq"
    assert [m.value["name"] for m in consume(charter, topic, 2, on_error="dlq", dlq_topic=dlq)] == [
        "ok",
        "fine",
    ]
    (dead,) = raw_records(charter, dlq, 1)
    headers = dict(dead.headers())
    assert b"positiveSize" in headers["charter.dlq.reason"]
    assert headers["charter.dlq.source.offset"] == b"1"

    with pytest.raises(RecordErrorRaised, match="positiveSize"):
        consume(charter, topic, 3, on_error="raise")


def test_json_schema_upgrade(charter, topic):
    registry = SchemaRegistryClient(charter.url)
    subject = f"{topic}-value"
    registry.set_compatibility("NONE", subject)
    v1 = {"type": "object", "properties": {"size": {"type": "integer"}}, "required": ["size"]}
    v2 = {
        "type": "object",
        "properties": {"height": {"type": "integer"}},
        "required": ["height"],
        "additionalProperties": False,
    }
    registry.register(subject, Schema(json.dumps(v1), "JSON"))
    registry.register(subject, Schema(json.dumps(v2), "JSON", rule_set=MIGRATIONS))
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    with Producer(charter.bootstrap, charter.url, auto_register=False) as producer:
        producer.produce(topic, {"size": 3}, schema=Schema(json.dumps(v1), "JSON"))
    raw.flush(10)
    (message,) = consume(charter, topic, 1, use_latest_version=True)
    assert message.value == {"height": 3}


def test_cli_consume_with_the_latest_version(charter, topic):
    from click.testing import CliRunner

    from charter.cli import main

    two_versions(charter, topic)
    with Producer(charter.bootstrap, charter.url, auto_register=False) as producer:
        producer.produce(topic, {"name": "ann", "size": 170}, schema=json.dumps(V1))
    prefix = ["--bootstrap-server", charter.bootstrap, "--registry-url", charter.url]
    consumed = CliRunner().invoke(
        main,
        [*prefix, "consume", topic, "--from-beginning", "--timeout", "10", "--max-messages", "1",
         "--use-latest-version"],
    )  # fmt: skip
    assert consumed.exit_code == 0, consumed.output
    assert json.loads(consumed.output) == {"name": "ann", "height": 170, "nick": None}
