"""A tiny blocking Kafka client over one socket, written from the public protocol spec.

End-to-end tests use it to send exact (and deliberately broken) bytes to a
running broker. It relies on kio's request/response schemas only, never on
Charter's own codec, and carries its own record-batch v2 encoder/decoder
(https://kafka.apache.org/documentation/#recordbatch: CRC-32C over the bytes
from the attributes to the end of the batch).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import socket
import struct
import sys
from typing import Any

import crc32c
from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer

__all__ = ["FetchedRecord", "RawClient", "decode_batches", "encode_batch"]

_BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")  # base offset … record count (61 bytes)
_CRC_START = 21  # attributes begin after base offset, length, epoch, magic, crc


def _zigzag_varint(value: int) -> bytes:
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_zigzag_varint(data: bytes, pos: int) -> tuple[int, int]:
    raw, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7


def _bytes_field(value: bytes | None) -> bytes:
    if value is None:
        return _zigzag_varint(-1)
    return _zigzag_varint(len(value)) + value


def encode_batch(
    values: list[bytes],
    keys: list[bytes | None] | None = None,
    *,
    timestamp_ms: int = 1_700_000_000_000,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    magic: int = 2,
) -> bytes:
    """An uncompressed record batch (base offset 0) holding ``values``."""
    keys = keys or [None] * len(values)
    records = bytearray()
    for delta, (key, value) in enumerate(zip(keys, values, strict=True)):
        body = b"\0" + _zigzag_varint(0) + _zigzag_varint(delta)
        body += _bytes_field(key) + _bytes_field(value) + _zigzag_varint(0)
        records += _zigzag_varint(len(body)) + body
    after_crc = struct.pack(
        ">hiqqqhii",
        0,  # attributes: no compression, CreateTime, not transactional
        len(values) - 1,
        timestamp_ms,
        timestamp_ms,
        producer_id,
        producer_epoch,
        base_sequence,
        len(values),
    ) + bytes(records)
    batch_length = 4 + 1 + 4 + len(after_crc)  # from the leader epoch to the end
    crc = crc32c.crc32c(after_crc)
    return struct.pack(">qiibI", 0, batch_length, -1, magic, crc) + after_crc


@dataclasses.dataclass(frozen=True)
class FetchedRecord:
    offset: int
    key: bytes | None
    value: bytes | None
    producer_id: int


def decode_batches(data: bytes) -> list[FetchedRecord]:
    """Every record of the uncompressed batches in ``data``; CRCs are verified."""
    records: list[FetchedRecord] = []
    pos = 0
    while pos + _BATCH_HEADER.size <= len(data):
        (
            base,
            length,
            _epoch,
            magic,
            crc,
            attributes,
            _last,
            _ts,
            _max_ts,
            pid,
            _pe,
            _seq,
            count,
        ) = _BATCH_HEADER.unpack_from(data, pos)
        end = pos + 12 + length
        if end > len(data):
            break  # a partial batch at the end of a fetch is allowed
        assert magic == 2, f"magic {magic} at {pos}"
        assert crc32c.crc32c(data[pos + _CRC_START : end]) == crc, f"bad CRC at {base}"
        assert attributes & 0x07 == 0, "compressed batches are not decoded here"
        cursor = pos + _BATCH_HEADER.size
        for _ in range(count):
            _size, cursor = _read_zigzag_varint(data, cursor)
            cursor += 1  # record attributes
            _ts_delta, cursor = _read_zigzag_varint(data, cursor)
            offset_delta, cursor = _read_zigzag_varint(data, cursor)
            fields: list[bytes | None] = []
            for _field in range(2):
                size, cursor = _read_zigzag_varint(data, cursor)
                fields.append(None if size < 0 else data[cursor : cursor + size])
                cursor += max(size, 0)
            headers, cursor = _read_zigzag_varint(data, cursor)
            assert headers == 0, "headers are not decoded here"
            records.append(FetchedRecord(base + offset_delta, fields[0], fields[1], pid))
        pos = end
    return records


def _module_of(cls: type) -> Any:
    return sys.modules[cls.__module__]


class RawClient:
    """Blocking request/response over one connection, with kio's typed entities."""

    def __init__(self, port: int, timeout: float = 15) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self._correlation_id = 0

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_exactly(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            data += chunk
        return bytes(data)

    def is_closed_by_peer(self) -> bool:
        """True when the broker has closed this connection (EOF or reset)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def frame(self, request: Any, client_id: str = "e2e") -> bytes:
        """``request`` as a size-prefixed frame with the next correlation id."""
        self._correlation_id += 1
        api_key, version = int(request.__api_key__), int(request.__version__)
        encoded_id = client_id.encode()
        header = struct.pack(">hhih", api_key, version, self._correlation_id, len(encoded_id))
        header += encoded_id + (b"\0" if request.__flexible__ else b"")
        buffer = io.BytesIO()
        entity_writer(type(request))(buffer, request)
        payload = header + buffer.getvalue()
        return struct.pack(">i", len(payload)) + payload

    def read_response(self, api_key: int, version: int) -> tuple[int, Any]:
        """The next response frame decoded as ``api_key`` v``version``: (correlation id, body)."""
        (size,) = struct.unpack(">i", self.recv_exactly(4))
        frame = self.recv_exactly(size)
        (correlation_id,) = struct.unpack_from(">i", frame)
        cls = load_response_schema(api_key, version)
        offset = 5 if cls.__flexible__ and api_key != 18 else 4  # ApiVersions: header v0
        body, _ = entity_reader(cls)(frame, offset)
        return correlation_id, body

    def call(self, request: Any) -> Any:
        self.send_raw(self.frame(request))
        correlation_id, body = self.read_response(
            int(request.__api_key__), int(request.__version__)
        )
        assert correlation_id == self._correlation_id
        return body

    def api_versions(self, version: int = 3) -> Any:
        cls = load_request_schema(18, version)
        fields = (
            {"client_software_name": "e2e", "client_software_version": "1"} if version >= 3 else {}
        )
        return self.call(cls(**fields))

    def produce(self, topic: str, partition: int, records: bytes, acks: int = -1) -> Any:
        """Produce v9; returns the one partition response (None with acks=0: no response)."""
        cls = load_request_schema(0, 9)
        module = _module_of(cls)
        request = cls(
            transactional_id=None,
            acks=acks,
            timeout=datetime.timedelta(seconds=10),
            topic_data=(
                module.TopicProduceData(
                    name=topic,
                    partition_data=(module.PartitionProduceData(index=partition, records=records),),
                ),
            ),
        )
        if acks == 0:
            self.send_raw(self.frame(request))
            return None
        return self.call(request).responses[0].partition_responses[0]

    def fetch(self, topic: str, partition: int, offset: int) -> Any:
        """Fetch v12 without waiting; returns the one partition response."""
        cls = load_request_schema(1, 12)
        module = _module_of(cls)
        request = cls(
            replica_id=-1,
            max_wait=datetime.timedelta(0),
            min_bytes=0,
            max_bytes=50 << 20,
            isolation_level=0,
            session_id=0,
            session_epoch=-1,
            topics=(
                module.FetchTopic(
                    topic=topic,
                    partitions=(
                        module.FetchPartition(
                            partition=partition,
                            current_leader_epoch=-1,
                            fetch_offset=offset,
                            last_fetched_epoch=-1,
                            log_start_offset=-1,
                            partition_max_bytes=50 << 20,
                        ),
                    ),
                ),
            ),
            forgotten_topics_data=(),
            rack_id="",
        )
        return self.call(request).responses[0].partitions[0]

    def fetch_all(self, topic: str, partition: int) -> list[FetchedRecord]:
        """Every record of the partition from offset 0, fetched until the high watermark."""
        records: list[FetchedRecord] = []
        offset = 0
        while True:
            response = self.fetch(topic, partition, offset)
            assert response.error_code == 0, response.error_code
            fetched = [
                r for r in decode_batches(bytes(response.records or b"")) if r.offset >= offset
            ]
            records += fetched
            if not fetched or records[-1].offset + 1 >= response.high_watermark:
                return records
            offset = records[-1].offset + 1

    def init_producer_id(self) -> tuple[int, int]:
        cls = load_request_schema(22, 4)
        response = self.call(
            cls(
                transactional_id=None,
                transaction_timeout=datetime.timedelta(milliseconds=-1),
                producer_id=-1,
                producer_epoch=-1,
            )
        )
        assert response.error_code == 0, response.error_code
        return int(response.producer_id), int(response.producer_epoch)
