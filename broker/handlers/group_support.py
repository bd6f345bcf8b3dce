"""What the group handlers share: the coordinator, error codes, timeouts in ms, the client host."""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError, kafka_error
from broker.groups import GroupCoordinator
from broker.handlers.context import RequestContext

__all__ = ["NO_THROTTLE", "client_host", "coordinator", "error_code", "milliseconds"]

NO_THROTTLE = datetime.timedelta(0)


def coordinator(ctx: RequestContext) -> GroupCoordinator:
    groups = ctx.broker.groups
    assert groups is not None, "the broker was built without a group coordinator"
    return groups


def error_code(exc: BrokerError | None) -> ErrorCode:
    return ErrorCode.none if exc is None else kafka_error(exc)[0]


def milliseconds(value: Any, default: int = -1) -> int:
    """A kio timedelta field in whole milliseconds (``default`` when absent)."""
    if value is None:
        return default
    if isinstance(value, datetime.timedelta):
        return int(value / datetime.timedelta(milliseconds=1))
    return int(value)


def client_host(ctx: RequestContext) -> str:
    """The peer's address as Kafka reports it (``/127.0.0.1``)."""
    host = ctx.connection.peer.rsplit(":", 1)[0]
    return f"/{host}"
