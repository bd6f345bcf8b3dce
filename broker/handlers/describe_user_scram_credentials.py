"""DescribeUserScramCredentials (key 50, KIP-554): each user's SCRAM mechanisms and iterations.

Needs Cluster describe (else CLUSTER_AUTHORIZATION_FAILED for the request).
A request-level error is answered in a result per user named (Kafka sets it at
the top too, but librdkafka 2.x aborts the process on a top-level error: it is
kept at the top only when no user is named).
No users (null or empty) lists every user with credentials; a user without
any is RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE, as Kafka.
"""

from __future__ import annotations

import asyncio
from typing import Any

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE
from broker.handlers.security_support import broker_error, error_fields, security_admin
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 50


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    users = [user.name for user in request.users] if request.users else None
    try:
        require_cluster(ctx, Action.DESCRIBE)
        admin = security_admin(ctx, acls=False)
    except BrokerError as exc:
        return build(
            module.DescribeUserScramCredentialsResponse,
            throttle_time=NO_THROTTLE,
            results=tuple(
                build(
                    module.DescribeUserScramCredentialsResult,
                    user=user,
                    credential_infos=(),
                    **error_fields(exc),
                )
                for user in users or ()
            ),
            **error_fields(None if users else exc),
        )
    descriptions = await asyncio.to_thread(admin.describe_scram, users)
    results = tuple(
        build(
            module.DescribeUserScramCredentialsResult,
            user=description.user,
            credential_infos=tuple(
                build(module.CredentialInfo, mechanism=mechanism, iterations=iterations)
                for mechanism, iterations in description.credentials
            ),
            **error_fields(broker_error(description.error) if description.error else None),
        )
        for description in descriptions
    )
    return build(
        module.DescribeUserScramCredentialsResponse,
        throttle_time=NO_THROTTLE,
        results=results,
        **error_fields(None),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 0, handle),)
