"""Handler behaviour over raw requests: produce errors, the gate's INVALID_RECORD, fetch edge cases."""

from __future__ import annotations

import datetime
import socket
import struct
import threading
from pathlib import Path

from kio.schema.errors import ErrorCode
from kio.serial import entity_reader

from broker.cluster_id import load_or_create_cluster_id
from broker.producer_ids import ProducerIdAllocator
from broker.protocol import build, encode_request, request_class, response_class
from broker.protocol.records import Record, build_batch
from governance.gate import ACCEPT, RecordError, Reject

from .conftest import RunningBroker


class _Client:
    """A minimal blocking Kafka client over one socket, for exact protocol checks."""

    def __init__(self, broker: RunningBroker) -> None:
        self.sock = socket.create_connection(("127.0.0.1", broker.port), timeout=20)
        self.correlation_id = 0

    def call(self, api_key: int, version: int, **fields):
        cls = request_class(api_key, version)
        module = __import__(cls.__module__, fromlist=["x"])
        request = fields.pop("_request", None) or build(cls, **fields)
        del module
        self.correlation_id += 1
        self.sock.sendall(encode_request(request, self.correlation_id))
        (size,) = struct.unpack(">i", self._recv(4))
        frame = self._recv(size)
        response_cls = response_class(api_key, version)
        offset = 5 if response_cls.__flexible__ and api_key != 18 else 4
        body, _ = entity_reader(response_cls)(frame, offset)
        return body

    def _recv(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            assert chunk, "connection closed"
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()


def _produce(client: _Client, topic: str, records: bytes, version: int = 9, acks: int = -1):
    module = __import__(request_class(0, version).__module__, fromlist=["x"])
    partition = build(module.PartitionProduceData, index=0, records=records)
    body = client.call(
        0,
        version,
        transactional_id=None,
        acks=acks,
        timeout=datetime.timedelta(seconds=5),
        topic_data=(build(module.TopicProduceData, name=topic, partition_data=(partition,)),),
    )
    return body.responses[0].partition_responses[0]


def _fetch(
    client: _Client,
    topic: str,
    offset: int,
    wait_ms: int = 0,
    session_id: int = 0,
    version: int = 12,
):
    module = __import__(request_class(1, version).__module__, fromlist=["x"])
    partition = build(
        module.FetchPartition,
        partition=0,
        fetch_offset=offset,
        log_start_offset=-1,
        partition_max_bytes=1 << 20,
    )
    return client.call(
        1,
        version,
        replica_id=-1,
        max_wait=datetime.timedelta(milliseconds=wait_ms),
        min_bytes=1,
        max_bytes=10 << 20,
        isolation_level=0,
        session_id=session_id,
        session_epoch=1 if session_id else -1,
        topics=(build(module.FetchTopic, topic=topic, partitions=(partition,)),),
        forgotten_topics_data=(),
        rack_id="",
    )


def _batch(values: list[bytes], **options) -> bytes:
    return build_batch(
        [
            Record(offset_delta=i, timestamp_delta=0, key=None, value=v)
            for i, v in enumerate(values)
        ],
        timestamp=1_700_000_000_000,
        **options,
    )


def test_produce_errors_and_idempotent_duplicates(broker: RunningBroker) -> None:
    broker.create_topic("p")
    client = _Client(broker)
    try:
        assert (
            _produce(client, "missing", _batch([b"x"])).error_code
            == ErrorCode.unknown_topic_or_partition
        )
        corrupt = bytearray(_batch([b"x"]))
        corrupt[-1] ^= 0xFF
        assert _produce(client, "p", bytes(corrupt)).error_code == ErrorCode.corrupt_message
        first = _batch([b"a", b"b"], producer_id=7, producer_epoch=0, base_sequence=0)
        assert _produce(client, "p", first).base_offset == 0
        retried = _produce(client, "p", first)
        assert (retried.error_code, retried.base_offset) == (ErrorCode.none, 0)
        gap = _batch([b"c"], producer_id=7, producer_epoch=0, base_sequence=5)
        assert _produce(client, "p", gap).error_code == ErrorCode.out_of_order_sequence_number
        nxt = _batch([b"c"], producer_id=7, producer_epoch=0, base_sequence=2)
        assert _produce(client, "p", nxt).base_offset == 2
        assert (
            _produce(client, "p", _batch([b"d"]), acks=5).error_code
            == ErrorCode.invalid_required_acks
        )
    finally:
        client.close()


class _RejectSecond:
    def inspects(self, context):
        return context.topic == "gated"

    def check(self, context, records):
        if len(records) > 1:
            return Reject((RecordError(1, "value does not match schema 3"),), "1 record rejected")
        return ACCEPT if records[0].value == b"ok" else Reject((), "1 record rejected")


def test_gate_rejection_is_invalid_record_with_record_errors(broker_factory) -> None:
    broker: RunningBroker = broker_factory(gate=_RejectSecond())
    broker.create_topic("gated")
    client = _Client(broker)
    try:
        answer = _produce(client, "gated", _batch([b"ok", b"bad"]), version=8)
        assert answer.error_code == ErrorCode.invalid_record
        assert answer.error_message == "1 record rejected"
        assert [(e.batch_index, e.batch_index_error_message) for e in answer.record_errors] == [
            (1, "value does not match schema 3")
        ]
        old = _produce(client, "gated", _batch([b"bad"]), version=7)
        assert old.error_code == ErrorCode.invalid_record  # no record_errors before v8
        assert _fetch(client, "gated", 0).responses[0].partitions[0].high_watermark == 0
    finally:
        client.close()


def test_fetch_long_poll_is_woken_by_produce(broker: RunningBroker) -> None:
    broker.create_topic("wait")
    client, producer_client = _Client(broker), _Client(broker)
    try:
        result: list = []
        waiter = threading.Thread(
            target=lambda: result.append(_fetch(client, "wait", 0, wait_ms=15_000))
        )
        waiter.start()
        _produce(producer_client, "wait", _batch([b"wake"]))
        waiter.join(timeout=30)
        partition = result[0].responses[0].partitions[0]
        assert partition.error_code == ErrorCode.none and partition.high_watermark == 1
        assert b"wake" in partition.records
    finally:
        client.close()
        producer_client.close()


def test_fetch_out_of_range_and_sessions(broker: RunningBroker) -> None:
    broker.create_topic("f")
    client = _Client(broker)
    try:
        _produce(client, "f", _batch([b"1", b"2"]))
        partition = _fetch(client, "f", 5).responses[0].partitions[0]
        assert partition.error_code == ErrorCode.offset_out_of_range
        at_end = _fetch(client, "f", 2).responses[0].partitions[0]
        assert (at_end.error_code, at_end.records, at_end.high_watermark) == (
            ErrorCode.none,
            b"",
            2,
        )
        stale = _fetch(client, "f", 0, session_id=1234)
        assert stale.error_code == ErrorCode.fetch_session_id_not_found
        old = _fetch(client, "f", 0, version=4).responses[0].partitions[0]
        assert old.high_watermark == 2 and old.records
    finally:
        client.close()


def test_init_producer_id_idempotent_and_transactional(broker: RunningBroker) -> None:
    client = _Client(broker)
    try:
        common = {
            "transaction_timeout": datetime.timedelta(seconds=60),
            "producer_id": -1,
            "producer_epoch": -1,
        }
        first = client.call(22, 4, transactional_id=None, **common)
        second = client.call(22, 4, transactional_id=None, **common)
        assert first.error_code == ErrorCode.none and second.producer_id == first.producer_id + 1
        transactional = client.call(22, 4, transactional_id="tx-1", **common)
        assert transactional.error_code == ErrorCode.none and transactional.producer_epoch == 0
        again = client.call(22, 4, transactional_id="tx-1", **common)
        assert (again.producer_id, again.producer_epoch) == (transactional.producer_id, 1)
    finally:
        client.close()


def test_metadata_auto_create_and_describe_cluster(broker_factory) -> None:
    broker: RunningBroker = broker_factory()
    client = _Client(broker)
    try:
        module = __import__(request_class(3, 12).__module__, fromlist=["x"])
        wanted = (build(module.MetadataRequestTopic, topic_id=None, name="auto"),)
        body = client.call(
            3,
            12,
            topics=wanted,
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=False,
        )
        assert body.topics[0].error_code == ErrorCode.unknown_topic_or_partition
        body = client.call(
            3,
            12,
            topics=wanted,
            allow_auto_topic_creation=True,
            include_topic_authorized_operations=False,
        )
        assert body.topics[0].error_code == ErrorCode.none and len(body.topics[0].partitions) == 1
        assert (body.brokers[0].node_id, body.brokers[0].port) == (0, broker.port)
        cluster = client.call(60, 1, include_cluster_authorized_operations=False, endpoint_type=1)
        assert cluster.cluster_id == body.cluster_id == load_or_create_cluster_id(broker.data_dir)
    finally:
        client.close()


def test_producer_ids_never_repeat_across_restarts(tmp_path: Path) -> None:
    first = ProducerIdAllocator(tmp_path, block_size=10)
    ids = [first.allocate() for _ in range(3)]
    second = ProducerIdAllocator(tmp_path, block_size=10)
    assert second.allocate() > max(ids)
    (tmp_path / "producer_ids").write_text("garbage")
    try:
        ProducerIdAllocator(tmp_path)
    except ValueError as exc:
        assert "producer_ids" in str(exc)
    else:
        raise AssertionError("a corrupt producer_ids file must be reported")
