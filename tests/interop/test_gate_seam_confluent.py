"""The gate seam and the broker hooks end to end, through real clients.

A test gate rejects, routes to a dead-letter topic and so rebuilds batches; the
broker runs in-process (``broker_factory``) with it passed in explicitly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)
from kio.schema.errors import ErrorCode

from broker.gate import SOURCE_PARTITION_HEADER, SOURCE_TOPIC_HEADER
from broker.protocol import build, request_class
from governance.broker_hooks import ALLOW, Decision
from governance.gate import (
    ACCEPT,
    DLQ_REASON_HEADER,
    DeadLetter,
    GateContext,
    GateRecord,
    RecordError,
    Reject,
    Route,
    Validation,
    Verdict,
)
from tests.broker.conftest import RunningBroker
from tests.broker.test_server_handlers import _batch, _Client, _produce

pytestmark = pytest.mark.slow

DLQ = "dead-letters"


class RoutingGate:
    """Inspects topics named ``gated*``: ``bad*`` values go to the DLQ, ``reject*`` fail the batch."""

    def __init__(self) -> None:
        self.contexts: list[GateContext] = []
        self.batch_sizes: list[int] = []

    def inspects(self, context: GateContext) -> bool:
        return context.topic.startswith("gated")

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        self.contexts.append(context)
        self.batch_sizes.append(len(records))
        rejected = [r for r in records if (r.value or b"").startswith(b"reject")]
        if rejected:
            return Reject(
                tuple(RecordError(r.index, f"value {r.value!r} is refused") for r in rejected),
                f"{len(rejected)} record(s) refused by the test gate",
            )
        routed = tuple(
            DeadLetter.because(r.index, DLQ, "value starts with bad", rule="no-bad")
            for r in records
            if (r.value or b"").startswith(b"bad")
        )
        return Route(routed) if routed else ACCEPT


def _producer(broker: RunningBroker, **config: Any) -> Producer:
    return Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 50, **config})


def _send(producer: Producer, topic: str, values: list[bytes]) -> list[Any]:
    """Produce ``values`` (one batch when linger allows) and return each delivery error."""
    errors: list[Any] = [None] * len(values)
    for index, value in enumerate(values):
        producer.produce(
            topic,
            value=value,
            key=b"k%d" % index,
            headers=[("origin", b"test")],
            on_delivery=lambda err, msg, index=index: errors.__setitem__(index, err),
        )
    assert producer.flush(30) == 0
    return errors


def _consume(broker: RunningBroker, topic: str, count: int) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    messages: list[Any] = []
    deadline = time.monotonic() + 30
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            messages.append(message)
    finally:
        consumer.close()
    return messages


def _high_watermark(broker: RunningBroker, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def test_route_rebuilds_the_batch_and_idempotence_survives(broker_factory) -> None:
    gate = RoutingGate()
    broker: RunningBroker = broker_factory(gate=gate)
    broker.create_topic("gated")
    broker.create_topic(DLQ)
    producer = _producer(broker, **{"enable.idempotence": True, "client.id": "seam-test"})
    first = [b"good-0", b"bad-1", b"good-2", b"bad-3", b"good-4"]
    assert _send(producer, "gated", first) == [None] * 5
    # every record routed: the producer's sequences still count
    assert _send(producer, "gated", [b"bad-5"]) == [None]
    # the next batches follow on: no OUT_OF_ORDER_SEQUENCE_NUMBER
    second = [b"good-6", b"bad-7", b"good-8"]
    assert _send(producer, "gated", second) == [None] * 3
    assert _send(producer, "gated", [b"good-9"]) == [None]

    main = _consume(broker, "gated", 6)
    assert [m.value() for m in main] == [
        b"good-0",
        b"good-2",
        b"good-4",
        b"good-6",
        b"good-8",
        b"good-9",
    ]
    assert [m.offset() for m in main] == list(range(6))  # dense
    assert [m.key() for m in main[:3]] == [b"k0", b"k2", b"k4"]
    assert all(m.headers() == [("origin", b"test")] for m in main)
    assert _high_watermark(broker, "gated") == 6

    letters = _consume(broker, DLQ, 4)
    assert [m.value() for m in letters] == [b"bad-1", b"bad-3", b"bad-5", b"bad-7"]
    assert [m.offset() for m in letters] == [0, 1, 2, 3]
    headers = dict(letters[0].headers())
    assert headers["origin"] == b"test"  # the record's own headers are kept
    assert headers[DLQ_REASON_HEADER] == b"value starts with bad"
    assert headers["charter.dlq.rule"] == b"no-bad"
    assert headers[SOURCE_TOPIC_HEADER] == b"gated"
    assert headers[SOURCE_PARTITION_HEADER] == b"0"
    assert letters[0].key() == b"k1"

    assert gate.batch_sizes == [5, 1, 3, 1]  # one batch per send: the rebuild path ran
    context = gate.contexts[0]
    assert (context.topic, context.partition, context.principal) == ("gated", 0, "User:ANONYMOUS")
    assert context.client_id == "seam-test"
    assert context.producer_id >= 0
    assert context.config.value_validation is Validation.FULL  # the server default


def test_reject_fails_delivery_with_invalid_record_and_appends_nothing(broker_factory) -> None:
    broker: RunningBroker = broker_factory(gate=RoutingGate())
    broker.create_topic("gated-reject")
    producer = _producer(broker, retries=0)
    errors = _send(producer, "gated-reject", [b"good", b"reject-me", b"bad"])
    assert [e.code() if e else None for e in errors] == [KafkaError.INVALID_RECORD] * 3
    assert _high_watermark(broker, "gated-reject") == 0
    assert _send(producer, "gated-reject", [b"good again"]) == [None]
    assert _high_watermark(broker, "gated-reject") == 1


def test_reject_answers_record_errors_on_the_wire(broker_factory) -> None:
    broker: RunningBroker = broker_factory(gate=RoutingGate())
    broker.create_topic("gated-wire")
    client = _Client(broker)
    try:
        answer = _produce(client, "gated-wire", _batch([b"ok", b"reject-1", b"reject-2"]))
        assert answer.error_code == ErrorCode.invalid_record
        assert answer.error_message == "2 record(s) refused by the test gate"
        assert [e.batch_index for e in answer.record_errors] == [1, 2]
        assert answer.record_errors[0].batch_index_error_message == "value b'reject-1' is refused"
    finally:
        client.close()


def test_missing_dead_letter_topic_rejects_the_batch(broker_factory) -> None:
    broker: RunningBroker = broker_factory(gate=RoutingGate())
    broker.create_topic("gated-nodlq")
    client = _Client(broker)
    try:
        answer = _produce(client, "gated-nodlq", _batch([b"ok", b"bad"]))
        assert answer.error_code == ErrorCode.invalid_record
        assert DLQ in answer.error_message
        assert _produce(client, "gated-nodlq", _batch([b"ok"])).base_offset == 0
    finally:
        client.close()


class _FailingGate:
    def inspects(self, context: GateContext) -> bool:
        return True

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        raise RuntimeError("rule engine exploded")


def test_a_failing_gate_rejects_and_keeps_the_connection(broker_factory) -> None:
    broker: RunningBroker = broker_factory(gate=_FailingGate())
    broker.create_topic("any")
    client = _Client(broker)
    try:
        for _ in range(2):  # the same connection answers again
            answer = _produce(client, "any", _batch([b"x"]))
            assert answer.error_code == ErrorCode.invalid_record
            assert "rule engine exploded" in answer.error_message
    finally:
        client.close()


class _LoopingGate:
    """Routes every record back to the topic it was produced to."""

    def inspects(self, context: GateContext) -> bool:
        return True

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        return Route(tuple(DeadLetter.because(r.index, context.topic, "loop") for r in records))


def test_a_route_back_to_the_source_topic_is_refused(broker_factory) -> None:
    broker: RunningBroker = broker_factory(gate=_LoopingGate())
    broker.create_topic("looped")
    client = _Client(broker)
    try:
        answer = _produce(client, "looped", _batch([b"x"]))
        assert answer.error_code == ErrorCode.invalid_record
        assert "routed to its own topic" in answer.error_message
    finally:
        client.close()


class _SlowGate:
    """Blocks in ``check`` (on the worker thread) until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def inspects(self, context: GateContext) -> bool:
        return True

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        self.entered.set()
        self.release.wait(60)
        return ACCEPT


def test_a_slow_gate_does_not_stall_other_connections(broker_factory) -> None:
    gate = _SlowGate()
    broker: RunningBroker = broker_factory(gate=gate)
    broker.create_topic("slow")
    client = _Client(broker)
    produced: list[Any] = []
    producing = threading.Thread(
        target=lambda: produced.append(_produce(client, "slow", _batch([b"x"]))), daemon=True
    )
    try:
        producing.start()
        assert gate.entered.wait(30)
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        metadata = admin.list_topics(timeout=20)  # another connection, answered meanwhile
        assert "slow" in metadata.topics
        assert not produced and producing.is_alive()  # the produce is still in the gate
        gate.release.set()
        producing.join(30)
        assert produced[0].error_code == ErrorCode.none
        assert produced[0].base_offset == 0
    finally:
        gate.release.set()
        client.close()


# --------------------------------------------------------------------------- hooks


class DenyingHooks:
    """Denies by topic name; records who asked."""

    def __init__(self) -> None:
        self.principals: set[str] = set()

    def before_create_topic(
        self, principal: str, topic: str, partitions: int, configs: Mapping[str, str]
    ) -> Decision:
        self.principals.add(principal)
        if topic.startswith("forbidden"):
            return Decision.deny(f"topic names may not start with 'forbidden' ({topic})")
        if topic.startswith("explode"):
            raise RuntimeError("policy store unavailable")
        return ALLOW

    def before_alter_config(
        self, principal: str, topic: str, configs: Mapping[str, str]
    ) -> Decision:
        if "retention.ms" in configs and int(configs["retention.ms"]) < 60_000:
            return Decision.deny("retention.ms below one minute is not allowed")
        return ALLOW

    def before_produce(self, principal: str, topic: str, client_id: str | None) -> Decision:
        return Decision.deny("read-only topic") if topic == "no-produce" else ALLOW

    def before_fetch(self, principal: str, topic: str, client_id: str | None) -> Decision:
        return Decision.deny("write-only topic") if topic == "no-fetch" else ALLOW


def _kafka_error(future: Any) -> KafkaError:
    with pytest.raises(KafkaException) as raised:
        future.result(timeout=20)
    return raised.value.args[0]


def test_hooks_deny_create_alter_produce_and_fetch(broker_factory) -> None:
    hooks = DenyingHooks()
    broker: RunningBroker = broker_factory(hooks=hooks)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics(
        [NewTopic("forbidden-x", 1), NewTopic("explode-x", 1), NewTopic("allowed", 1)]
    )
    denied = _kafka_error(futures["forbidden-x"])
    assert denied.code() == KafkaError.POLICY_VIOLATION
    assert "may not start with 'forbidden'" in denied.str()
    assert _kafka_error(futures["explode-x"]).code() == KafkaError.POLICY_VIOLATION  # fail closed
    futures["allowed"].result(timeout=20)
    validate_only = admin.create_topics([NewTopic("forbidden-y", 1)], validate_only=True)
    assert _kafka_error(validate_only["forbidden-y"]).code() == KafkaError.POLICY_VIOLATION
    assert "forbidden-x" not in admin.list_topics(timeout=10).topics
    assert hooks.principals == {"User:ANONYMOUS"}

    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        "allowed",
        incremental_configs=[
            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    (future,) = admin.incremental_alter_configs([resource]).values()
    assert _kafka_error(future).code() == KafkaError.POLICY_VIOLATION
    fine = ConfigResource(
        ConfigResource.Type.TOPIC,
        "allowed",
        incremental_configs=[
            ConfigEntry("retention.ms", "600000", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    (future,) = admin.incremental_alter_configs([fine]).values()
    future.result(timeout=20)

    broker.create_topic("no-produce")
    broker.create_topic("no-fetch")
    producer = _producer(broker, retries=0)
    (error,) = _send(producer, "no-produce", [b"x"])
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _send(producer, "no-fetch", [b"x"]) == [None]  # produce allowed there

    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition("no-fetch", 0, OFFSET_BEGINNING)])
    try:
        deadline = time.monotonic() + 30
        code = None
        while code is None and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None:
                assert message.error(), "a denied fetch returned a record"
                code = message.error().code()
        assert code == KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        consumer.close()


def test_hooks_deny_auto_creation_by_metadata(broker_factory) -> None:
    broker: RunningBroker = broker_factory(hooks=DenyingHooks())
    client = _Client(broker)
    try:
        module = __import__(request_class(3, 9).__module__, fromlist=["x"])
        answer = client.call(
            3,
            9,
            topics=(
                build(module.MetadataRequestTopic, name="forbidden-auto"),
                build(module.MetadataRequestTopic, name="auto-ok"),
            ),
            allow_auto_topic_creation=True,
            include_cluster_authorized_operations=False,
            include_topic_authorized_operations=False,
        )
        codes = {topic.name: topic.error_code for topic in answer.topics}
        assert codes == {"forbidden-auto": ErrorCode.policy_violation, "auto-ok": ErrorCode.none}
    finally:
        client.close()
    assert "forbidden-auto" not in broker.app.topics
