"""Whether these settings may be served: no non-loopback bind without auth; TLS files load.

Light on purpose (no database, no web framework): ``charter up`` asks it before anything
starts.
"""

from __future__ import annotations

import ipaddress
import socket

from charter.config import ConfigError, Settings
from charter.kafka_listeners import listener_addresses
from charter.tls import principal_mapper, server_context

__all__ = ["check_exposure"]


def check_exposure(settings: Settings) -> None:
    """``ConfigError`` when a non-loopback address would be bound without auth (the HTTP
    host or any Kafka listener's), or when the TLS settings cannot be loaded."""
    hosts = [settings.host] + [address.host for address in listener_addresses(settings)]
    for host in hosts:
        if not settings.auth and not _is_loopback(host):
            raise ConfigError(
                f"refusing to listen on {host} without authentication: "
                "turn it on with --auth (CHARTER_AUTH=true) or bind 127.0.0.1"
            )
    if settings.tls_cert or settings.tls_key:
        server_context(settings)
    principal_mapper(settings)


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except (OSError, ValueError):
            return False
