"""The asyncio Kafka listener: one task per connection, a thin loop around the sans-io codec.

Each connection reads size-prefixed frames and handles them one at a time in
arrival order (clients may pipeline; responses keep request order, as Kafka
guarantees). A handler may answer with a ``Deferred`` response, one that must
wait for its appends' fsync: the next request is then handled while the fsync
runs, and the responses are still sent in request order. A bad frame, an
oversized frame, an unknown API key or a request that does not decode gets one
log line and the connection is closed; other connections are unaffected.

A TLS listener (``SSL``/``SASL_SSL``) wraps the same protocol in asyncio's TLS
transport; a failed handshake (garbage, a wrong certificate) ends only that
connection. On an ``SSL`` listener a client certificate's subject is mapped to
the connection's principal (mTLS) before the first request.

Frames are received with ``asyncio.BufferedProtocol``: small frames through one
staging buffer, and each frame larger than it straight into a buffer of its
own, so a 1 MB produce request is copied once by the kernel and never again on
its way to the codec (``asyncio.StreamReader`` copies it three times).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import struct
from collections.abc import Awaitable

from broker.connection import ConnectionState, Listener
from broker.handlers.context import BrokerContext
from broker.handlers.deferred import Deferred
from broker.handlers.dispatch import dispatch
from broker.protocol import DEFAULT_MAX_REQUEST_BYTES, ProtocolError, check_frame_size

__all__ = ["KafkaServer"]

log = logging.getLogger(__name__)
_PEEK = struct.Struct(">hhi")
_STAGING_BYTES = 64 * 1024
_QUEUED_FRAME_BYTES = 2 * 2**20
"""Reading pauses while this many bytes of received frames wait to be handled."""
_DEFERRED_RESPONSES = 64
"""Handling pauses while this many responses of a connection wait for their fsync."""
_UNAUTHENTICATED_MAX_BYTES = 512 * 1024
"""Largest frame before SASL authentication completes (Kafka's sasl.server.max.receive.size)."""
_TLS_HANDSHAKE_TIMEOUT_S = 10.0
"""A client that has not finished the TLS handshake by then is disconnected."""


class _FrameTruncated(Exception):
    """The client closed the connection in the middle of a frame."""


class _Connection(asyncio.BufferedProtocol):
    """One client connection: splits received bytes into frames and sends responses."""

    def __init__(self, server: KafkaServer) -> None:
        self._server = server
        self._max_request_bytes = server.max_request_bytes
        self.transport: asyncio.Transport | None = None
        self._staging = bytearray(_STAGING_BYTES)
        self._staged = 0
        self._large: bytearray | None = None
        self._large_received = 0
        self._frames: collections.deque[bytes | memoryview | Exception] = collections.deque()
        self._queued_bytes = 0
        self._reading_paused = False
        self._eof = False
        self._frame_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._server.connection_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._large is not None:
            return memoryview(self._large)[self._large_received :]
        return memoryview(self._staging)[self._staged :]

    def buffer_updated(self, nbytes: int) -> None:
        if self._large is not None:
            self._large_received += nbytes
            if self._large_received == len(self._large):
                self._push(memoryview(self._large).toreadonly())
                self._large = None
            return
        self._staged += nbytes
        self._split_staged()

    def eof_received(self) -> bool:
        self._end_of_input()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_of_input()
        self._writing_paused = False
        _wake(self._drain_waiter)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        _wake(self._drain_waiter)

    # ------------------------------------------------------------------ framing

    def _split_staged(self) -> None:
        """Queue every complete frame in the staging buffer; start a large frame if one begins."""
        staging, position, end = self._staging, 0, self._staged
        try:
            while end - position >= 4:
                size = check_frame_size(staging[position : position + 4], self._max_request_bytes)
                available = end - position - 4
                if available >= size:
                    self._push(bytes(staging[position + 4 : position + 4 + size]))
                    position += 4 + size
                elif 4 + size > len(staging):
                    self._large = bytearray(size)
                    self._large[:available] = staging[position + 4 : end]
                    self._large_received = available
                    position = end
                else:
                    break
        except ProtocolError as exc:
            self._push(exc)
            self._eof = True
            position = end
            self._pause_reading()
        if position:
            staging[: end - position] = staging[position:end]
            self._staged = end - position

    def _push(self, frame: bytes | memoryview | Exception) -> None:
        self._frames.append(frame)
        if not isinstance(frame, Exception):
            self._queued_bytes += len(frame)
            if self._queued_bytes >= _QUEUED_FRAME_BYTES:
                self._pause_reading()
        _wake(self._frame_waiter)

    def _end_of_input(self) -> None:
        if not self._eof:
            self._eof = True
            if self._staged >= 4 or self._large is not None:  # a frame had begun
                self._frames.append(_FrameTruncated())
        _wake(self._frame_waiter)

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            with contextlib.suppress(RuntimeError):
                self.transport.pause_reading()

    async def next_frame(self) -> bytes | memoryview | None:
        """The next request frame (without its size prefix); None once the client is gone.

        Raises the ``ProtocolError`` of a bad frame and ``_FrameTruncated``.
        """
        while not self._frames:
            if self._eof:
                return None
            self._frame_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._frame_waiter
            finally:
                self._frame_waiter = None
        frame = self._frames.popleft()
        if isinstance(frame, Exception):
            raise frame
        self._queued_bytes -= len(frame)
        if self._reading_paused and self._queued_bytes < _QUEUED_FRAME_BYTES and not self._eof:
            self._reading_paused = False
            assert self.transport is not None
            self.transport.resume_reading()
        return frame

    # ------------------------------------------------------------------ writing

    async def send(self, response: bytes) -> None:
        """Write one response frame, waiting while the transport's buffer is full."""
        transport = self.transport
        assert transport is not None
        if transport.is_closing():
            raise ConnectionResetError("connection closed")
        transport.write(response)
        if self._writing_paused:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class KafkaServer:
    """Accepts Kafka clients on one listener and serves them with ``broker``'s handlers."""

    def __init__(
        self,
        broker: BrokerContext,
        listener: Listener,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self._broker = broker
        self.listener = listener
        self._host = listener.host
        self._port = listener.port
        self.max_request_bytes = max_request_bytes
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def broker(self) -> BrokerContext:
        return self._broker

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self),
            self._host,
            self._port,
            reuse_address=True,
            ssl=self.listener.ssl_context,
            ssl_handshake_timeout=_TLS_HANDSHAKE_TIMEOUT_S if self.listener.tls else None,
        )
        if self.listener.advertised_port == 0:  # ephemeral port: advertise the one bound
            self.listener.advertised_port = self.port

    async def close(self) -> None:
        """Stop accepting, then end every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def connection_made(self, connection: _Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._on_connect(connection))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _on_connect(self, connection: _Connection) -> None:
        assert connection.transport is not None
        peername = connection.transport.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "unknown"
        state = ConnectionState(peer=peer, listener=self.listener)
        if self.listener.sasl:
            connection._max_request_bytes = min(self.max_request_bytes, _UNAUTHENTICATED_MAX_BYTES)
        try:
            if self.listener.security_protocol == "SSL":
                try:
                    state.principal = self._certificate_principal(connection.transport)
                except ValueError as exc:
                    log.warning("closing connection from %s: certificate refused: %s", peer, exc)
                    return
            await self._serve(state, connection)
        except asyncio.CancelledError:
            pass  # the server is closing; this task ends the connection quietly
        finally:
            connection.transport.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(connection.closed), 5)

    def _certificate_principal(self, transport: asyncio.Transport) -> str | None:
        """The mTLS principal of the client's certificate; None without one (ANONYMOUS, as
        Kafka). ``ValueError`` when the mapping rules refuse it."""
        mapping = self.listener.certificate_principal
        ssl_object = transport.get_extra_info("ssl_object")
        certificate = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if mapping is None or not certificate:
            return None
        return mapping(certificate)

    async def _serve(self, state: ConnectionState, connection: _Connection) -> None:
        # Responses still waiting for an fsync, oldest first; a response that needs no
        # fsync queues behind them too, to keep request order.
        waiting: collections.deque[asyncio.Task[None]] = collections.deque()
        try:
            while True:
                frame: bytes | memoryview = b""
                try:
                    next_frame = await connection.next_frame()
                    if next_frame is None:
                        break  # the client went away between requests
                    frame = next_frame
                    response = await dispatch(self._broker, state, frame)
                    if state.principal is not None:
                        connection._max_request_bytes = self.max_request_bytes
                except _FrameTruncated:
                    log.info(
                        "closing connection from %s: frame truncated by the client", state.peer
                    )
                    return
                except ConnectionError:
                    return
                except ProtocolError as exc:
                    log.warning(
                        "closing connection from %s: %s%s", state.peer, exc, _describe(frame)
                    )
                    return
                except Exception:
                    log.exception(
                        "closing connection from %s: handler failed%s", state.peer, _describe(frame)
                    )
                    return
                while waiting and waiting[0].done():
                    if not await _sent(waiting.popleft(), state):
                        return
                if response is None:
                    continue
                if isinstance(response, Deferred) or waiting:
                    previous = waiting[-1] if waiting else None
                    waiting.append(
                        asyncio.ensure_future(_send_after(connection, previous, response))
                    )
                    if len(waiting) >= _DEFERRED_RESPONSES and not await _sent(
                        waiting.popleft(), state
                    ):
                        return
                    continue
                try:
                    await connection.send(response)
                except ConnectionError:
                    return
            while waiting:  # the client half-closed: answer what it sent
                if not await _sent(waiting.popleft(), state):
                    return
        finally:
            for task in waiting:
                if task.done():
                    if not task.cancelled():
                        task.exception()  # already logged by the first failure
                else:
                    task.cancel()


async def _send_after(
    connection: _Connection, previous: Awaitable[None] | None, response: bytes | Deferred[bytes]
) -> None:
    """Send ``response`` once the previous response is sent and its own fsync is done.

    A failure closes the connection at once (the serving loop may be waiting for
    the next request) and is logged by ``_sent``; nothing after it is sent.
    """
    try:
        if previous is not None:
            await previous
        if isinstance(response, Deferred):
            await response.ready
            response = response.value
    except BaseException:
        if connection.transport is not None:
            connection.transport.close()
        raise
    await connection.send(response)


async def _sent(task: asyncio.Task[None], state: ConnectionState) -> bool:
    """Wait for one deferred response; False (logged) when the connection must close."""
    try:
        await task
    except ConnectionError:
        return False
    except Exception:
        log.exception("closing connection from %s: a deferred response failed", state.peer)
        return False
    return True


def _describe(frame: bytes | memoryview) -> str:
    if len(frame) < _PEEK.size:
        return ""
    api_key, api_version, correlation_id = _PEEK.unpack_from(frame)
    return f" (api key {api_key} v{api_version}, correlation id {correlation_id})"
