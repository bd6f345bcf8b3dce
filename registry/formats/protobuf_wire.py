"""Confluent's Protobuf framing after the schema id: the message-index array, and payload decoding.

A Confluent Protobuf record is ``0x00``, a 4-byte schema id, the message indexes
(which message of the file: ``[1, 0]`` is the first message nested in the
second top-level one) and the serialized message. The array is written as
zig-zag varints, a count then the indexes, except that ``[0]`` (the first
message, by far the most common) is the single byte ``0x00``. The broker's gate
and the SDK share these helpers; the payload validator here takes the bytes
after the schema id.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from registry.formats.base import PayloadInvalid

__all__ = [
    "ProtobufPayloadInvalid",
    "ProtobufPayloadValidator",
    "message_descriptor",
    "message_indexes_of",
    "read_message_indexes",
    "write_message_indexes",
]

_MAX_INDEXES = 256


class ProtobufPayloadInvalid(PayloadInvalid):
    """A Protobuf payload does not decode with its schema."""


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _write_varint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def write_message_indexes(indexes: Sequence[int]) -> bytes:
    """The message-index array for ``indexes`` (``b"\\x00"`` for ``[0]``)."""
    if list(indexes) == [0]:
        return b"\x00"
    out = bytearray()
    _write_varint(out, _zigzag(len(indexes)))
    for index in indexes:
        if index < 0:
            raise ValueError(f"message index {index} is negative")
        _write_varint(out, _zigzag(index))
    return bytes(out)


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("the message-index array ends inside a varint")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), offset
        shift += 7
        if shift > 63:
            raise ValueError("a message-index varint is longer than 10 bytes")


def read_message_indexes(data: bytes, offset: int = 0) -> tuple[list[int], int]:
    """The indexes at ``data[offset:]`` and the offset of the message bytes after them.

    An empty array (count 0) means ``[0]``, as Confluent's deserializers read it.
    """
    count, offset = _read_varint(data, offset)
    if count == 0:
        return [0], offset
    if not 0 < count <= _MAX_INDEXES:
        raise ValueError(f"the message-index array claims {count} entries")
    indexes = []
    for _ in range(count):
        index, offset = _read_varint(data, offset)
        if index < 0:
            raise ValueError(f"message index {index} is negative")
        indexes.append(index)
    return indexes, offset


def message_descriptor(file_descriptor: Any, indexes: Sequence[int]) -> Any:
    """The message descriptor that ``indexes`` points at in ``file_descriptor``."""
    candidates = list(file_descriptor.message_types_by_name.values())
    found = None
    for depth, index in enumerate(indexes):
        if index >= len(candidates):
            where = found.full_name if found is not None else file_descriptor.name
            raise ValueError(
                f"message index {list(indexes[: depth + 1])} is out of range in {where}"
            )
        found = candidates[index]
        candidates = list(found.nested_types)
    if found is None:
        raise ValueError("the message-index array is empty")
    return found


def message_indexes_of(descriptor: Any) -> list[int]:
    """The index path of a message descriptor in its file (the inverse of ``message_descriptor``)."""
    path = []
    while descriptor.containing_type is not None:
        path.append(list(descriptor.containing_type.nested_types).index(descriptor))
        descriptor = descriptor.containing_type
    path.append(list(descriptor.file.message_types_by_name.values()).index(descriptor))
    return path[::-1]


class ProtobufPayloadValidator:
    """Decode ``message indexes + message`` with the schema's descriptors; returns the message.

    Message classes are built once per index path and kept; thread-safe.
    """

    def __init__(self, pool: descriptor_pool.DescriptorPool, file_name: str) -> None:
        self._file = pool.FindFileByName(file_name)
        self._classes: dict[bytes, Any] = {}
        self._first: tuple[Any, bool] | None = None  # the entry of [0], once built
        self._lock = threading.Lock()

    def message_class(self, indexes: Sequence[int]) -> Any:
        return self._entry(indexes)[0]

    def _entry(self, indexes: Sequence[int]) -> tuple[Any, bool]:
        """The class for ``indexes`` and whether it (transitively) has proto2 required fields."""
        key = write_message_indexes(indexes)
        found = self._classes.get(key)
        if found is None:
            with self._lock:
                descriptor = message_descriptor(self._file, indexes)
                found = (
                    message_factory.GetMessageClass(descriptor),
                    _has_required(descriptor, set()),
                )
                self._classes[key] = found
        return found

    def __call__(self, payload: bytes) -> Any:
        first = self._first
        if first is not None and payload[:1] == b"\x00":  # the [0] shortcut, the usual case
            message_class, check_required = first
            body = payload[1:]
        else:
            if payload[:1] == b"\x00":
                entry, offset = self._entry_or_invalid([0]), 1
                self._first = entry
            else:
                try:
                    indexes, offset = read_message_indexes(payload)
                except ValueError as error:
                    raise ProtobufPayloadInvalid(f"#: {error}", "#") from None
                entry = self._entry_or_invalid(indexes)
            message_class, check_required = entry
            body = payload[offset:]
        try:
            message = message_class.FromString(body)
        except DecodeError as error:
            raise ProtobufPayloadInvalid(
                f"#: the payload is not a valid {message_class.DESCRIPTOR.full_name} ({error})", "#"
            ) from None
        if check_required and not message.IsInitialized():
            missing = ", ".join(message.FindInitializationErrors())
            raise ProtobufPayloadInvalid(
                f"#: the payload is not a valid {message_class.DESCRIPTOR.full_name} "
                f"(required fields missing: {missing})",
                "#",
            )
        return message

    def decode_framed(self, frame: bytes) -> Any:
        """``self(frame[5:])`` for a whole Confluent frame, without copying the payload twice."""
        first = self._first
        if first is not None and not first[1] and frame[5:6] == b"\x00":
            try:
                return first[0].FromString(frame[6:])
            except DecodeError:
                pass  # the general path explains
        return self(frame[5:])

    def validate_frames(self, frames: Sequence[bytes]) -> None:
        """Check whole Confluent frames, dropping each message once decoded (the gate's
        batches without rules); raises ``ProtobufPayloadInvalid`` for the first bad one."""
        first = self._first
        if first is None and self._file.message_types_by_name:
            first = self._first = self._entry_or_invalid([0])
        if first is None or first[1]:  # no first message, or required fields to check
            for frame in frames:
                self(frame[5:])
            return
        from_string = first[0].FromString
        try:
            for frame in frames:
                if frame[5] == 0:
                    from_string(frame[6:])
                else:
                    self(frame[5:])
        except (DecodeError, IndexError):
            for frame in frames:
                self(frame[5:])  # raises the error naming what is wrong

    def _entry_or_invalid(self, indexes: Sequence[int]) -> tuple[Any, bool]:
        try:
            return self._entry(indexes)
        except ValueError as error:
            raise ProtobufPayloadInvalid(f"#: {error}", "#") from None


def _has_required(descriptor: Any, seen: set[str]) -> bool:
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if field.is_required:
            return True
        if field.message_type is not None and _has_required(field.message_type, seen):
            return True
    return False
