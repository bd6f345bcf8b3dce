"""The asyncio server over real sockets: pipelining, bad frames, and still serving afterwards."""

from __future__ import annotations

import logging
import random
import socket
import struct

import pytest
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader

from broker.protocol import encode_request, request_class, response_class

from .conftest import RunningBroker


def _connect(broker: RunningBroker) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    sock.settimeout(10)
    return sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("closed")
        chunks += chunk
    return bytes(chunks)


def _read_response(sock: socket.socket, api_key: int, version: int):
    (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
    frame = _recv_exactly(sock, size)
    (correlation_id,) = struct.unpack_from(">i", frame)
    cls = response_class(api_key, version)
    offset = 5 if cls.__flexible__ and api_key != 18 else 4
    body, _ = entity_reader(cls)(frame, offset)
    return correlation_id, body


def _api_versions_frame(version: int, correlation_id: int) -> bytes:
    cls = request_class(18, version)
    fields = {"client_software_name": "t", "client_software_version": "1"} if version >= 3 else {}
    return encode_request(cls(**fields), correlation_id)


def _is_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _assert_served(broker: RunningBroker) -> None:
    with _connect(broker) as sock:
        sock.sendall(_api_versions_frame(3, 1))
        correlation_id, body = _read_response(sock, 18, 3)
        assert correlation_id == 1 and body.error_code == ErrorCode.none


def test_pipelined_requests_are_answered_in_order(broker: RunningBroker) -> None:
    with _connect(broker) as sock:
        sock.sendall(b"".join(_api_versions_frame(version, 100 + version) for version in range(4)))
        for version in range(4):
            correlation_id, body = _read_response(sock, 18, version)
            assert correlation_id == 100 + version
            assert body.error_code == ErrorCode.none


def test_unsupported_api_versions_version_is_answered_in_v0(broker: RunningBroker) -> None:
    with _connect(broker) as sock:
        frame = struct.pack(">hhih", 18, 77, 5, 1) + b"x" + b"\x00\x00"
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        correlation_id, body = _read_response(sock, 18, 0)
        assert correlation_id == 5
        assert body.error_code == ErrorCode.unsupported_version
        assert any(entry.api_key == 0 for entry in body.api_keys)


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        ("negative size", struct.pack(">i", -1)),
        ("oversized", struct.pack(">i", 200 * 1024 * 1024)),
        (
            "unknown api key",
            (lambda f: struct.pack(">i", len(f)) + f)(struct.pack(">hhih", 4242, 0, 1, -1)),
        ),
        (
            "unsupported produce version",
            (lambda f: struct.pack(">i", len(f)) + f)(
                struct.pack(">hhih", 0, 0, 1, -1) + b"\0" * 20
            ),
        ),
        (
            "garbage body",
            (lambda f: struct.pack(">i", len(f)) + f)(
                struct.pack(">hhih", 3, 1, 1, -1) + b"\xff" * 3
            ),
        ),
    ],
)
def test_bad_frames_close_the_connection_and_the_server_goes_on(
    broker: RunningBroker, name: str, payload: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broker.server")
    with _connect(broker) as sock:
        sock.sendall(payload)
        assert _is_closed(sock), name
    assert any("closing connection" in record.getMessage() for record in caplog.records)
    _assert_served(broker)


def test_truncated_frame_then_disconnect(broker: RunningBroker) -> None:
    with _connect(broker) as sock:
        sock.sendall(struct.pack(">i", 1000) + b"\x00\x03")
    _assert_served(broker)


def test_fuzzed_and_mutated_frames_over_sockets(broker: RunningBroker) -> None:
    rng = random.Random(20240501)
    valid = _api_versions_frame(3, 1)
    for _ in range(60):
        with _connect(broker) as sock:
            choice = rng.random()
            if choice < 0.3:
                payload = rng.randbytes(rng.randint(1, 200))
            elif choice < 0.8:
                mutated = bytearray(valid)
                for _ in range(rng.randint(1, 3)):
                    position = rng.randrange(4, len(mutated))
                    mutated[position] = rng.randrange(256)
                payload = bytes(mutated)
            else:
                payload = valid[: rng.randrange(1, len(valid))]
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(65536):
                    pass
            except (ConnectionResetError, TimeoutError):
                pass
    _assert_served(broker)
