"""EndTxn (key 26): commit or abort a producer's transaction.

Answered once the COMMIT/ABORT markers are in every partition of the
transaction and the pending offsets are settled
(``TransactionCoordinator.end_txn``). PRODUCER_FENCED is INVALID_PRODUCER_EPOCH
below v2 (KIP-588).
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_transactional_id
from broker.errors import BrokerError, fenced_code, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 26
_PRODUCER_FENCED_VERSION = 2


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    error = ErrorCode.none
    try:
        require_transactional_id(ctx, Action.WRITE, request.transactional_id)
        await ctx.broker.coordinator().end_txn(
            request.transactional_id,
            request.producer_id,
            request.producer_epoch,
            bool(request.committed),
        )
    except BrokerError as exc:
        fenced = fenced_code(exc, use_producer_fenced=ctx.api_version >= _PRODUCER_FENCED_VERSION)
        error = kafka_error(fenced)[0]
    return build(module.EndTxnResponse, throttle_time=datetime.timedelta(0), error_code=error)


HANDLERS = (ApiHandler(API_KEY, 0, 4, handle),)
