"""The Protobuf schema format: ``.proto`` text or a base64 ``FileDescriptorProto``, parsed once.

``PROTOBUF.parse`` reads the schema (text through ``protobuf_parse`` and
``protobuf_link``; a base64 serialized ``FileDescriptorProto``, as confluent-kafka's
Python serializer registers, is decoded instead), resolves imports through the
references (the reference name is the import path) and the well-known files,
loads everything into a fresh ``DescriptorPool`` (protobuf's own checks), and
returns a ``ProtobufSchema`` whose canonical string is the file written back as
text (``protobuf_write``), as Confluent stores it. Parses are cached by text and
references. ``PROTOBUF.check_compatibility`` applies Confluent's Protobuf diff
(``protobuf_compat``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Sequence

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError

from registry.errors import InvalidSchema
from registry.formats.base import Incompatibility, ResolvedReference
from registry.formats.protobuf_compat import COMPATIBLE_CHANGES, DESCRIPTIONS, diff_files
from registry.formats.protobuf_fields import FieldIndex
from registry.formats.protobuf_lexer import ProtoSyntaxError
from registry.formats.protobuf_link import (
    Linked,
    build_pool,
    link,
    linked_descriptor,
    resolve,
    symbol_table,
)
from registry.formats.protobuf_options import CustomOptionError
from registry.formats.protobuf_parse import parse_proto
from registry.formats.protobuf_wire import ProtobufPayloadValidator
from registry.formats.protobuf_write import render

__all__ = ["PROTOBUF", "ProtobufFormat", "ProtobufSchema"]

FILE_NAME = "default"  # the root file's name in descriptors, as Confluent names it
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")
_PARSE_CACHE_SIZE = 2048


class ProtobufSchema:
    """A parsed Protobuf schema (``registry.formats.base.ParsedSchema``).

    ``linked`` is the file with resolved names and its linked imports; ``pool`` a
    descriptor pool holding them, from which payloads are decoded.
    """

    schema_type = "PROTOBUF"

    def __init__(
        self,
        linked: Linked,
        pool: descriptor_pool.DescriptorPool,
        references: tuple[ResolvedReference, ...],
        *,
        normal_form: bool = False,
    ) -> None:
        self.linked = linked
        self.pool = pool
        self.references = references
        self._normal_form = normal_form
        self.canonical_string = render(linked.file, _shortener(linked), pool, normalize=normal_form)
        identity = json.dumps(
            [self.canonical_string, [[r.name, r.subject, r.version] for r in references]],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self.fingerprint = hashlib.sha256(identity.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return f"ProtobufSchema({self.canonical_string[:80]!r})"

    @property
    def file_descriptor_proto(self) -> descriptor_pb2.FileDescriptorProto:
        return self.linked.file

    @functools.cached_property
    def serialized(self) -> str:
        """The base64 ``FileDescriptorProto`` (``GET /schemas/ids/{id}?format=serialized``)."""
        file = descriptor_pb2.FileDescriptorProto()
        file.CopyFrom(self.linked.file)
        file.ClearField("source_code_info")
        return base64.standard_b64encode(file.SerializeToString(deterministic=True)).decode("ascii")

    def normalized(self) -> ProtobufSchema:
        """Fully qualified type names, options and imports sorted, fields by number."""
        if self._normal_form:
            return self
        references = tuple(
            sorted(set(self.references), key=lambda r: (r.name, r.subject, r.version))
        )
        return ProtobufSchema(self.linked, self.pool, references, normal_form=True)

    @functools.cached_property
    def field_index(self) -> FieldIndex:
        """Messages and fields with their comments and ``confluent.*_meta`` (``protobuf_fields``)."""
        return FieldIndex(self.linked, self.pool)

    @functools.cached_property
    def payload_validator(self) -> ProtobufPayloadValidator:
        """Decodes ``message indexes + message bytes`` with this schema's descriptors."""
        return ProtobufPayloadValidator(self.pool, self.linked.file.name)


class ProtobufFormat:
    """The ``PROTOBUF`` schema type (``registry.formats.base.SchemaFormat``)."""

    schema_type = "PROTOBUF"

    def parse(
        self, schema_str: str, references: Sequence[ResolvedReference] = ()
    ) -> ProtobufSchema:
        """Parse ``.proto`` text or a base64 ``FileDescriptorProto``; ``InvalidSchema`` (42201) if bad."""
        if not isinstance(schema_str, str):
            raise InvalidSchema(
                f"Invalid schema: expected a string, got {type(schema_str).__name__}"
            )
        return _parse_cached(schema_str, tuple(references))

    def check_compatibility(
        self,
        reader: ProtobufSchema,  # type: ignore[override]
        writer: ProtobufSchema,  # type: ignore[override]
        *,
        reader_role: str = "new",
        writer_role: str = "old",
    ) -> list[Incompatibility]:
        """Every incompatible difference from ``writer`` (Confluent's original) to ``reader`` (update)."""
        found: list[Incompatibility] = []
        for kind, path in diff_files(writer.linked, reader.linked):
            if kind in COMPATIBLE_CHANGES:
                continue
            description = DESCRIPTIONS[kind].format(reader_role, writer_role, path=path)
            item = Incompatibility(kind, path, description)
            if item not in found:
                found.append(item)
        return found

    @staticmethod
    def clear_cache() -> None:
        """Forget every parsed schema (benchmarks measure cold parsing with it)."""
        _parse_cached.cache_clear()


PROTOBUF = ProtobufFormat()


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(schema_str: str, references: tuple[ResolvedReference, ...]) -> ProtobufSchema:
    imports: dict[str, Linked] = {}
    for position, reference in enumerate(references):
        try:
            referenced = _parse_cached(reference.schema_str, references[:position])
        except InvalidSchema as error:
            raise InvalidSchema(
                f"Invalid schema reference {reference.name!r}: {error.message}"
            ) from None
        file = descriptor_pb2.FileDescriptorProto()
        file.CopyFrom(referenced.linked.file)
        file.name = reference.name
        imports[reference.name] = Linked(
            file,
            referenced.linked.symbols,
            referenced.linked.dependencies,
            (reference.subject, reference.version),
        )
    linked = _link(schema_str, imports)
    try:
        pool = build_pool(linked)
    except CustomOptionError as error:
        raise InvalidSchema(f"Invalid Protobuf schema: {error}") from None
    except (TypeError, ValueError) as error:
        raise InvalidSchema(_pool_error(str(error), schema_str)) from None
    return ProtobufSchema(linked, pool, references)


def _link(schema_str: str, imports: dict[str, Linked]) -> Linked:
    if _BASE64.match(schema_str):
        file = _descriptor_from_base64(schema_str)
        if file is not None:
            file.name = FILE_NAME
            try:
                return linked_descriptor(file, imports)
            except ProtoSyntaxError as error:
                raise InvalidSchema(f"Invalid Protobuf schema: {error.message}") from None
    try:
        return link(parse_proto(schema_str, FILE_NAME), imports)
    except ProtoSyntaxError as error:
        raise InvalidSchema(
            f"Invalid Protobuf schema: line {error.line} column {error.column}: {error.message}"
        ) from None
    except RecursionError:
        raise InvalidSchema("Invalid Protobuf schema: nested too deeply") from None


def _descriptor_from_base64(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
        file = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None
    if not (file.message_type or file.enum_type or file.service or file.package or file.syntax):
        return None
    return file


def _pool_error(message: str, schema_str: str) -> str:
    detail = message.removeprefix("Couldn't build proto file into descriptor pool: ")
    quoted = re.search(r"'([A-Za-z_][\w.]*)'|\(([A-Za-z_][\w.]*)\)", detail)
    if quoted:
        name = (quoted.group(1) or quoted.group(2)).rsplit(".", 1)[-1]
        where = _find_line(schema_str, name, last="duplicate" in detail)
        if where is not None:
            return f"Invalid Protobuf schema: line {where[0]} column {where[1]}: {detail}"
    return f"Invalid Protobuf schema: {detail}"


def _find_line(text: str, name: str, *, last: bool) -> tuple[int, int] | None:
    """Where ``name`` is written (its last occurrence for a duplicate), as line and column."""
    matches = list(re.finditer(rf"\b{re.escape(name)}\b", text))
    if not matches:
        return None
    match = matches[-1] if last else matches[0]
    line = text.count("\n", 0, match.start()) + 1
    return line, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1


def _shortener(linked: Linked):  # type: ignore[no-untyped-def]
    """Names a type relative to the file's package when that name resolves back to it."""
    table = symbol_table(linked)
    package = linked.file.package

    def shorten(type_name: str, scope: str) -> str:
        full = type_name.lstrip(".")
        candidate = full[len(package) + 1 :] if package and full.startswith(package + ".") else full
        return candidate if resolve(candidate, scope, table) == full else "." + full

    return shorten
