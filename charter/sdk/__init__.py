"""Charter's SDK: produce and consume validated records (``from charter import Producer``).

Validation, data-contract rules and Confluent's wire format happen in the
client; librdkafka (confluent-kafka) is the transport.
"""

from __future__ import annotations

from charter.sdk.admin import create_governed_topic, create_topic
from charter.sdk.consumer import Consumer, Message
from charter.sdk.errors import (
    CharterError,
    RecordError,
    RecordErrorRaised,
    RegistryClientError,
    ValidationError,
)
from charter.sdk.producer import Producer
from charter.sdk.registry_client import RegisteredSchema, Schema, SchemaRegistryClient
from charter.sdk.typed import avro_schema_of

__all__ = [
    "CharterError",
    "Consumer",
    "Message",
    "Producer",
    "RecordError",
    "RecordErrorRaised",
    "RegisteredSchema",
    "RegistryClientError",
    "Schema",
    "SchemaRegistryClient",
    "ValidationError",
    "avro_schema_of",
    "create_governed_topic",
    "create_topic",
]
