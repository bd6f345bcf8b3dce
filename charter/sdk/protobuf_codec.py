"""Protobuf in the SDK: the codec of a registered schema, and schemas derived from generated classes.

``ProtobufCodec`` writes Confluent's Protobuf frame (magic byte, schema id, the
message-index array, the message) from a generated message instance (its
index path found by its full name in the registered file) or from a dict
(the file's first message; ``ValidationError`` names the field that does not
fit), and reads payloads back into dicts (``registry.formats.protobuf_values``,
field names as declared, enums by name). Rules see the message as the gate
does (``rule_input``).

``schema_of_message_class`` is what Confluent's ``ProtobufSerializer`` does
with a generated class: each imported file that is not built in
(``google/protobuf/``, ``google/type/``, ``confluent/``) is registered first
under a subject named after its import path, and becomes a reference; the
file itself is sent as ``.proto`` text, written from its descriptor by the
registry's own Protobuf format.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.message import Message

from charter.sdk.codecs import frame_header
from charter.sdk.errors import RegistryClientError, ValidationError
from charter.sdk.registry_client import Schema, SchemaRegistryClient
from registry.errors import RegistryError
from registry.formats import get_format
from registry.formats.base import ResolvedReference
from registry.formats.protobuf_known import is_known
from registry.formats.protobuf_values import (
    ValueMismatch,
    View,
    from_python,
    rule_view,
    to_python,
)
from registry.formats.protobuf_wire import message_indexes_of, write_message_indexes

__all__ = [
    "ProtobufCodec",
    "is_message",
    "is_message_class",
    "looks_like_proto",
    "schema_of_message_class",
]

_BUILT_IN = ("google/protobuf/", "google/type/", "confluent/")


def is_message(value: Any) -> bool:
    """True for a Protobuf message instance."""
    return isinstance(value, Message)


def is_message_class(schema: Any) -> bool:
    """True for a generated Protobuf message class (``order_pb2.Order``)."""
    return isinstance(schema, type) and issubclass(schema, Message)


def looks_like_proto(text: str) -> bool:
    """True for ``.proto`` text (what is not JSON and starts like a .proto file)."""
    words = text.lstrip().split(None, 1)
    return bool(words) and (
        words[0].startswith(("syntax", "edition", "package", "message", "import", "option"))
        or words[0].startswith(("//", "/*"))
    )


class ProtobufCodec:
    """A registered Protobuf schema compiled once (``charter.sdk.codecs.Codec``)."""

    schema_type = "PROTOBUF"

    def __init__(self, schema_id: int, schema_str: str, references: Sequence[Any] = ()) -> None:
        self.schema_id = schema_id
        try:
            self.document = get_format("PROTOBUF").parse(schema_str, tuple(references))
        except RegistryError as error:
            raise ValidationError(f"#: schema {schema_id} cannot be used: {error}", "#") from None
        self._validator = self.document.payload_validator  # type: ignore[attr-defined]
        self._header = frame_header(schema_id)
        self._file = self.document.pool.FindFileByName(  # type: ignore[attr-defined]
            self.document.linked.file.name  # type: ignore[attr-defined]
        )
        self._index_arrays: dict[str, bytes] = {}

    def encode(self, value: Any) -> bytes:
        if isinstance(value, Message):
            return self._header + self._index_array(value.DESCRIPTOR.full_name) + _checked(value)
        message_class = self._validator.message_class([0])
        try:
            message = from_python(message_class, value)
        except ValueMismatch as mismatch:
            raise ValidationError(mismatch.message, mismatch.path) from None
        except RecursionError:
            raise ValidationError("#: the value is nested too deeply", "#") from None
        return self._header + b"\x00" + message.SerializeToString()

    def decode(self, payload: bytes) -> Any:
        """A dict of the message's fields (``protobuf_values``' Python view)."""
        return to_python(self._validator(payload), View.PYTHON)

    def rule_input(self, framed: bytes) -> Any:
        """What data-contract rules see of an encoded value: the gate's view of it."""
        return rule_view(self._validator(framed[len(self._header) :]))

    def _index_array(self, full_name: str) -> bytes:
        found = self._index_arrays.get(full_name)
        if found is None:
            try:
                descriptor = self.document.pool.FindMessageTypeByName(full_name)  # type: ignore[attr-defined]
            except KeyError:
                descriptor = None
            if descriptor is None or descriptor.file is not self._file:
                raise ValidationError(
                    f"#: {full_name} is not a message of schema {self.schema_id}", "#"
                )
            found = self._index_arrays[full_name] = write_message_indexes(
                message_indexes_of(descriptor)
            )
        return found


def _checked(message: Message) -> bytes:
    if not message.IsInitialized():
        missing = message.FindInitializationErrors()
        raise ValidationError(
            f"#/{missing[0].replace('.', '/')}: required field missing",
            f"#/{missing[0].replace('.', '/')}",
        )
    return message.SerializeToString()


# -- schemas from generated classes ---------------------------------------------------------


def schema_of_message_class(
    message_class: type[Message], client: SchemaRegistryClient, *, register: bool
) -> Schema:
    """The ``PROTOBUF`` schema of ``message_class``'s file, its imports registered (or looked up)."""
    file = message_class.DESCRIPTOR.file
    references, resolved = _register_imports(file, client, register, {})
    text = _proto_text(file, resolved)
    return Schema(text, "PROTOBUF", tuple(references))


def _register_imports(
    file: Any, client: SchemaRegistryClient, register: bool, done: dict[str, tuple[Any, ...]]
) -> tuple[list[dict[str, Any]], list[ResolvedReference]]:
    """References of ``file`` (one per non-built-in import) and all resolved, dependencies first."""
    references: list[dict[str, Any]] = []
    resolved: list[ResolvedReference] = []
    for dependency in file.dependencies:
        name = dependency.name
        if name.startswith(_BUILT_IN) or is_known(name):
            continue
        if name not in done:
            nested_refs, nested_resolved = _register_imports(dependency, client, register, done)
            text = _proto_text(dependency, nested_resolved)
            schema = Schema(text, "PROTOBUF", tuple(nested_refs))
            try:
                if register:
                    client.register(name, schema)
                version = client.lookup(name, schema).version
            except RegistryClientError as error:
                raise ValidationError(f"#: import {name!r}: {error.message}") from None
            done[name] = (version, text, nested_resolved)
        version, text, nested_resolved = done[name]
        references.append({"name": name, "subject": name, "version": version})
        for item in [*nested_resolved, ResolvedReference(name, name, version, text)]:
            if item not in resolved:
                resolved.append(item)
    return references, resolved


def _proto_text(file: Any, references: Sequence[ResolvedReference]) -> str:
    """``file`` as canonical ``.proto`` text (the registry's writer over its descriptor)."""
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    encoded = base64.standard_b64encode(proto.SerializeToString()).decode("ascii")
    try:
        return str(get_format("PROTOBUF").parse(encoded, tuple(references)).canonical_string)
    except RegistryError as error:
        raise ValidationError(f"#: {file.name} cannot be registered: {error}") from None
