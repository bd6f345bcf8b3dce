"""The ``.proto`` files every Protobuf schema may import without a reference, as in Confluent.

``google/protobuf/*.proto`` come from the ``protobuf`` runtime, ``google/type/*.proto``
from ``googleapis-common-protos`` when it is installed, and Confluent's
``confluent/meta.proto`` and ``confluent/type/decimal.proto`` are kept here as text
(confluent-kafka's serializers never register them: they treat ``confluent/``,
``google/protobuf/`` and ``google/type/`` as built in).
"""

from __future__ import annotations

import functools
import importlib

from google.protobuf import descriptor_pb2

__all__ = ["CONFLUENT_FILES", "is_known", "known_file"]

_GOOGLE_PROTOBUF = (
    "any", "api", "descriptor", "duration", "empty", "field_mask", "source_context",
    "struct", "timestamp", "type", "wrappers",
)  # fmt: skip
_GOOGLE_TYPE = (
    "calendar_period", "color", "date", "datetime", "dayofweek", "decimal", "expr",
    "fraction", "interval", "latlng", "localized_text", "money", "month", "phone_number",
    "postal_address", "quaternion", "timeofday",
)  # fmt: skip

CONFLUENT_FILES: dict[str, str] = {
    "confluent/meta.proto": """syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option go_package = "../confluent";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}
message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
}
extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
""",
    "confluent/type/decimal.proto": """syntax = "proto3";
package confluent.type;

option go_package = "../types";

message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
""",
}


def is_known(name: str) -> bool:
    """True for an import path the registry resolves without a reference."""
    return known_file(name) is not None


@functools.cache
def known_file(name: str) -> descriptor_pb2.FileDescriptorProto | None:
    """The linked descriptor of a well-known file, or ``None`` if ``name`` is not one."""
    module = None
    if name.startswith("google/protobuf/") and name[16:-6] in _GOOGLE_PROTOBUF:
        module = f"google.protobuf.{name[16:-6]}_pb2"
    elif name.startswith("google/type/") and name[12:-6] in _GOOGLE_TYPE:
        module = f"google.type.{name[12:-6]}_pb2"
    if module is not None and name.endswith(".proto"):
        try:
            serialized = importlib.import_module(module).DESCRIPTOR.serialized_pb
        except ImportError:
            return None
        return descriptor_pb2.FileDescriptorProto.FromString(serialized)
    if name in CONFLUENT_FILES:
        from registry.formats.protobuf_link import link
        from registry.formats.protobuf_parse import parse_proto

        return link(parse_proto(CONFLUENT_FILES[name], name), {}).file
    return None
