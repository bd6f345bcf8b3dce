"""``Consumer``: records read with librdkafka and decoded with their writer schema, as dicts.

``poll(timeout)`` answers ``None`` or a ``Message`` whose ``value`` is the
decoded record. A record the SDK cannot decode (no Confluent frame, a schema id
the registry does not know, a payload that does not match its schema) becomes a
``RecordError`` and is handled by ``on_error``: ``"raise"`` (``RecordErrorRaised``
carrying it), ``"skip"`` (counted in ``skipped``, the last one in
``last_error``), or ``"dlq"`` (its bytes forwarded unchanged to ``dlq_topic``
with ``charter.dlq.*`` headers saying why; ``poll`` waits for the dead letter to be
written and raises ``CharterError`` when it is not, so nothing is skipped unseen).

Values pass the reader's side of their contract (``charter.sdk.reading``): the
READ-mode condition rules of their schema and, with ``use_latest_version=True``
or ``use_latest_with_metadata={...}``, the migration rules between the
writer's version and the reader's; a failure is a ``RecordError`` too.

The consumer starts only when the cluster answers: every broker down, a failed
login or no answer is a ``CharterError`` naming the bootstrap servers at once
(within a second for a refused connection), or after ``wait_for_cluster``
seconds of retrying for a consumer started before its cluster. Later outages
are logged and waited out (librdkafka reconnects), as Kafka's consumer does.

With ``group_id`` the consumer subscribes to ``topics`` (needs a broker with
consumer groups); without, it assigns itself every partition of ``topics`` and
starts at ``auto_offset_reset`` (``earliest`` or ``latest``), with no commits.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import confluent_kafka

from charter.sdk.admin_client import describe
from charter.sdk.cluster_watch import ClusterWatch, await_cluster
from charter.sdk.codecs import unframe
from charter.sdk.dead_letters import write_dead_letter
from charter.sdk.errors import (
    CharterError,
    RecordError,
    RecordErrorRaised,
    RegistryClientError,
    ValidationError,
)
from charter.sdk.producer import librdkafka_config
from charter.sdk.reading import ValueReader
from charter.sdk.registry_client import SchemaRegistryClient
from charter.sdk.schemas import SchemaCache
from registry.formats.base import PayloadInvalid

__all__ = ["Consumer", "Message"]

log = logging.getLogger(__name__)
# librdkafka's own log lines (a refused connection, a retry), through Python logging.
_LIBRDKAFKA_LOG = logging.getLogger("charter.sdk.librdkafka")

_ON_ERROR = ("raise", "skip", "dlq")
_METADATA_RETRY_S = 1.0
_METADATA_TIMEOUT_S = 10.0  # a first answer from a cluster that is there
# A subscribed topic the cluster does not know (yet): waited for, not an error.
_TOPIC_NOT_YET = frozenset(
    {
        confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART,
        confluent_kafka.KafkaError._UNKNOWN_TOPIC,
        confluent_kafka.KafkaError._UNKNOWN_PARTITION,
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One decoded record."""

    topic: str
    partition: int
    offset: int
    key: Any
    value: Any
    headers: list[tuple[str, bytes | None]]
    timestamp: int | None
    schema_id: int | None


class Consumer:
    """``Consumer(bootstrap_servers=..., registry_url=..., group_id=..., topics=[...])``."""

    def __init__(
        self,
        bootstrap_servers: str,
        registry_url: str | None = None,
        *,
        topics: Sequence[str] | str = (),
        group_id: str | None = None,
        auto_offset_reset: str = "latest",
        on_error: str = "raise",
        dlq_topic: str | None = None,
        registry: SchemaRegistryClient | None = None,
        use_latest_version: bool = False,
        use_latest_with_metadata: Mapping[str, str] | None = None,
        rule_config: Mapping[str, str] | None = None,
        wait_for_cluster: float = 0.0,
        **config: Any,
    ) -> None:
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(_ON_ERROR)}, got {on_error!r}")
        if on_error == "dlq" and not dlq_topic:
            raise ValueError('on_error="dlq" needs dlq_topic=')
        if auto_offset_reset not in ("earliest", "latest"):
            raise ValueError("auto_offset_reset must be 'earliest' or 'latest'")
        if registry is None:
            if registry_url is None:
                raise ValueError("Consumer needs registry_url= (or registry=)")
            registry = SchemaRegistryClient(registry_url)
        self.registry = registry
        self.on_error = on_error
        self.dlq_topic = dlq_topic
        self.group_id = group_id
        self.skipped = 0
        self.last_error: RecordError | None = None
        self._schemas = SchemaCache(registry, auto_register=False, rule_config=rule_config)
        self._values = ValueReader(
            registry,
            self._schemas,
            use_latest_version=use_latest_version,
            use_latest_with_metadata=use_latest_with_metadata,
        )
        self._bootstrap = bootstrap_servers
        settings = librdkafka_config(bootstrap_servers, config)
        # The DLQ producer connects as the consumer does (TLS, SASL credentials).
        self._dlq_settings = {
            key: value
            for key, value in settings.items()
            if key == "bootstrap.servers" or key.startswith(("security.", "sasl.", "ssl."))
        }
        settings["auto.offset.reset"] = auto_offset_reset
        settings.setdefault("enable.partition.eof", False)
        settings.setdefault("enable.auto.commit", False)
        # confluent-kafka insists on a group.id even for assign(); without a group
        # the consumer never joins, fetches offsets or commits under this one.
        settings["group.id"] = group_id if group_id is not None else f"charter-sdk-{uuid.uuid4()}"
        self._start = (
            confluent_kafka.OFFSET_BEGINNING
            if auto_offset_reset == "earliest"
            else confluent_kafka.OFFSET_END
        )
        self._watch = ClusterWatch(bootstrap_servers, also=settings.get("error_cb"))
        settings["error_cb"] = self._watch.on_error
        settings.setdefault("logger", _LIBRDKAFKA_LOG)
        self._consumer = confluent_kafka.Consumer(settings)
        self._dlq: confluent_kafka.Producer | None = None
        self._unassigned: list[str] = []
        self._next_metadata_check = 0.0
        first = topics if isinstance(topics, str) else next(iter(topics), None)
        try:
            await_cluster(self._consumer, self._watch, first, wait_for_cluster)
        except CharterError:
            self._consumer.close()
            raise
        if topics:
            self.subscribe(topics)

    def subscribe(self, topics: Sequence[str] | str) -> None:
        """Follow ``topics`` (a name or a list): through the group when there is one, else
        every partition assigned; ``CharterError`` when the cluster does not answer."""
        names = [topics] if isinstance(topics, str) else list(topics)
        if self.group_id is not None:
            self._consumer.subscribe(names)
        else:
            self._unassigned = names
            self._assign_known(strict=True)

    def _assign_known(self, *, strict: bool = False) -> None:
        """Assign the partitions of the topics that exist; the others are retried on later polls.

        A cluster that does not answer is a ``CharterError`` when ``strict`` (at subscribe),
        else a warning and a retry on a later poll.
        """
        self._next_metadata_check = time.monotonic() + _METADATA_RETRY_S
        waiting = []
        wanted = []
        for topic in self._unassigned:
            try:
                metadata = self._consumer.list_topics(
                    topic, timeout=_METADATA_TIMEOUT_S
                ).topics.get(topic)
            except confluent_kafka.KafkaException as error:
                reason = f"cannot use the cluster at {self._bootstrap}: {describe(error)}"
                if strict:
                    self._consumer.close()
                    raise CharterError(f"topic {topic!r}: {reason}") from None
                log.warning("consumer: %s", reason)
                waiting.append(topic)
                continue
            if metadata is None or metadata.error is not None or not metadata.partitions:
                waiting.append(topic)
                continue
            wanted += [
                confluent_kafka.TopicPartition(topic, partition, self._start)
                for partition in sorted(metadata.partitions)
            ]
        if wanted:
            self._consumer.incremental_assign(wanted)
        self._unassigned = waiting

    def poll(self, timeout: float = 1.0) -> Message | None:
        """The next decoded record, or None when none arrived within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self._unassigned and time.monotonic() >= self._next_metadata_check:
                self._assign_known()
            remaining = max(0.0, deadline - time.monotonic())
            raw = self._consumer.poll(
                min(remaining, _METADATA_RETRY_S) if self._unassigned else remaining
            )
            if raw is None:
                if time.monotonic() >= deadline:
                    return None
                continue
            if raw.error() is not None:
                self._transport_error(raw.error())
                continue
            message = self._decode(raw)
            if message is not None:
                return message
            if time.monotonic() >= deadline:
                return None

    def _transport_error(self, error: confluent_kafka.KafkaError) -> None:
        if error.code() == confluent_kafka.KafkaError._PARTITION_EOF:
            return
        if error.code() in _TOPIC_NOT_YET and not error.fatal():
            # a subscribed topic that does not exist yet: wait for it, as without a group
            log.info("consumer: %s", error.str())
            return
        if error.fatal() or not error.retriable():
            raise CharterError(f"consumer error: {error.str()}")
        log.warning("consumer: %s", error.str())

    def _decode(self, raw: confluent_kafka.Message) -> Message | None:
        schema_id = None
        try:
            value = raw.value()
            if value is not None:
                schema_id, payload = unframe(value)
                value = self._values.read(raw.topic(), schema_id, payload)
        except (ValueError, PayloadInvalid, ValidationError, RegistryClientError) as error:
            reason = getattr(error, "message", None) or str(error)
            return self._undecodable(raw, schema_id, reason)
        _, timestamp = raw.timestamp()
        return Message(
            topic=raw.topic(),
            partition=raw.partition(),
            offset=raw.offset(),
            key=self._key_of(raw.key()),
            value=value,
            headers=list(raw.headers() or ()),
            timestamp=timestamp if timestamp and timestamp > 0 else None,
            schema_id=schema_id,
        )

    def _undecodable(self, raw: Any, schema_id: int | None, reason: str) -> None:
        error = RecordError(
            raw.topic(), raw.partition(), raw.offset(), reason, schema_id, raw.key(), raw.value()
        )
        if self.on_error == "raise":
            raise RecordErrorRaised(error)
        if self.on_error == "dlq":
            self._to_dead_letters(error, list(raw.headers() or ()))
        self.skipped += 1
        self.last_error = error
        log.warning("skipped undecodable record %s", error)
        return None

    def _to_dead_letters(self, error: RecordError, headers: list[Any]) -> None:
        if self._dlq is None:
            self._dlq = confluent_kafka.Producer({**self._dlq_settings, "logger": _LIBRDKAFKA_LOG})
        headers += [
            ("charter.dlq.reason", error.reason.encode()),
            ("charter.dlq.source.topic", error.topic.encode()),
            ("charter.dlq.source.partition", str(error.partition).encode()),
            ("charter.dlq.source.offset", str(error.offset).encode()),
        ]
        # A record counted as handled but never written would be lost once the caller commits
        # past it, so a dead letter that is not written stops the consumer instead.
        failure = write_dead_letter(
            self._dlq, str(self.dlq_topic), error.raw_value, error.raw_key, headers
        )
        if failure is not None:
            raise CharterError(
                f"{error}: could not write it to the dead-letter topic {self.dlq_topic!r}: {failure}"
            )

    def __iter__(self) -> Iterator[Message]:
        while True:
            message = self.poll(1.0)
            if message is not None:
                yield message

    def commit(self) -> None:
        """Commit the positions reached (synchronously); needs ``group_id``.

        Nothing consumed yet means nothing to commit (as Kafka's ``commitSync``), not an error;
        a commit the group refuses is a ``CharterError``.
        """
        if self.group_id is None:
            raise CharterError("commit() needs a consumer with group_id")
        try:
            self._consumer.commit(asynchronous=False)
        except confluent_kafka.KafkaException as error:
            if error.args and error.args[0].code() == confluent_kafka.KafkaError._NO_OFFSET:
                return
            raise CharterError(f"commit failed: {describe(error)}") from None

    def close(self) -> None:
        if self._dlq is not None:
            self._dlq.flush(10)
        self._consumer.close()

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _key_of(self, key: bytes | None) -> Any:
        """A framed key decoded with its schema; else text when it is UTF-8, else the bytes."""
        if key is None:
            return None
        if key[:1] == b"\x00" and len(key) >= 5:
            try:
                schema_id, payload = unframe(key)
                return self._schemas.for_read(schema_id).decode(payload)
            except (ValueError, PayloadInvalid, ValidationError, RegistryClientError):
                pass
        return _text_or_bytes(key)


def _text_or_bytes(key: bytes) -> Any:
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key
