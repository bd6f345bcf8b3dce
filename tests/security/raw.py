"""Raw SASL over the Kafka wire (``tests.charter.kafka_wire.RawClient``): handshake, authenticate."""

from __future__ import annotations

from typing import Any

from kio.index import load_request_schema

from tests.charter.kafka_wire import RawClient

__all__ = ["handshake", "sasl_authenticate", "plain_client"]


def handshake(client: RawClient, mechanism: str) -> Any:
    return client.call(load_request_schema(17, 1)(mechanism=mechanism))


def sasl_authenticate(client: RawClient, auth_bytes: bytes) -> Any:
    return client.call(load_request_schema(36, 2)(auth_bytes=auth_bytes))


def plain_client(port: int, user: str, password: str) -> RawClient:
    """A raw connection authenticated with SASL/PLAIN (asserts success)."""
    client = RawClient(port)
    assert handshake(client, "PLAIN").error_code == 0
    response = sasl_authenticate(client, f"\0{user}\0{password}".encode())
    assert response.error_code == 0, response.error_message
    return client
