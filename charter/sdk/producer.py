"""``Producer``: validate, run the contract's write rules and serialize before librdkafka sends.

A value that does not match its schema raises ``ValidationError`` (a
``ValueError``) naming the field, and nothing is queued; the gate at the broker
is the last line, not the first. Records leave in Confluent's wire format, so
any Confluent deserializer reads them. The transport is confluent-kafka's
``Producer`` (librdkafka): the same code runs against Charter's broker or any
Kafka cluster; extra keyword arguments are librdkafka settings
(``linger_ms=5`` means ``linger.ms``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import confluent_kafka

from charter.sdk.avro_program import produce_dispatcher
from charter.sdk.dead_letters import write_dead_letter
from charter.sdk.errors import ValidationError
from charter.sdk.protobuf_codec import ProtobufCodec, is_message
from charter.sdk.registry_client import SchemaRegistryClient
from charter.sdk.rules import NO_RULES, RuleViolation
from charter.sdk.schemas import SchemaCache, WriteSchema
from charter.sdk.typed import to_plain

__all__ = ["Producer", "librdkafka_config"]

Headers = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes]] | None


# confluent-kafka and librdkafka settings whose names hold an underscore: passed unchanged.
UNDERSCORED_SETTINGS = frozenset({"logger", "log_level", "on_delivery", "on_commit"})


def librdkafka_config(bootstrap_servers: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """librdkafka settings from keyword arguments (``linger_ms`` -> ``linger.ms``).

    Callbacks (``error_cb``, ``stats_cb``, …) and ``logger``/``log_level`` keep their names.
    """
    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers}
    for key, value in extra.items():
        kept = key in UNDERSCORED_SETTINGS or key.endswith("_cb")
        config[key if kept else key.replace("_", ".")] = value
    return config


class Producer:
    """``Producer(bootstrap_servers=..., registry_url=..., **librdkafka_config)``.

    ``auto_register=False`` only looks schemas up (the subject must hold them);
    ``registry`` passes a ready ``SchemaRegistryClient`` instead of ``registry_url``;
    ``rule_config`` configures rule executors (``{"secret": …}`` for ENCRYPT's local KMS).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        registry_url: str | None = None,
        *,
        registry: SchemaRegistryClient | None = None,
        auto_register: bool = True,
        rule_config: Mapping[str, str] | None = None,
        **config: Any,
    ) -> None:
        if registry is None:
            if registry_url is None:
                raise ValueError("Producer needs registry_url= (or registry=)")
            registry = SchemaRegistryClient(registry_url)
        self.registry = registry
        self._schemas = SchemaCache(registry, auto_register=auto_register, rule_config=rule_config)
        self._producer = confluent_kafka.Producer(librdkafka_config(bootstrap_servers, config))
        self._produce_raw = self._producer.produce
        self._last_schema: dict[str, tuple[Any, WriteSchema]] = {}
        # topic -> (schema argument, codec.try_encode) when that write schema has no rules:
        # the whole per-record work is then one encoder call
        self._fast: dict[str, tuple[Any, Callable[[Any], bytes | None]]] = {}
        if type(self).produce is Producer.produce:  # a subclass's own produce stays in charge
            dispatcher = produce_dispatcher(
                self._fast, self._produce_raw, self, Producer.produce, Producer._send_waiting
            )
            if dispatcher is not None:  # the same answers as produce below, in C
                self.produce = dispatcher  # type: ignore[method-assign]

    def produce(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        schema: Any = None,
        headers: Headers = None,
        on_delivery: Callable[[Any, Any], None] | None = None,
        *,
        key_schema: Any = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Validate and queue one record; ``ValidationError`` and nothing queued when it does not fit.

        ``schema`` is an Avro schema (dict or JSON text), a JSON Schema, a
        dataclass or marshmallow schema, ``.proto`` text or a generated Protobuf
        message class, or None: the latest version of ``<topic>-value`` (or, for
        a dataclass or a Protobuf message instance, its own class's schema).
        ``key`` is sent as bytes (str is UTF-8 encoded) unless ``key_schema`` is
        given, then serialized under ``<topic>-key``.
        """
        fast = self._fast.get(topic)
        # the common case first: a dict for the topic's cached schema, no per-record options
        if (
            fast is not None
            and fast[0] is schema
            and type(value) is dict
            and headers is on_delivery is partition is timestamp is key_schema is None
        ):
            framed = fast[1](value)
            if framed is not None:
                key_bytes = key.encode() if isinstance(key, str) else key
                try:
                    self._produce_raw(topic, framed, key_bytes)
                except BufferError:
                    self._send_waiting(topic, framed, key_bytes)
                return
        try:
            value_bytes = None if value is None else self._value_bytes(topic, value, schema)
        except _Routed:
            return
        if key_schema is not None and key is not None:
            try:
                key_bytes: Any = self._serialize(f"{topic}-key", key, key_schema)
            except ValidationError as error:  # say it is the key, not the value, that is wrong
                raise ValidationError(f"key {error.message}", error.path, error.rule) from None
        else:
            key_bytes = key.encode() if isinstance(key, str) else key
        if headers is None and on_delivery is None and partition is None and timestamp is None:
            try:
                self._produce_raw(topic, value_bytes, key_bytes)
                return
            except BufferError:
                pass  # the general path below waits for room
        self._send(topic, value_bytes, key_bytes, headers, on_delivery, partition, timestamp)

    def value_schema(self, topic: str, schema: Any = None) -> tuple[str, Any]:
        """The type (``AVRO``, ``JSON``, ``PROTOBUF``) and JSON document (references inlined) of
        the schema ``produce(topic, …, schema=schema)`` writes values with, resolved as it does."""
        write_schema = self._schemas.for_write(f"{topic}-value", schema)
        return write_schema.codec.schema_type, write_schema.codec.document

    def _value_bytes(self, topic: str, value: Any, schema: Any) -> bytes:
        """The framed value; the last write schema of each topic is kept for the common case."""
        fast = self._fast.get(topic)
        if fast is not None and fast[0] is schema and type(value) is dict:
            framed = fast[1](value)
            if framed is not None:
                return framed
        last = self._last_schema.get(topic)
        if last is not None and last[0] is schema and type(value) is dict:
            return self._encode(last[1], value)
        if schema is None and (hasattr(value, "__dataclass_fields__") or is_message(value)):
            schema = type(value)
        write_schema = self._schemas.for_write(f"{topic}-value", schema)
        self._last_schema[topic] = (schema, write_schema)
        try_encode = getattr(write_schema.codec, "try_encode", None)
        if (
            try_encode is not None
            and write_schema.rules is NO_RULES
            and write_schema.encrypt is None
        ):
            self._fast[topic] = (schema, try_encode)
        else:
            self._fast.pop(topic, None)
        return self._encode(write_schema, to_plain(value))

    def _serialize(self, subject: str, value: Any, schema: Any) -> bytes:
        """``value`` framed with ``schema`` registered under ``subject`` (no topic cache)."""
        write_schema = self._schemas.for_write(subject, schema)
        return self._encode(write_schema, value if type(value) is dict else to_plain(value))

    def _encode(self, write_schema: WriteSchema, value: Any) -> bytes:
        framed = write_schema.codec.encode(value)
        if write_schema.rules is not NO_RULES:
            codec = write_schema.codec
            checked = codec.rule_input(framed) if isinstance(codec, ProtobufCodec) else value
            violations = write_schema.rules.check(checked)
            if violations:
                self._enforce(violations, write_schema.subject, value)
        if write_schema.encrypt is not None:  # conditions judged the plaintext; it never leaves
            framed = write_schema.codec.encode(write_schema.encrypt(value))
        return framed

    def _enforce(self, violations: list[RuleViolation], subject: str, value: Any) -> None:
        """ERROR refuses the record; DLQ sends it (as JSON) to the rule's topic instead; NONE passes."""
        for violation in violations:
            if violation.action == "ERROR":
                raise ValidationError(
                    f"#: rule {violation.rule!r} of {subject}: {violation.reason}",
                    "#",
                    rule=violation.rule,
                )
        routed = [v for v in violations if v.action == "DLQ" and v.dlq_topic]
        if routed:
            first = routed[0]
            payload = json.dumps(value, default=str).encode()
            reason = [
                ("charter.dlq.reason", first.reason.encode()),
                ("charter.dlq.rule", first.rule.encode()),
                ("charter.dlq.subject", subject.encode()),
            ]
            failure = write_dead_letter(self._producer, str(first.dlq_topic), payload, None, reason)
            if failure is not None:  # nothing was sent: say so rather than lose the record
                raise ValidationError(
                    f"#: rule {first.rule!r} of {subject}: {first.reason}; the dead-letter topic "
                    f"{first.dlq_topic!r} did not take it: {failure}",
                    "#",
                    rule=first.rule,
                )
            raise _Routed

    def _send_waiting(self, topic: str, value: bytes, key: bytes | None) -> None:
        """``value`` queued, serving deliveries while librdkafka's queue is full."""
        self._send(topic, value, key, None, None, None, None)

    def _send(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers,
        on_delivery: Callable[[Any, Any], None] | None,
        partition: int | None,
        timestamp: int | None,
    ) -> None:
        arguments: dict[str, Any] = {}
        if headers:
            arguments["headers"] = (
                list(headers.items()) if isinstance(headers, Mapping) else list(headers)
            )
        if on_delivery is not None:
            arguments["on_delivery"] = on_delivery
        if partition is not None:
            arguments["partition"] = partition
        if timestamp is not None:
            arguments["timestamp"] = timestamp
        while True:
            try:
                self._producer.produce(topic, value, key, **arguments)
                return
            except BufferError:  # librdkafka's queue is full: serve deliveries, then retry
                self._producer.poll(0.1)

    def poll(self, timeout: float = 0) -> int:
        """Serve delivery callbacks; the number served."""
        return int(self._producer.poll(timeout))

    def flush(self, timeout: float | None = None) -> int:
        """Wait for queued records; the number still queued (0 when all were delivered)."""
        return int(self._producer.flush(-1 if timeout is None else timeout))

    def __len__(self) -> int:
        return len(self._producer)

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()


class _Routed(Exception):
    """Internal: the record went to its dead-letter topic, so the original is not sent."""
