"""Group commit through the server: acks wait for their fsync, which runs off the event loop.

``os.fdatasync`` is replaced by a gate that holds every fsync until the test
opens it, so the tests can look at the broker while an fsync is running: the
data of every request is appended, no acknowledgement has been sent, other
connections are served, and after the gate opens one fsync covers every append
that arrived while the first one ran.
"""

from __future__ import annotations

import datetime
import os
import select
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader

from broker.protocol import build, encode_request, request_class, response_class
from broker.protocol.records import Record, build_batch

from .conftest import RunningBroker

_TOPIC = "durable"


class _FsyncGate:
    """Stands in for ``os.fdatasync``: counts calls and holds each until ``open()``."""

    def __init__(self) -> None:
        self._real = os.fdatasync
        self._open = threading.Event()
        self._entered = threading.Semaphore(0)
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self._entered.release()
        self._open.wait(timeout=30)
        self._real(fd)

    def wait_entered(self) -> None:
        assert self._entered.acquire(timeout=30), "no fsync started"

    def open(self) -> None:
        self._open.set()


@pytest.fixture
def fsync_gate(broker: RunningBroker, monkeypatch: pytest.MonkeyPatch) -> Iterator[_FsyncGate]:
    broker.create_topic(_TOPIC)
    gate = _FsyncGate()
    monkeypatch.setattr(os, "fdatasync", gate)
    yield gate
    gate.open()  # never leave a broker thread waiting


def _connect(broker: RunningBroker) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=20)
    sock.settimeout(20)
    return sock


def _produce_frame(correlation_id: int, value: bytes) -> bytes:
    cls = request_class(0, 9)
    module = __import__(cls.__module__, fromlist=["x"])
    records = build_batch([Record(0, 0, None, value)])
    partition = build(module.PartitionProduceData, index=0, records=records)
    request = build(
        cls,
        transactional_id=None,
        acks=-1,
        timeout=datetime.timedelta(seconds=20),
        topic_data=(build(module.TopicProduceData, name=_TOPIC, partition_data=(partition,)),),
    )
    return encode_request(request, correlation_id)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "connection closed"
        data += chunk
    return bytes(data)


def _read_response(sock: socket.socket, api_key: int, version: int):
    (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
    frame = _recv_exactly(sock, size)
    (correlation_id,) = struct.unpack_from(">i", frame)
    cls = response_class(api_key, version)
    offset = 5 if cls.__flexible__ and api_key != 18 else 4
    body, _ = entity_reader(cls)(frame, offset)
    return correlation_id, body


def _partition_response(sock: socket.socket):
    correlation_id, body = _read_response(sock, 0, 9)
    return correlation_id, body.responses[0].partition_responses[0]


def _log_end_offset(broker: RunningBroker) -> int:
    topics = broker.app.topics
    assert topics is not None
    return broker.call(lambda: topics.partition(_TOPIC, 0).log_end_offset)


def _wait_for_log_end(broker: RunningBroker, offset: int) -> None:
    for _ in range(2000):
        if _log_end_offset(broker) == offset:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"log end offset never reached {offset}")


def _nothing_to_read(socks: list[socket.socket]) -> bool:
    readable, _, _ = select.select(socks, [], [], 0)
    return not readable


def test_concurrent_connections_share_one_fsync_and_are_acked_after_it(
    broker: RunningBroker, fsync_gate: _FsyncGate
) -> None:
    clients = [_connect(broker) for _ in range(4)]
    try:
        clients[0].sendall(_produce_frame(1, b"first"))
        fsync_gate.wait_entered()  # the first append's fsync is running (and held)
        for number, sock in enumerate(clients[1:], start=2):
            sock.sendall(_produce_frame(number, b"value %d" % number))
        _wait_for_log_end(broker, 4)  # every append is written while the fsync runs
        assert _nothing_to_read(clients)  # no acknowledgement before its fsync

        with _connect(broker) as other:  # the event loop serves others meanwhile
            cls = request_class(18, 3)
            other.sendall(
                encode_request(cls(client_software_name="t", client_software_version="1"), 9)
            )
            assert _read_response(other, 18, 3)[1].error_code == ErrorCode.none
        assert _nothing_to_read(clients)

        fsync_gate.open()
        responses = [_partition_response(sock)[1] for sock in clients]
        assert all(response.error_code == ErrorCode.none for response in responses)
        assert sorted(response.base_offset for response in responses) == [0, 1, 2, 3]
        assert fsync_gate.calls == 2  # the first, then one for the three that waited
    finally:
        for sock in clients:
            sock.close()


def test_pipelined_requests_on_one_connection_share_an_fsync_and_stay_in_order(
    broker: RunningBroker, fsync_gate: _FsyncGate
) -> None:
    with _connect(broker) as sock:
        sock.sendall(_produce_frame(1, b"first"))
        fsync_gate.wait_entered()
        sock.sendall(b"".join(_produce_frame(number, b"v") for number in (2, 3, 4)))
        _wait_for_log_end(broker, 4)  # handled while the first response waits
        assert _nothing_to_read([sock])
        fsync_gate.open()
        answers = [_partition_response(sock) for _ in range(4)]
        assert [correlation_id for correlation_id, _ in answers] == [1, 2, 3, 4]
        assert [response.base_offset for _, response in answers] == [0, 1, 2, 3]
        assert fsync_gate.calls == 2


def test_a_failed_fsync_acknowledges_nothing_and_closes_the_connection(
    broker: RunningBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker.create_topic(_TOPIC)

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    with _connect(broker) as sock:
        sock.sendall(_produce_frame(1, b"lost"))
        assert sock.recv(1) == b""  # closed without an answer; the client will retry
