"""Helpers the tests driving confluent-kafka's registry client and serializers share."""

from __future__ import annotations

import struct
import uuid

from confluent_kafka.serialization import MessageField, SerializationContext

__all__ = ["unique", "value_context", "wire_schema_id"]


def unique(prefix: str) -> str:
    """A subject name no other test uses (a module's tests share one server)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def value_context(topic: str) -> SerializationContext:
    """The serialization context of a record value on ``topic``."""
    return SerializationContext(topic, MessageField.VALUE)


def wire_schema_id(payload: bytes) -> int:
    """The schema id of a Confluent-framed payload, after checking the magic byte."""
    assert len(payload) >= 5
    assert payload[0] == 0, "magic byte must be 0"
    return struct.unpack(">I", payload[1:5])[0]
