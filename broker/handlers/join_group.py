"""JoinGroup (key 11): join (or rejoin) a classic group; waits at the group's join barrier.

v4+ members without an id get MEMBER_ID_REQUIRED and a member id to rejoin with
(KIP-394); static members (v5+, ``group.instance.id``) rejoin into their old
place. Errors come back in the response, never as a dropped connection.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group
from broker.errors import BrokerError, MemberIdRequired, kafka_error
from broker.groups import JoinRequest
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, client_host, coordinator, milliseconds
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 11


def _error(ctx: RequestContext, code: ErrorCode, member_id: str) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    return build(
        module.JoinGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        generation_id=-1,
        protocol_type=None,
        protocol_name=None if ctx.api_version >= 7 else "",
        leader="",
        skip_assignment=False,
        member_id=member_id,
        members=(),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    session_ms = milliseconds(request.session_timeout)
    rebalance_ms = milliseconds(getattr(request, "rebalance_timeout", None))
    join = JoinRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        instance_id=getattr(request, "group_instance_id", None),
        protocol_type=request.protocol_type,
        protocols=tuple((p.name, bytes(p.metadata)) for p in request.protocols),
        session_timeout_ms=session_ms,
        rebalance_timeout_ms=rebalance_ms if rebalance_ms > 0 else session_ms,
        client_id=ctx.header.client_id or "",
        client_host=client_host(ctx),
        require_known_member_id=ctx.api_version >= 4,
        reason=getattr(request, "reason", None),
        can_skip_assignment=ctx.api_version >= 9,
    )
    try:
        require_group(ctx, Action.READ, request.group_id)
        result = await coordinator(ctx).classic.join(join)
    except MemberIdRequired as exc:
        return _error(ctx, ErrorCode.member_id_required, exc.member_id)
    except BrokerError as exc:
        return _error(ctx, kafka_error(exc)[0], request.member_id)
    members = tuple(
        build(
            module.JoinGroupResponseMember,
            member_id=member_id,
            group_instance_id=instance_id,
            metadata=metadata,
        )
        for member_id, instance_id, metadata in result.members
    )
    return build(
        module.JoinGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        generation_id=result.generation,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name or ("" if ctx.api_version < 7 else None),
        leader=result.leader,
        skip_assignment=result.skip_assignment,
        member_id=result.member_id,
        members=members,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 9, handle),)
