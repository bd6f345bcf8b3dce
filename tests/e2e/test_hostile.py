"""Hostile Kafka input against a running ``charter serve broker`` over raw sockets.

Bad record batches get Kafka's per-partition error and store nothing (a request
whose complete batch is followed by a torn one is refused whole, where Kafka
would trim the tail and append the rest); broken frames close only their own
connection. After each one the broker still serves
a well-behaved client, and the log read from offset 0 holds exactly what was
acknowledged.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator

import crc32c
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.charter.kafka_wire import RawClient, encode_batch
from tests.charter.processes import CharterProcess, running_broker

TOPIC = "hostile"
CORRUPT_MESSAGE = 2
UNSUPPORTED_VERSION = 35
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
INVALID_RECORD = 87

GOOD = encode_batch([b"good-1", b"good-2"])


def _with_crc(batch: bytes) -> bytes:
    """Recompute the CRC-32C so that only the intended defect remains."""
    fixed = bytearray(batch)
    struct.pack_into(">I", fixed, 17, crc32c.crc32c(bytes(fixed[21:])))
    return bytes(fixed)


def _patched(batch: bytes, fmt: str, offset: int, value: int) -> bytes:
    patched = bytearray(batch)
    struct.pack_into(fmt, patched, offset, value)
    return _with_crc(bytes(patched))


def _bad_crc() -> bytes:
    corrupt = bytearray(GOOD)
    corrupt[-1] ^= 0xFF
    return bytes(corrupt)


# (name, records, expected error). Batch layout offsets: length 8, magic 16, crc 17,
# attributes 21, lastOffsetDelta 23, records count 57.
BAD_BATCHES = [
    ("bad CRC", _bad_crc(), CORRUPT_MESSAGE),
    ("good batch then bad CRC", GOOD + _bad_crc(), INVALID_RECORD),  # two batches
    ("length below the minimum", _patched(GOOD, ">i", 8, 5), CORRUPT_MESSAGE),
    ("unknown magic 7", GOOD[:16] + b"\x07" + GOOD[17:], CORRUPT_MESSAGE),
    ("count disagrees with last offset delta", _patched(GOOD, ">i", 57, 9), CORRUPT_MESSAGE),
    ("unknown compression codec", _patched(GOOD, ">h", 21, 7), CORRUPT_MESSAGE),
    ("good batch then a torn one", GOOD + GOOD[:-3], CORRUPT_MESSAGE),
    ("truncated batch", GOOD[:-5], INVALID_RECORD),
    ("length larger than the data", _patched(GOOD, ">i", 8, 100_000), INVALID_RECORD),
    ("no records at all", b"", INVALID_RECORD),
    ("magic 0", encode_batch([b"old"], magic=0), INVALID_RECORD),
    ("magic 1", encode_batch([b"old"], magic=1), INVALID_RECORD),
    ("two batches", GOOD + GOOD, INVALID_RECORD),
    ("control batch", _patched(GOOD, ">h", 21, 0x20), INVALID_RECORD),
    ("transactional batch", _patched(GOOD, ">h", 21, 0x10), TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
]


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _header(api_key: int, version: int, correlation_id: int = 7) -> bytes:
    return struct.pack(">hhih", api_key, version, correlation_id, 3) + b"e2e"


BAD_FRAMES = [
    ("size far above socket.request.max.bytes", struct.pack(">i", 2**31 - 1) + b"\0" * 16),
    ("negative size", struct.pack(">i", -1)),
    ("size smaller than a header", struct.pack(">i", 3) + b"abc"),
    ("unknown API key", _frame(_header(999, 0))),
    ("unsupported Metadata version", _frame(_header(3, 99) + b"\0")),
    ("unsupported Fetch version", _frame(_header(1, 1))),
    ("client id longer than the frame", _frame(struct.pack(">hhih", 18, 0, 1, 500))),
    ("undecodable body", _frame(_header(3, 12) + b"\0" + b"\xff" * 7)),
    ("HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("random bytes after a negative size", b"\xff\xfe" + os.urandom(254)),
    ("frame cut short", struct.pack(">i", 1000) + _header(18, 0)),
]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_broker(tmp_path_factory.mktemp("hostile") / "data") as process:
        admin = AdminClient({"bootstrap.servers": process.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1)])[TOPIC].result(timeout=30)
        yield process


def _assert_still_serving(broker: CharterProcess) -> None:
    """A well-behaved client still produces: the offset it gets is the next one."""
    with RawClient(broker.kafka_port) as client:
        assert client.api_versions().error_code == 0
        before = client.fetch(TOPIC, 0, 0).high_watermark
        response = client.produce(TOPIC, 0, encode_batch([b"after"]))
        assert response.error_code == 0
        assert response.base_offset == before


@pytest.mark.parametrize(
    ("name", "records", "expected"), BAD_BATCHES, ids=[c[0] for c in BAD_BATCHES]
)
def test_bad_batches_are_refused_and_nothing_is_stored(
    broker: CharterProcess, name: str, records: bytes, expected: int
) -> None:
    with RawClient(broker.kafka_port) as client:
        before = client.fetch_all(TOPIC, 0)
        response = client.produce(TOPIC, 0, records)
        assert int(response.error_code) == expected, (name, response.error_message)
        assert response.base_offset == -1
        assert response.error_message  # a clear reason, v8+
        # The same connection goes on: nothing half-written, the log is unchanged.
        assert client.fetch_all(TOPIC, 0) == before
    _assert_still_serving(broker)


def test_bad_batch_with_acks_0_stores_nothing(broker: CharterProcess) -> None:
    with RawClient(broker.kafka_port) as client:
        before = client.fetch_all(TOPIC, 0)
        assert client.produce(TOPIC, 0, _bad_crc(), acks=0) is None
        # No response for acks=0; the next request on the connection is answered.
        assert client.fetch_all(TOPIC, 0) == before


@pytest.mark.parametrize(("name", "data"), BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
def test_bad_frames_close_only_their_connection(
    broker: CharterProcess, name: str, data: bytes
) -> None:
    with RawClient(broker.kafka_port) as bystander, RawClient(broker.kafka_port) as attacker:
        assert bystander.api_versions().error_code == 0
        attacker.send_raw(data)
        if name == "frame cut short":
            attacker.sock.shutdown(socket.SHUT_WR)
        assert attacker.is_closed_by_peer(), name
        assert bystander.api_versions().error_code == 0  # the open connection is unaffected
    _assert_still_serving(broker)


def test_unsupported_api_versions_version_is_answered_with_error_35_in_v0(
    broker: CharterProcess,
) -> None:
    with RawClient(broker.kafka_port) as client:
        client.send_raw(_frame(_header(18, 99, correlation_id=42) + b"\0\0\0"))
        correlation_id, body = client.read_response(18, 0)
        assert correlation_id == 42
        assert int(body.error_code) == UNSUPPORTED_VERSION
        ranges = {int(k.api_key): (int(k.min_version), int(k.max_version)) for k in body.api_keys}
        assert ranges[18] == (0, 4)
        assert {0, 1, 3} <= set(ranges)
        # The connection stays usable: the client retries with a version we share.
        assert client.api_versions(3).error_code == 0


def test_log_holds_exactly_the_acknowledged_records(broker: CharterProcess) -> None:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True})
    for index in range(3):
        producer.produce(TOPIC, value=b"client-%d" % index)
    assert producer.flush(20) == 0
    with RawClient(broker.kafka_port) as client:
        stored = client.fetch_all(TOPIC, 0)
    assert [record.offset for record in stored] == list(range(len(stored)))
    values = [record.value for record in stored]
    assert set(values) <= {b"after", b"client-0", b"client-1", b"client-2"}
    assert values[-3:] == [b"client-0", b"client-1", b"client-2"]
    assert "Traceback" not in broker.output
    assert broker.process.poll() is None
