"""AddOffsetsToTxn (key 25): put a consumer group's offsets in a producer's transaction.

The offsets themselves come next, in TxnOffsetCommit. PRODUCER_FENCED is
INVALID_PRODUCER_EPOCH below v2 (KIP-588).
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group, require_transactional_id
from broker.errors import BrokerError, InvalidRequest, fenced_code, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 25
_PRODUCER_FENCED_VERSION = 2


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    error = ErrorCode.none
    try:
        require_transactional_id(ctx, Action.WRITE, request.transactional_id)
        if not request.group_id:
            raise InvalidRequest("the group id must not be empty")
        require_group(ctx, Action.READ, request.group_id)
        ctx.broker.coordinator().add_offsets(
            request.transactional_id,
            request.producer_id,
            request.producer_epoch,
            request.group_id,
        )
    except BrokerError as exc:
        fenced = fenced_code(exc, use_producer_fenced=ctx.api_version >= _PRODUCER_FENCED_VERSION)
        error = kafka_error(fenced)[0]
    return build(
        module.AddOffsetsToTxnResponse, throttle_time=datetime.timedelta(0), error_code=error
    )


HANDLERS = (ApiHandler(API_KEY, 0, 3, handle),)
