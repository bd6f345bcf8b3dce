"""The Kafka listeners from ``Settings``, in Kafka's syntax: ``listeners``,
``advertised_listeners`` and ``listener_security_protocol_map``.

``listeners = "PLAINTEXT://127.0.0.1:9092,EXTERNAL://0.0.0.0:9093"`` with
``listener_security_protocol_map = "EXTERNAL:SASL_SSL"`` runs two listeners; the
four protocol names map to themselves. An empty host takes ``host``. Without
``listeners`` there is one on ``host:kafka_port`` whose protocol follows the
other settings: PLAINTEXT, SASL_PLAINTEXT with ``auth``, SSL / SASL_SSL when
``tls_cert`` is set. Every listener is advertised as its own address unless
``advertised_listeners`` (or, for the default listener, ``advertised_host``)
says otherwise.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass

from broker.connection import SECURITY_PROTOCOLS, Listener
from charter.config import ConfigError, Settings
from charter.tls import principal_mapper, server_context

__all__ = ["ListenerAddress", "kafka_listeners", "listener_addresses", "listener_bindings"]

_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_ENDPOINT = re.compile(r"^([A-Za-z0-9_]+)://(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]*):(\d+)$")


@dataclass(frozen=True, slots=True)
class ListenerAddress:
    """One parsed ``NAME://host:port`` with its security protocol (no TLS loaded yet)."""

    name: str
    security_protocol: str
    host: str
    port: int
    advertised_host: str
    advertised_port: int


def _endpoints(text: str, setting: str, default_host: str) -> dict[str, tuple[str, int]]:
    endpoints: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        found = _ENDPOINT.match(item)
        if found is None:
            raise ConfigError(
                f"setting {setting!r}: {item!r} is not NAME://host:port "
                "(e.g. SASL_SSL://0.0.0.0:9093)"
            )
        name, host, port = found.group(1), found.group(2).strip("[]"), int(found.group(3))
        if port > 65535:
            raise ConfigError(f"setting {setting!r}: port {port} of {name} is not a port number")
        if name in endpoints:
            raise ConfigError(f"setting {setting!r}: listener {name} is named twice")
        endpoints[name] = (host or default_host, port)
    return endpoints


def _protocol_map(text: str) -> dict[str, str]:
    protocols = {name: name for name in SECURITY_PROTOCOLS}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, colon, protocol = item.partition(":")
        protocol = protocol.strip().upper()
        if not colon or protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"setting 'listener_security_protocol_map': {item!r} is not NAME:PROTOCOL "
                f"with PROTOCOL one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        protocols[name.strip()] = protocol
    return protocols


def _default_protocol(settings: Settings) -> str:
    transport = "SSL" if settings.tls_cert else "PLAINTEXT"
    return f"SASL_{transport}" if settings.auth else transport


def listener_addresses(settings: Settings) -> list[ListenerAddress]:
    """The configured listeners, checked (``ConfigError`` naming the setting); no files read."""
    if not settings.listeners.strip():
        protocol = _default_protocol(settings)
        addresses = [
            ListenerAddress(
                protocol,
                protocol,
                settings.host,
                settings.kafka_port,
                settings.advertised_host or settings.host,
                settings.kafka_port,
            )
        ]
    else:
        protocols = _protocol_map(settings.listener_security_protocol_map)
        bound = _endpoints(settings.listeners, "listeners", settings.host)
        advertised = _endpoints(settings.advertised_listeners, "advertised_listeners", "")
        unknown = set(advertised) - set(bound)
        if unknown:
            raise ConfigError(
                f"setting 'advertised_listeners' names {', '.join(sorted(unknown))}, "
                "which is not in 'listeners'"
            )
        addresses = []
        for name, (host, port) in bound.items():
            if name not in protocols:
                raise ConfigError(
                    f"listener {name} has no security protocol: add {name}:PROTOCOL to "
                    "'listener_security_protocol_map'"
                )
            advertised_host, advertised_port = advertised.get(name, ("", port))
            advertised_host = advertised_host or settings.advertised_host or host
            if advertised_host in _WILDCARDS:
                raise ConfigError(
                    f"listener {name} binds {host or 'every address'}, which clients cannot "
                    f"connect to: set advertised_listeners ({name}://HOST:{port or 'PORT'}) "
                    "or advertised_host"
                )
            addresses.append(
                ListenerAddress(
                    name,
                    protocols[name],
                    host,
                    port,
                    advertised_host,
                    advertised_port,
                )
            )
        ports = [address.port for address in addresses if address.port]
        if len(ports) != len(set(ports)):
            raise ConfigError("setting 'listeners': each listener needs a port of its own")
    for address in addresses:
        if address.security_protocol.startswith("SASL_") and not settings.auth:
            raise ConfigError(
                f"listener {address.name} uses {address.security_protocol}: turn on "
                "authentication with --auth (CHARTER_AUTH=true)"
            )
        if address.security_protocol.endswith("SSL") and not (
            settings.tls_cert and settings.tls_key
        ):
            raise ConfigError(
                f"listener {address.name} uses {address.security_protocol}: set tls_cert and "
                "tls_key (PEM files)"
            )
    return addresses


def listener_bindings(settings: Settings) -> list[tuple[str, str, int]]:
    """``(what, host, port)`` of each Kafka listener for ``charter.listeners.check_bindings``:
    ``Kafka`` for the default listener (errors then hint at --kafka-port), ``Kafka listener
    NAME`` for configured ones."""
    named = bool(settings.listeners.strip())
    return [
        (f"Kafka listener {address.name}" if named else "Kafka", address.host, address.port)
        for address in listener_addresses(settings)
    ]


def kafka_listeners(settings: Settings) -> list[Listener]:
    """The broker's listeners, TLS contexts loaded (``ConfigError`` when a file is bad)."""
    addresses = listener_addresses(settings)
    context: ssl.SSLContext | None = None
    if any(address.security_protocol.endswith("SSL") for address in addresses):
        context = server_context(settings)
    mapper = principal_mapper(settings)
    return [
        Listener(
            name=address.name,
            security_protocol=address.security_protocol,
            host=address.host,
            port=address.port,
            advertised_host=address.advertised_host,
            advertised_port=address.advertised_port,
            ssl_context=context if address.security_protocol.endswith("SSL") else None,
            certificate_principal=mapper.principal if address.security_protocol == "SSL" else None,
        )
        for address in addresses
    ]
