"""DeleteGroups (key 42): delete empty groups with their committed offsets.

Each group needs DELETE on it; a denied one answers GROUP_AUTHORIZATION_FAILED and is kept.
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_group
from broker.errors import BrokerError
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 42


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    names = list(dict.fromkeys(request.groups_names))
    outcomes: dict[str, BrokerError | None] = {}
    for group_id in names:
        try:
            require_group(ctx, Action.DELETE, group_id)
        except BrokerError as exc:
            outcomes[group_id] = exc
    allowed = [group_id for group_id in names if group_id not in outcomes]
    if allowed:
        outcomes.update(coordinator(ctx).delete_groups(allowed))
    results = tuple(
        build(
            module.DeletableGroupResult,
            group_id=group_id,
            error_code=error_code(outcomes[group_id]),
        )
        for group_id in names
    )
    return build(module.DeleteGroupsResponse, throttle_time=NO_THROTTLE, results=results)


HANDLERS = (ApiHandler(API_KEY, 0, 2, handle),)
