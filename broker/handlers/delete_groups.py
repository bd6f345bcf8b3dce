"""DeleteGroups (key 42): delete empty groups with their committed offsets."""

from __future__ import annotations

from typing import Any

from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 42


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    outcomes = coordinator(ctx).delete_groups(request.groups_names)
    results = tuple(
        build(
            module.DeletableGroupResult,
            group_id=group_id,
            error_code=error_code(outcomes[group_id]),
        )
        for group_id in dict.fromkeys(request.groups_names)
    )
    return build(module.DeleteGroupsResponse, throttle_time=NO_THROTTLE, results=results)


HANDLERS = (ApiHandler(API_KEY, 0, 2, handle),)
