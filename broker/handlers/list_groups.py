"""ListGroups (key 16): every group, filtered by state (v4+) and type (v5+).

As Kafka, only the groups the principal may describe are listed (no error for the others).
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import may_describe_group
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 16


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    summaries = coordinator(ctx).list_groups(
        getattr(request, "states_filter", ()), getattr(request, "types_filter", ())
    )
    groups = tuple(
        build(
            module.ListedGroup,
            group_id=summary.group_id,
            protocol_type=summary.protocol_type,
            group_state=summary.state.value,
            group_type=summary.group_type,
        )
        for summary in summaries
        if may_describe_group(ctx, summary.group_id)
    )
    return build(
        module.ListGroupsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        groups=groups,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
