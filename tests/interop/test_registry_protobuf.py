"""confluent-kafka's Protobuf serializer, deserializer and registry client against ``charter serve http``.

The ``.proto`` files are compiled with protoc (``grpc_tools.protoc``) in the test
setup into ``_pb2`` modules, exactly as an application would generate them; the
serializer registers their base64 ``FileDescriptorProto`` (and one subject per
imported file, as references), the deserializer reads the writer schema back
with ``?format=serialized``. Serializers need no broker.
"""

from __future__ import annotations

import base64
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from google.protobuf import descriptor_pb2

from tests.registry.confluent_helpers import unique, value_context, wire_schema_id
from tests.registry.server_process import ServerProcess, running_server

pytestmark = pytest.mark.slow

PROTO_FILES = {
    "charter_interop/customer.proto": """
syntax = "proto3";
package charter.interop;

message Customer {
  string name = 1;
  string email = 2;
}
""",
    "charter_interop/order.proto": """
syntax = "proto3";
package charter.interop;

import "google/protobuf/timestamp.proto";
import "charter_interop/customer.proto";

message Order {
  int64 id = 1;
  Customer customer = 2;
  google.protobuf.Timestamp placed_at = 3;
  map<string, int32> quantities = 4;
  oneof payment {
    string card = 5;
    bytes token = 6;
  }
  message Line {
    string sku = 1;
    double price = 2;
  }
  repeated Line lines = 7;
}
""",
}
HEADERS = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The compiled ``order_pb2`` module (and ``customer_pb2`` imported by it)."""
    import grpc_tools

    root = tmp_path_factory.mktemp("protos")
    for name, text in PROTO_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    include = Path(grpc_tools.__file__).parent / "_proto"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"-I{include}",
         f"--python_out={root}", *PROTO_FILES],
        check=True,
        cwd=root,
    )  # fmt: skip
    (root / "charter_interop" / "__init__.py").write_text("")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("charter_interop.order_pb2")
    finally:
        sys.path.remove(str(root))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("charter-proto"), http_workers=2) as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": server.url})


def test_schema_types_include_protobuf(client: SchemaRegistryClient) -> None:
    assert "PROTOBUF" in client.get_schema_types()


def test_serializer_round_trip_with_references(client: SchemaRegistryClient, generated) -> None:  # type: ignore[no-untyped-def]
    order_class = generated.Order
    topic = unique("orders")
    serializer = ProtobufSerializer(order_class, client)
    deserializer = ProtobufDeserializer(order_class)
    order = order_class(id=42, card="4111")
    order.customer.name = "Ada"
    order.quantities["apple"] = 3
    order.lines.add(sku="a-1", price=2.5)
    order.placed_at.seconds = 1_700_000_000

    payload = serializer(order, value_context(topic))
    assert payload[5:6] == b"\x00"  # the message-index shortcut for the first message
    assert deserializer(payload, value_context(topic)) == order

    schema_id = wire_schema_id(payload)
    registered = client.get_schema(schema_id)
    assert registered.schema_type == "PROTOBUF"
    assert "message Order {" in registered.schema_str  # stored as text, as Confluent does
    assert [(ref.name, ref.subject) for ref in registered.references] == [
        ("charter_interop/customer.proto", "charter_interop/customer.proto")
    ]
    assert client.get_latest_version(f"{topic}-value").schema_id == schema_id

    # A second serializer (fresh client) finds the same id by lookup of the base64 form.
    again = ProtobufSerializer(order_class, SchemaRegistryClient(client.config()))
    assert wire_schema_id(again(order, value_context(topic))) == schema_id


def test_nested_message_uses_index_path(client: SchemaRegistryClient, generated) -> None:  # type: ignore[no-untyped-def]
    line_class = generated.Order.Line
    topic = unique("lines")
    payload = ProtobufSerializer(line_class, client)(
        line_class(sku="x", price=1.0), value_context(topic)
    )
    # [0, 1]: Line follows the map entry message that map<string, int32> declares first
    assert payload[5:8] == b"\x04\x00\x02"
    assert ProtobufDeserializer(line_class)(payload, value_context(topic)).sku == "x"


def test_serialized_format_returns_the_descriptor(
    server: ServerProcess, client: SchemaRegistryClient
) -> None:
    subject = unique("fmt-value")
    text = 'syntax = "proto3";\npackage fmt;\nmessage Ping { string id = 1; }\n'
    schema_id = client.register_schema(subject, Schema(text, "PROTOBUF"))
    answer = requests.get(
        f"{server.url}/schemas/ids/{schema_id}?format=serialized", timeout=10
    ).json()
    file = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(answer["schema"]))
    assert file.package == "fmt" and file.message_type[0].name == "Ping"
    plain = requests.get(f"{server.url}/schemas/ids/{schema_id}", timeout=10).json()
    assert (
        plain["schema"]
        == 'syntax = "proto3";\npackage fmt;\n\nmessage Ping {\n  string id = 1;\n}\n'
    )
    assert plain["schemaType"] == "PROTOBUF"
    version = client.get_version(subject, 1, fmt="serialized")
    assert version.schema.schema_str == answer["schema"]


def test_text_and_base64_register_as_one_schema(client: SchemaRegistryClient) -> None:
    text = 'syntax = "proto3";\npackage same;\nmessage A {\n  int32 a = 1;\n}\n'
    subject = unique("same-value")
    first = client.register_schema(subject, Schema(text, "PROTOBUF"))
    file = descriptor_pb2.FileDescriptorProto(name="a.proto", package="same", syntax="proto3")
    file.message_type.add(name="A").field.add(name="a", number=1, type=5, label=1)
    encoded = base64.b64encode(file.SerializeToString()).decode()
    assert client.register_schema(subject, Schema(encoded, "PROTOBUF")) == first
    assert client.lookup_schema(subject, Schema(encoded, "PROTOBUF")).version == 1


def test_compatibility_and_verbose_messages(
    server: ServerProcess, client: SchemaRegistryClient
) -> None:
    subject = unique("compat-value")
    v1 = 'syntax = "proto3";\nmessage A { int32 a = 1; string b = 2; }\nmessage B {}\n'
    client.register_schema(subject, Schema(v1, "PROTOBUF"))
    added = (
        'syntax = "proto3";\nmessage A { int32 a = 1; string b = 2; int64 c = 3; }\nmessage B {}\n'
    )
    assert client.test_compatibility(subject, Schema(added, "PROTOBUF")) is True
    broken = 'syntax = "proto3";\nmessage A { string a = 1; }\n'
    answer = requests.post(
        f"{server.url}/compatibility/subjects/{subject}/versions/latest?verbose=true",
        json={"schema": broken, "schemaType": "PROTOBUF"},
        headers=HEADERS,
        timeout=10,
    ).json()
    assert answer["is_compatible"] is False
    kinds = " ".join(answer["messages"])
    assert "FIELD_SCALAR_KIND_CHANGED" in kinds and "MESSAGE_REMOVED" in kinds
    with pytest.raises(SchemaRegistryError) as raised:
        client.register_schema(subject, Schema(broken, "PROTOBUF"))
    assert raised.value.http_status_code == 409


def test_references_across_subjects(client: SchemaRegistryClient) -> None:
    item_subject = unique("item")
    item = 'syntax = "proto3";\npackage ref;\nmessage Item { string sku = 1; }\n'
    client.register_schema(item_subject, Schema(item, "PROTOBUF"))
    root = 'syntax = "proto3";\npackage ref;\nimport "ref/item.proto";\nmessage Cart { repeated Item items = 1; }\n'
    reference = SchemaReference("ref/item.proto", item_subject, 1)
    schema_id = client.register_schema(unique("cart-value"), Schema(root, "PROTOBUF", [reference]))
    assert client.get_schema(schema_id).references[0].name == "ref/item.proto"
    with pytest.raises(SchemaRegistryError) as raised:
        client.register_schema(unique("cart-value"), Schema(root, "PROTOBUF"))
    assert raised.value.error_code == 42201
    assert 'Import "ref/item.proto" was not found' in raised.value.error_message


def test_normalize_registers_the_normal_form(server: ServerProcess) -> None:
    subject = unique("norm-value")
    text = 'syntax = "proto3";\npackage n;\nmessage M { N b = 2; int32 a = 1; }\nmessage N {}\n'
    answer = requests.post(
        f"{server.url}/subjects/{subject}/versions?normalize=true",
        json={"schema": text, "schemaType": "PROTOBUF"},
        headers=HEADERS,
        timeout=10,
    ).json()
    stored = requests.get(f"{server.url}/schemas/ids/{answer['id']}/schema", timeout=10).text
    assert "int32 a = 1;\n  .n.N b = 2;" in stored
    shuffled = (
        'syntax = "proto3";\npackage n;\nmessage M { int32 a = 1; .n.N b = 2; }\nmessage N {}\n'
    )
    lookup = requests.post(
        f"{server.url}/subjects/{subject}?normalize=true",
        json={"schema": shuffled, "schemaType": "PROTOBUF"},
        headers=HEADERS,
        timeout=10,
    ).json()
    assert lookup["id"] == answer["id"]


@pytest.mark.parametrize(
    "text",
    ["message {", 'syntax = "proto3";\nmessage A { Nope n = 1; }', "\x00\x01", "AAAA", "syntax"],
)
def test_bad_schemas_answer_42201(server: ServerProcess, text: str) -> None:
    answer = requests.post(
        f"{server.url}/subjects/{unique('bad-value')}/versions",
        json={"schema": text, "schemaType": "PROTOBUF"},
        headers=HEADERS,
        timeout=10,
    )
    assert answer.status_code == 422
    assert answer.json()["error_code"] == 42201
    assert answer.json()["message"]
