"""Confluent's own Python client and serializers against a real ``charter serve http`` process.

Nothing here knows Charter's internals: the server is started as users start
it, on a free port over a temporary data directory, and driven only through
``confluent_kafka.schema_registry`` — the registry client, the Avro and JSON
Schema serializers and deserializers — so a pass means existing Confluent
applications work unchanged. Serializers need no broker: they are called with
a ``SerializationContext`` and their bytes fed back to the deserializers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

from tests.registry.confluent_helpers import unique, value_context, wire_schema_id
from tests.registry.server_process import ServerProcess, running_server

pytestmark = pytest.mark.slow

USER_V1 = {
    "type": "record",
    "name": "User",
    "namespace": "com.example",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "age", "type": "int"},
    ],
}
# Adds an optional field with a default: backward, forward and fully compatible with V1.
USER_V2 = {
    **USER_V1,
    "fields": [*USER_V1["fields"], {"name": "email", "type": ["null", "string"], "default": None}],
}
# Changes a field's type int -> string: not readable either way.
USER_INCOMPATIBLE = {
    **USER_V1,
    "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "string"}],
}
ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "com.example",
    "fields": [{"name": "street", "type": "string"}, {"name": "city", "type": "string"}],
}
CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "namespace": "com.example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "address", "type": "com.example.Address"},
    ],
}
ORDER_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "item": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 1},
    },
    "required": ["id", "item"],
}


def avro(document: dict) -> Schema:
    return Schema(json.dumps(document), "AVRO")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("charter-interop")
    with running_server(data_dir, http_workers=2) as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> SchemaRegistryClient:
    """A fresh client per test, so no client-side cache hides what the server answers."""
    return SchemaRegistryClient({"url": server.url})


def test_register_is_idempotent_and_schema_is_fetchable_by_id(client: SchemaRegistryClient) -> None:
    subject = unique("users-value")
    schema_id = client.register_schema(subject, avro(USER_V1))
    assert isinstance(schema_id, int) and schema_id > 0
    assert (
        SchemaRegistryClient(client.config()).register_schema(subject, avro(USER_V1)) == schema_id
    )

    fetched = client.get_schema(schema_id)
    assert fetched.schema_type == "AVRO"
    assert json.loads(fetched.schema_str) == USER_V1
    assert client.get_schema_types() and "AVRO" in client.get_schema_types()


def test_same_schema_gets_same_id_under_another_subject(client: SchemaRegistryClient) -> None:
    first = client.register_schema(unique("a-value"), avro(USER_V1))
    second = client.register_schema(unique("b-value"), avro(USER_V1))
    assert first == second


def test_latest_version_get_version_lookup_and_listing(client: SchemaRegistryClient) -> None:
    subject = unique("evolving-value")
    id_v1 = client.register_schema(subject, avro(USER_V1))
    id_v2 = client.register_schema(subject, avro(USER_V2))
    assert id_v1 != id_v2

    latest = client.get_latest_version(subject)
    assert (latest.subject, latest.version, latest.schema_id) == (subject, 2, id_v2)
    assert json.loads(latest.schema.schema_str) == USER_V2

    first = client.get_version(subject, 1)
    assert (first.subject, first.version, first.schema_id) == (subject, 1, id_v1)

    found = client.lookup_schema(subject, avro(USER_V1))
    assert (found.subject, found.version, found.schema_id) == (subject, 1, id_v1)

    assert client.get_versions(subject) == [1, 2]
    assert subject in client.get_subjects()
    assert subject in client.get_subjects(subject_prefix=subject[:-3])
    versions = client.get_schema_versions(id_v2)
    assert [(item.subject, item.version) for item in versions] == [(subject, 2)]
    assert client.get_subjects_by_schema_id(id_v2) == [subject]


def test_lookup_of_unregistered_schema_and_unknown_subject(client: SchemaRegistryClient) -> None:
    subject = unique("lookup-value")
    with pytest.raises(SchemaRegistryError) as unknown_subject:
        client.lookup_schema(subject, avro(USER_V1))
    assert (unknown_subject.value.http_status_code, unknown_subject.value.error_code) == (
        404,
        40401,
    )

    client.register_schema(subject, avro(USER_V1))
    with pytest.raises(SchemaRegistryError) as unknown_schema:
        client.lookup_schema(subject, avro(USER_V2))
    assert (unknown_schema.value.http_status_code, unknown_schema.value.error_code) == (404, 40403)

    with pytest.raises(SchemaRegistryError) as unknown_id:
        client.get_schema(2_000_000_000)
    assert unknown_id.value.error_code == 40403

    with pytest.raises(SchemaRegistryError) as unknown_version:
        client.get_version(subject, 7)
    assert unknown_version.value.error_code == 40402


def test_soft_then_permanent_subject_delete(client: SchemaRegistryClient) -> None:
    subject = unique("doomed-value")
    schema_id = client.register_schema(subject, avro(USER_V1))
    client.register_schema(subject, avro(USER_V2))

    with pytest.raises(SchemaRegistryError) as not_soft_deleted:
        client.delete_subject(subject, permanent=True)
    assert not_soft_deleted.value.error_code == 40405

    assert client.delete_subject(subject) == [1, 2]
    assert subject not in client.get_subjects()
    assert subject in client.get_subjects(deleted=True)
    # Ids stay readable after a soft delete: old records must still decode.
    assert (
        json.loads(SchemaRegistryClient(client.config()).get_schema(schema_id).schema_str)
        == USER_V1
    )

    with pytest.raises(SchemaRegistryError) as again:
        client.delete_subject(subject)
    assert again.value.error_code == 40404

    assert client.delete_subject(subject, permanent=True) == [1, 2]
    assert subject not in client.get_subjects(deleted=True)
    with pytest.raises(SchemaRegistryError) as gone:
        client.get_versions(subject)
    assert gone.value.error_code == 40401


def test_soft_deleted_subject_can_be_registered_again(client: SchemaRegistryClient) -> None:
    subject = unique("reborn-value")
    schema_id = client.register_schema(subject, avro(USER_V1))
    client.delete_subject(subject)
    assert (
        SchemaRegistryClient(client.config()).register_schema(subject, avro(USER_V1)) == schema_id
    )
    assert client.get_versions(subject) == [2]
    # Confluent tombstones the older soft-deleted version holding the same schema id
    # (KafkaSchemaRegistry.register), so it is gone even with deleted=true.
    assert client.get_versions(subject, deleted=True) == [2]


def test_version_delete(client: SchemaRegistryClient) -> None:
    subject = unique("versions-value")
    client.register_schema(subject, avro(USER_V1))
    client.register_schema(subject, avro(USER_V2))
    assert client.delete_version(subject, 2) == 2
    assert client.get_versions(subject) == [1]
    assert client.get_latest_version(subject).version == 1
    assert client.delete_version(subject, 2, permanent=True) == 2
    assert client.get_versions(subject, deleted=True) == [1]


def test_compatibility_levels_and_checks(client: SchemaRegistryClient) -> None:
    subject = unique("compat-value")
    client.register_schema(subject, avro(USER_V1))

    assert client.get_compatibility() == "BACKWARD"
    with pytest.raises(SchemaRegistryError) as not_configured:
        client.get_compatibility(subject)
    assert not_configured.value.error_code == 40408

    client.set_compatibility(subject, "FULL")
    assert client.get_compatibility(subject) == "FULL"
    assert client.get_compatibility() == "BACKWARD"

    assert client.test_compatibility(subject, avro(USER_V2)) is True
    assert client.test_compatibility(subject, avro(USER_INCOMPATIBLE)) is False
    assert client.test_compatibility(subject, avro(USER_INCOMPATIBLE), version=1) is False
    assert client.test_compatibility_all_versions(subject, avro(USER_V2)) is True

    with pytest.raises(SchemaRegistryError) as incompatible:
        client.register_schema(subject, avro(USER_INCOMPATIBLE))
    assert (incompatible.value.http_status_code, incompatible.value.error_code) == (409, 409)
    assert client.get_versions(subject) == [1]

    client.set_compatibility(subject, "NONE")
    assert client.register_schema(subject, avro(USER_INCOMPATIBLE)) > 0
    assert client.get_versions(subject) == [1, 2]

    with pytest.raises(SchemaRegistryError) as invalid_level:
        client.set_compatibility(subject, "SIDEWAYS")
    assert invalid_level.value.error_code == 42203

    client.delete_config(subject)
    with pytest.raises(SchemaRegistryError):
        client.get_compatibility(subject)


def test_global_compatibility_round_trip(client: SchemaRegistryClient) -> None:
    client.set_compatibility(level="FORWARD_TRANSITIVE")
    try:
        assert client.get_compatibility() == "FORWARD_TRANSITIVE"
    finally:
        client.set_compatibility(level="BACKWARD")
    assert client.get_compatibility() == "BACKWARD"


def test_references(client: SchemaRegistryClient) -> None:
    address_subject = f"{unique('address')}-value"
    customer_subject = f"{unique('customer')}-value"
    address_id = client.register_schema(address_subject, avro(ADDRESS))
    reference = SchemaReference("com.example.Address", address_subject, 1)
    customer = Schema(json.dumps(CUSTOMER), "AVRO", [reference])
    customer_id = client.register_schema(customer_subject, customer)
    assert customer_id != address_id

    fetched = SchemaRegistryClient(client.config()).get_schema(customer_id)
    assert [(ref.name, ref.subject, ref.version) for ref in fetched.references] == [
        ("com.example.Address", address_subject, 1)
    ]
    assert client.get_referenced_by(address_subject, 1) == [customer_id]

    with pytest.raises(SchemaRegistryError) as referenced:
        client.delete_version(address_subject, 1)
    assert referenced.value.error_code == 42206

    dangling = Schema(
        json.dumps(CUSTOMER), "AVRO", [SchemaReference("com.example.Address", unique("nope"), 1)]
    )
    with pytest.raises(SchemaRegistryError) as missing:
        client.register_schema(unique("dangling-value"), dangling)
    assert missing.value.http_status_code in (404, 422)

    # Deserializing a record written with the referring schema resolves the reference.
    serializer = AvroSerializer(
        client, customer, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    record = {"id": 7, "address": {"street": "Main St 1", "city": "Springfield"}}
    topic = customer_subject.removesuffix("-value")
    payload = serializer(record, value_context(topic))
    assert wire_schema_id(payload) == customer_id
    assert (
        AvroDeserializer(SchemaRegistryClient(client.config()))(payload, value_context(topic))
        == record
    )


def test_avro_round_trip_with_auto_register(client: SchemaRegistryClient) -> None:
    topic = unique("orders")
    serializer = AvroSerializer(client, json.dumps(USER_V1))
    record = {"name": "Ada", "age": 36}
    payload = serializer(record, value_context(topic))

    registered = client.get_latest_version(f"{topic}-value")
    assert registered.version == 1
    assert wire_schema_id(payload) == registered.schema_id

    deserializer = AvroDeserializer(SchemaRegistryClient(client.config()))
    assert deserializer(payload, value_context(topic)) == record


def test_avro_use_latest_version(client: SchemaRegistryClient) -> None:
    topic = unique("people")
    subject = f"{topic}-value"
    client.register_schema(subject, avro(USER_V1))
    latest_id = client.register_schema(subject, avro(USER_V2))

    serializer = AvroSerializer(
        client,
        json.dumps(USER_V1),
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    record = {"name": "Grace", "age": 85, "email": "grace@example.com"}
    payload = serializer(record, value_context(topic))
    assert wire_schema_id(payload) == latest_id
    assert (
        AvroDeserializer(SchemaRegistryClient(client.config()))(payload, value_context(topic))
        == record
    )


def test_avro_without_auto_register_fails_on_unknown_subject(client: SchemaRegistryClient) -> None:
    serializer = AvroSerializer(client, json.dumps(USER_V1), conf={"auto.register.schemas": False})
    with pytest.raises(Exception) as failure:
        serializer({"name": "x", "age": 1}, value_context(unique("unregistered")))
    cause = (
        failure.value if isinstance(failure.value, SchemaRegistryError) else failure.value.__cause__
    )
    assert isinstance(cause, SchemaRegistryError) or "40401" in str(failure.value)


def test_json_schema_round_trip_with_auto_register(client: SchemaRegistryClient) -> None:
    topic = unique("json-orders")
    serializer = JSONSerializer(json.dumps(ORDER_JSON), client)
    order = {"id": 1, "item": "book", "quantity": 2}
    payload = serializer(order, value_context(topic))

    registered = client.get_latest_version(f"{topic}-value")
    assert registered.schema.schema_type == "JSON"
    assert wire_schema_id(payload) == registered.schema_id
    assert json.loads(payload[5:]) == order

    from_registry = JSONDeserializer(
        None, schema_registry_client=SchemaRegistryClient(client.config())
    )
    assert from_registry(payload, value_context(topic)) == order
    assert JSONDeserializer(json.dumps(ORDER_JSON))(payload, value_context(topic)) == order


def test_json_schema_use_latest_version(client: SchemaRegistryClient) -> None:
    topic = unique("json-latest")
    subject = f"{topic}-value"
    schema_id = client.register_schema(subject, Schema(json.dumps(ORDER_JSON), "JSON"))
    serializer = JSONSerializer(
        json.dumps(ORDER_JSON),
        client,
        conf={"auto.register.schemas": False, "use.latest.version": True},
    )
    order = {"id": 2, "item": "pen"}
    payload = serializer(order, value_context(topic))
    assert wire_schema_id(payload) == schema_id
    deserializer = JSONDeserializer(
        None, schema_registry_client=SchemaRegistryClient(client.config())
    )
    assert deserializer(payload, value_context(topic)) == order


@pytest.mark.parametrize("subject", ["team/a b-value", "with spaces only", "a/b/c", "ümlaut/ß 1"])
def test_subjects_with_slashes_and_spaces(client: SchemaRegistryClient, subject: str) -> None:
    subject = f"{subject} {uuid.uuid4().hex[:6]}"
    schema_id = client.register_schema(subject, avro(USER_V1))
    assert subject in client.get_subjects()
    assert client.get_versions(subject) == [1]
    latest = client.get_latest_version(subject)
    assert (latest.subject, latest.schema_id) == (subject, schema_id)
    assert client.lookup_schema(subject, avro(USER_V1)).version == 1
    client.set_compatibility(subject, "NONE")
    assert client.get_compatibility(subject) == "NONE"
    assert client.test_compatibility(subject, avro(USER_INCOMPATIBLE)) is True
    assert client.delete_subject(subject) == [1]
    assert client.delete_subject(subject, permanent=True) == [1]
    assert subject not in client.get_subjects(deleted=True)


def test_serializer_with_slash_and_space_in_topic(client: SchemaRegistryClient) -> None:
    topic = f"team/x {uuid.uuid4().hex[:6]}"
    serializer = AvroSerializer(client, json.dumps(USER_V1))
    payload = serializer({"name": "Linus", "age": 54}, value_context(topic))
    assert wire_schema_id(payload) == client.get_latest_version(f"{topic}-value").schema_id
    deserializer = AvroDeserializer(SchemaRegistryClient(client.config()))
    assert deserializer(payload, value_context(topic)) == {"name": "Linus", "age": 54}


def test_invalid_schema_is_rejected_with_42201(client: SchemaRegistryClient) -> None:
    with pytest.raises(SchemaRegistryError) as invalid:
        client.register_schema(unique("broken-value"), Schema('{"type": "recrod"}', "AVRO"))
    assert (invalid.value.http_status_code, invalid.value.error_code) == (422, 42201)
    with pytest.raises(SchemaRegistryError) as invalid_json:
        client.register_schema(unique("broken-json"), Schema('{"type": 12}', "JSON"))
    assert invalid_json.value.error_code == 42201


def test_mode_round_trip(client: SchemaRegistryClient) -> None:
    subject = unique("mode-value")
    assert client.get_global_mode() == "READWRITE"
    assert client.update_mode(subject, "READONLY") == "READONLY"
    assert client.get_mode(subject) == "READONLY"
    with pytest.raises(SchemaRegistryError) as read_only:
        client.register_schema(subject, avro(USER_V1))
    assert read_only.value.error_code == 42205
    assert client.delete_mode(subject) == "READONLY"
    assert client.register_schema(subject, avro(USER_V1)) > 0
