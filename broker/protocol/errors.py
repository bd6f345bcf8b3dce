"""Errors of the sans-io protocol layer: a frame or request that cannot be understood.

The server closes the connection (with a log line) on every one of these except
``UnsupportedApiVersion`` for ApiVersions, which is answered with error 35.
"""

from __future__ import annotations

__all__ = [
    "FrameTooLarge",
    "InvalidFrame",
    "MalformedRequest",
    "ProtocolError",
    "UnknownApiKey",
    "UnsupportedApiVersion",
]


class ProtocolError(Exception):
    """Base of every error raised while framing, decoding or encoding Kafka messages."""


class InvalidFrame(ProtocolError):
    """The 4-byte size prefix is negative or too small to hold a request header."""


class FrameTooLarge(ProtocolError):
    """The size prefix exceeds ``socket.request.max.bytes``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class MalformedRequest(ProtocolError):
    """The request header or body does not decode as its API key and version say."""


class UnknownApiKey(ProtocolError):
    """The request names an API key that this broker does not know at all."""

    def __init__(self, api_key: int) -> None:
        super().__init__(f"unknown API key {api_key}")
        self.api_key = api_key


class UnsupportedApiVersion(ProtocolError):
    """The API key is known but the requested version is not implemented."""

    def __init__(self, api_key: int, api_version: int) -> None:
        super().__init__(f"unsupported version {api_version} of API key {api_key}")
        self.api_key = api_key
        self.api_version = api_version
