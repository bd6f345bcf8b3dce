"""InitProducerId (key 22): a fresh producer id (epoch 0) for idempotent producers.

Transactions come later: a request with a transactional id is refused with
INVALID_REQUEST (and a log line naming the reason, since this response has no
message field).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from kio.schema.errors import ErrorCode

from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 22
log = logging.getLogger(__name__)


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    if request.transactional_id is not None:
        log.warning(
            "InitProducerId from client %r with transactional id %r refused: "
            "transactions are not supported yet",
            ctx.header.client_id,
            request.transactional_id,
        )
        return build(
            module.InitProducerIdResponse,
            throttle_time=datetime.timedelta(0),
            error_code=ErrorCode.invalid_request,
            producer_id=-1,
            producer_epoch=-1,
        )
    # Kafka gives a non-transactional producer a new id whatever id/epoch it sends (v3+).
    return build(
        module.InitProducerIdResponse,
        throttle_time=datetime.timedelta(0),
        error_code=ErrorCode.none,
        producer_id=ctx.broker.producer_ids.allocate(),
        producer_epoch=0,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 4, handle),)
