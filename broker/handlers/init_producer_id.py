"""InitProducerId (key 22): a producer id and epoch, for idempotent and transactional producers.

Without a transactional id: a fresh producer id, epoch 0 (Kafka gives a
non-transactional producer a new id whatever id/epoch it sends, v3+). With one:
the transaction coordinator maps the id to a producer id and bumps its epoch,
aborting an open transaction and fencing the previous producer
(``TransactionCoordinator.init_producer_id``). PRODUCER_FENCED is answered as
INVALID_PRODUCER_EPOCH below v4 (KIP-588). Authorization: WRITE on the transactional
id, or for an idempotent producer write on some topic (``broker.authorization``).
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import (
    Action,
    require_idempotent_write,
    require_transactional_id,
)
from broker.errors import BrokerError, fenced_code, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 22
_PRODUCER_FENCED_VERSION = 4


def _response(module: Any, error: ErrorCode, producer_id: int, producer_epoch: int) -> Any:
    return build(
        module.InitProducerIdResponse,
        throttle_time=datetime.timedelta(0),
        error_code=error,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    if request.transactional_id is None:
        try:
            require_idempotent_write(ctx)
        except BrokerError as exc:
            return _response(module, kafka_error(exc)[0], -1, -1)
        return _response(module, ErrorCode.none, ctx.broker.producer_ids.allocate(), 0)
    timeout_ms = int(request.transaction_timeout.total_seconds() * 1000)
    try:
        require_transactional_id(ctx, Action.WRITE, request.transactional_id)
        producer_id, producer_epoch = await ctx.broker.coordinator().init_producer_id(
            request.transactional_id,
            timeout_ms,
            getattr(request, "producer_id", -1),
            getattr(request, "producer_epoch", -1),
        )
    except BrokerError as exc:
        error = fenced_code(exc, use_producer_fenced=ctx.api_version >= _PRODUCER_FENCED_VERSION)
        return _response(module, kafka_error(error)[0], -1, -1)
    return _response(module, ErrorCode.none, producer_id, producer_epoch)


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
