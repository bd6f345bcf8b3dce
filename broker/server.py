"""The asyncio Kafka listener: one task per connection, a thin loop around the sans-io codec.

Each connection reads size-prefixed frames and answers them one at a time in
arrival order (clients may pipeline; responses keep request order, as Kafka
guarantees). A bad frame, an oversized frame, an unknown API key or a request
that does not decode gets one log line and the connection is closed; other
connections are unaffected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct

from broker.handlers.context import BrokerContext, ConnectionState
from broker.handlers.dispatch import dispatch
from broker.protocol import DEFAULT_MAX_REQUEST_BYTES, ProtocolError, check_frame_size

__all__ = ["KafkaServer"]

log = logging.getLogger(__name__)
_PEEK = struct.Struct(">hhi")


class KafkaServer:
    """Accepts Kafka clients on ``host:port`` and serves them with ``broker``'s handlers."""

    def __init__(
        self,
        broker: BrokerContext,
        host: str,
        port: int,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        self._broker = broker
        self._host = host
        self._port = port
        self._max_request_bytes = max_request_bytes
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self._host, self._port, limit=2**20, reuse_address=True
        )

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

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "unknown"
        try:
            await self._serve(ConnectionState(peer=peer), reader, writer)
        except asyncio.CancelledError:
            pass  # the server is closing; this task ends the connection quietly
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(
        self,
        connection: ConnectionState,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        while True:
            try:
                prefix = await reader.readexactly(4)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the client went away between requests
            frame = b""
            try:
                size = check_frame_size(prefix, self._max_request_bytes)
                frame = await reader.readexactly(size)
                response = await dispatch(self._broker, connection, frame)
            except asyncio.IncompleteReadError:
                log.info(
                    "closing connection from %s: frame truncated by the client", connection.peer
                )
                return
            except ConnectionError:
                return
            except ProtocolError as exc:
                log.warning(
                    "closing connection from %s: %s%s", connection.peer, exc, _describe(frame)
                )
                return
            except Exception:
                log.exception(
                    "closing connection from %s: handler failed%s",
                    connection.peer,
                    _describe(frame),
                )
                return
            if response is not None:
                writer.write(response)
                try:
                    await writer.drain()
                except ConnectionError:
                    return


def _describe(frame: bytes) -> str:
    if len(frame) < _PEEK.size:
        return ""
    api_key, api_version, correlation_id = _PEEK.unpack_from(frame)
    return f" (api key {api_key} v{api_version}, correlation id {correlation_id})"
