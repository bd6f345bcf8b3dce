"""Checking and binding listening ports before a tier starts, with one clear error each.

``charter up`` checks every port before it starts anything (``check_ports``); the
HTTP tier then binds its socket itself (``bind_http``) and hands the descriptor to
gunicorn, so a port taken in between is still one error line, not gunicorn's
retry loop. The broker binds through asyncio and reports a clash with
``describe_bind_error``.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable

__all__ = ["ListenerError", "bind_http", "check_bindings", "check_ports", "describe_bind_error"]

_FLAGS = {"HTTP": "--http-port", "Kafka": "--kafka-port"}


class ListenerError(Exception):
    """A listener cannot bind; the message is one line naming the port and what to do."""


def describe_bind_error(what: str, host: str, port: int, error: OSError) -> ListenerError:
    """The one-line error for failing to listen on ``host:port`` for the ``what`` listener."""
    flag = _FLAGS.get(what, "")
    if error.errno == errno.EADDRINUSE:
        hint = f"; stop what uses it or choose another port with {flag}" if flag else ""
        return ListenerError(f"{what} port {port} on {host} is already in use{hint}")
    if error.errno == errno.EACCES:
        return ListenerError(f"not allowed to listen on {what} port {port} on {host}")
    if error.errno == errno.EADDRNOTAVAIL:
        return ListenerError(f"cannot listen on {host}: not an address of this machine")
    reason = error.strerror or str(error)
    return ListenerError(f"cannot listen on {host}:{port} for {what}: {reason}")


def _addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, sockaddr) for every address the listener binds, as asyncio resolves ``host``."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenerError(f"cannot listen on {host!r}: {exc.strerror}") from None
    unique: dict[tuple, int] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        unique.setdefault(sockaddr, family)
    return [(family, sockaddr) for sockaddr, family in unique.items()]


def _new_socket(family: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    # The same option the servers set: a port in TIME_WAIT is free, one listened on is not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return sock


def check_ports(host: str, ports: Iterable[tuple[str, int]]) -> None:
    """Raise ``ListenerError`` unless every ``(what, port)`` can be listened on at ``host``.

    Port 0 (ephemeral) is always free; two listeners on one port is an error.
    """
    check_bindings((what, host, port) for what, port in ports)


def check_bindings(bindings: Iterable[tuple[str, str, int]]) -> None:
    """``check_ports`` for listeners on different hosts: ``(what, host, port)`` each."""
    seen: dict[int, str] = {}
    for what, host, port in bindings:
        if port == 0:
            continue
        if port in seen:
            raise ListenerError(f"the {seen[port]} and {what} listeners cannot share port {port}")
        seen[port] = what
        for family, sockaddr in _addresses(host, port):
            with _new_socket(family) as sock:
                try:
                    sock.bind(sockaddr)
                except OSError as exc:
                    raise describe_bind_error(what, host, port, exc) from None


def bind_http(host: str, port: int) -> socket.socket:
    """A bound socket for the HTTP listener on ``host:port`` (gunicorn listens on it).

    The address family follows gunicorn's own rule (IPv6 when the host is an IPv6
    literal), so handing the socket over changes nothing but the error on a clash.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = _new_socket(family)
    try:
        sock.bind((host, port))
    except socket.gaierror as exc:
        sock.close()
        raise ListenerError(f"cannot listen on {host!r}: {exc.strerror}") from None
    except OSError as exc:
        sock.close()
        raise describe_bind_error("HTTP", host, port, exc) from None
    sock.set_inheritable(True)
    return sock
