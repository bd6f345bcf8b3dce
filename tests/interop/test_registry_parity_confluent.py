"""Data contracts and metadata lookups through confluent-kafka's own client and serializers.

A real ``charter serve http`` process is driven only through
``confluent_kafka.schema_registry``: ``Metadata`` / ``RuleSet`` objects,
``ServerConfig`` defaults, ``get_latest_with_metadata``, the Avro serializer
with ``use.latest.version``, ``use.latest.with.metadata`` and
``normalize.schemas``, and a CEL ``CONDITION`` rule that the client itself
executes (the CEL part of confluent-kafka's ``[rules]`` extra).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import (
    Metadata,
    MetadataProperties,
    MetadataTags,
    Rule,
    RuleKind,
    RuleMode,
    RuleParams,
    RuleSet,
    Schema,
    SchemaRegistryClient,
    SchemaRegistryError,
    header_schema_id_serializer,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.schema_registry_client import ServerConfig
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from tests.registry.confluent_helpers import unique, value_context, wire_schema_id
from tests.registry.server_process import ServerProcess, running_server

pytestmark = pytest.mark.slow

ORDER_V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "parity",
    "fields": [{"name": "id", "type": "long"}, {"name": "item", "type": "string"}],
}
ORDER_V2 = {
    **ORDER_V1,
    "fields": [*ORDER_V1["fields"], {"name": "note", "type": ["null", "string"], "default": None}],
}


def properties(**values: str) -> Metadata:
    return Metadata(MetadataTags({}), MetadataProperties(values), set())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("charter-parity")
    with running_server(data_dir, http_workers=1) as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": server.url})


def test_metadata_and_rule_set_objects_round_trip(client: SchemaRegistryClient) -> None:
    subject = unique("orders-value")
    rule = Rule(
        "checkId",
        None,
        RuleKind.CONDITION,
        RuleMode.WRITE,
        "CEL",
        None,
        RuleParams({"k": "v"}),
        "message.id > 0",
        None,
        "ERROR",
        False,
    )
    metadata = Metadata(
        MetadataTags({"parity.Order.item": ["PII"]}), MetadataProperties({"owner": "t"}), {"item"}
    )
    schema = Schema(json.dumps(ORDER_V1), "AVRO", [], metadata, RuleSet(None, [rule]))
    registered = client.register_schema_full_response(subject, schema)
    latest = client.get_latest_version(subject)
    assert latest.schema_id == registered.schema_id and latest.version == 1
    assert latest.schema.metadata.properties.properties == {"owner": "t"}
    assert latest.schema.metadata.tags.tags == {"parity.Order.item": ["PII"]}
    assert latest.schema.metadata.sensitive == ["item"]
    fetched_rule = latest.schema.rule_set.domain_rules[0]
    assert (fetched_rule.name, fetched_rule.kind, fetched_rule.mode) == (
        "checkId",
        RuleKind.CONDITION,
        RuleMode.WRITE,
    )
    assert fetched_rule.params.params == {"k": "v"} and fetched_rule.on_failure == "ERROR"
    # The same schema without metadata inherits it and is the same registration.
    again = client.register_schema_full_response(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    assert (again.schema_id, again.version) == (registered.schema_id, 1)
    bad_rule = Rule(
        "bad-name",
        None,
        RuleKind.CONDITION,
        RuleMode.WRITE,
        "CEL",
        None,
        None,
        "1",
        None,
        None,
        False,
    )
    with pytest.raises(SchemaRegistryError) as failure:
        client.register_schema(
            subject, Schema(json.dumps(ORDER_V2), "AVRO", [], None, RuleSet(None, [bad_rule]))
        )
    assert (failure.value.http_status_code, failure.value.error_code) == (422, 42210)
    assert failure.value.error_message == "Illegal character in rule name: bad-name"


def test_get_latest_with_metadata(client: SchemaRegistryClient) -> None:
    subject = unique("lwm-value")
    first = client.register_schema(
        subject, Schema(json.dumps(ORDER_V1), "AVRO", [], properties(major="1"))
    )
    second = client.register_schema(
        subject, Schema(json.dumps(ORDER_V2), "AVRO", [], properties(major="2"))
    )
    assert client.get_latest_with_metadata(subject, {"major": "1"}).schema_id == first
    found = client.get_latest_with_metadata(subject, {"major": "2"})
    assert (found.schema_id, found.version, found.subject) == (second, 2, subject)
    with pytest.raises(SchemaRegistryError) as failure:
        client.get_latest_with_metadata(subject, {"major": "3"})
    assert (failure.value.error_code, failure.value.error_message) == (40403, "Schema not found")
    with pytest.raises(SchemaRegistryError) as failure:
        client.get_latest_with_metadata(unique("missing"), {"major": "1"})
    assert failure.value.error_code == 40401


def test_config_defaults_and_overrides_through_server_config(client: SchemaRegistryClient) -> None:
    subject = unique("cfg-value")
    config = ServerConfig(
        compatibility_group="major",
        default_metadata=properties(owner="platform", major="1"),
        override_metadata=properties(env="prod"),
    )
    client.set_config(subject, config)
    got = client.get_config(subject)
    assert got.compatibility_group == "major"
    assert got.default_metadata.properties.properties == {"major": "1", "owner": "platform"}
    assert got.override_metadata.properties.properties == {"env": "prod"}
    client.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    latest = client.get_latest_version(subject)
    assert latest.schema.metadata.properties.properties == {
        "env": "prod",
        "major": "1",
        "owner": "platform",
    }
    # compatibilityGroup: an incompatible schema in a new major version is accepted.
    breaking = {**ORDER_V1, "fields": [{"name": "id", "type": "string"}]}
    registered = client.register_schema_full_response(
        subject, Schema(json.dumps(breaking), "AVRO", [], properties(major="2"))
    )
    assert registered.version == 2
    with pytest.raises(SchemaRegistryError) as failure:
        client.register_schema(
            subject, Schema(json.dumps(breaking), "AVRO", [], properties(major="1"))
        )
    assert failure.value.http_status_code == 409


def test_serializer_use_latest_with_metadata_and_normalize(client: SchemaRegistryClient) -> None:
    topic = unique("orders")
    subject = f"{topic}-value"
    v1_id = client.register_schema(
        subject, Schema(json.dumps(ORDER_V1), "AVRO", [], properties(app="1"))
    )
    client.register_schema(subject, Schema(json.dumps(ORDER_V2), "AVRO", [], properties(app="2")))
    serializer = AvroSerializer(
        client,
        json.dumps(ORDER_V1),
        conf={"auto.register.schemas": False, "use.latest.with.metadata": {"app": "1"}},
    )
    payload = serializer({"id": 1, "item": "book"}, value_context(topic))
    assert wire_schema_id(payload) == v1_id
    deserializer = AvroDeserializer(SchemaRegistryClient(client.config()))
    assert deserializer(payload, value_context(topic)) == {"id": 1, "item": "book"}
    # normalize.schemas: a differently written but equal schema registers as the same one.
    spaced = json.dumps(ORDER_V1, indent=4)
    normalizing = AvroSerializer(client, spaced, conf={"normalize.schemas": True})
    other_topic = unique("normal")
    first = wire_schema_id(normalizing({"id": 2, "item": "pen"}, value_context(other_topic)))
    plain = client.register_schema(
        f"{other_topic}-value", Schema(json.dumps(ORDER_V1), "AVRO"), normalize_schemas=True
    )
    assert first == plain


def test_cel_condition_rule_runs_in_the_client(client: SchemaRegistryClient) -> None:
    pytest.importorskip("celpy", reason="confluent-kafka's CEL executor needs cel-python")
    from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor

    CelExecutor.register()
    topic = unique("checked")
    subject = f"{topic}-value"
    rule = Rule(
        "positiveId",
        None,
        RuleKind.CONDITION,
        RuleMode.WRITE,
        "CEL",
        None,
        None,
        "message.id > 0",
        None,
        None,
        False,
    )
    client.register_schema(
        subject, Schema(json.dumps(ORDER_V1), "AVRO", [], None, RuleSet(None, [rule]))
    )
    serializer = AvroSerializer(
        client,
        json.dumps(ORDER_V1),
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    assert serializer({"id": 5, "item": "ok"}, value_context(topic))[0] == 0
    with pytest.raises(SerializationError) as failure:
        serializer({"id": -1, "item": "bad"}, value_context(topic))
    cause = failure.value.__cause__
    assert type(cause).__name__ == "RuleConditionError" and "message.id > 0" in str(cause)


def test_header_guid_serializer_round_trip(
    client: SchemaRegistryClient, server: ServerProcess
) -> None:
    """confluent-kafka 2.16's GUID framing: the serializer writes the schema's GUID (from the
    registration answer) in a header; a fresh client's deserializer reads it back by GUID."""
    topic = unique("guid-header")
    headers: list[tuple[str, bytes]] = []
    context = SerializationContext(topic, MessageField.VALUE, headers)
    serialize = AvroSerializer(
        client,
        json.dumps(ORDER_V1),
        conf={"schema.id.serializer": header_schema_id_serializer},
    )
    payload = serialize({"id": 7, "item": "seven"}, context)
    ((name, value),) = headers
    guid = client.get_latest_version(f"{topic}-value").guid
    assert name == "__value_schema_id" and value == b"\x01" + uuid.UUID(guid).bytes
    fresh = SchemaRegistryClient({"url": server.url})
    assert AvroDeserializer(fresh)(payload, context) == {"id": 7, "item": "seven"}
