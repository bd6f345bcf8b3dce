"""Size-prefixed framing of Kafka requests: a 4-byte big-endian length, then the request.

``FrameDecoder`` is fed whatever bytes arrive and hands back complete frames; it
enforces ``socket.request.max.bytes`` before buffering a frame's body.
"""

from __future__ import annotations

import struct

from broker.protocol.errors import FrameTooLarge, InvalidFrame

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "FrameDecoder", "check_frame_size", "encode_frame"]

DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024
"""Kafka's default ``socket.request.max.bytes`` (104857600)."""

# api_key (2) + api_version (2) + correlation_id (4) + client_id length (2)
_MIN_REQUEST_BYTES = 10
_SIZE = struct.Struct(">i")


def check_frame_size(prefix: bytes, max_bytes: int) -> int:
    """Return the frame size a 4-byte prefix announces, or raise if it is not acceptable."""
    (size,) = _SIZE.unpack(prefix)
    if size < _MIN_REQUEST_BYTES:
        raise InvalidFrame(f"frame size {size} is smaller than a request header")
    if size > max_bytes:
        raise FrameTooLarge(size, max_bytes)
    return size


def encode_frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its 4-byte big-endian length."""
    return _SIZE.pack(len(payload)) + payload


class FrameDecoder:
    """Incremental splitter of a byte stream into request frames (without their prefix)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self._max_bytes = max_bytes
        self._buffer = bytearray()
        self._wanted: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every frame now complete, in order."""
        self._buffer += data
        frames: list[bytes] = []
        while True:
            if self._wanted is None:
                if len(self._buffer) < 4:
                    return frames
                self._wanted = check_frame_size(bytes(self._buffer[:4]), self._max_bytes)
                del self._buffer[:4]
            if len(self._buffer) < self._wanted:
                return frames
            frames.append(bytes(self._buffer[: self._wanted]))
            del self._buffer[: self._wanted]
            self._wanted = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a frame."""
        return len(self._buffer)
