"""CreateAcls (key 30): each ACL becomes the role binding that is exactly it, or an ACL entry.

Needs Cluster alter (SystemAdmin); else every result is CLUSTER_AUTHORIZATION_FAILED,
and SECURITY_DISABLED with auth off. ACLs no role expresses (DENY, a host,
``User:*``, CREATE, DESCRIBE_CONFIGS, ...) are kept as ACL entries
(``governance.security.acls.place_acl``); one Charter cannot keep (a USER
resource, a host name, ...) is INVALID_REQUEST with the reason, and the others
in the request are still created. Each creation is audited
(``rolebinding.create``/``acl.create ... (via Kafka CreateAcls)``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError, InvalidRequest
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE
from broker.handlers.security_support import (
    MAX_ITEMS,
    broker_error,
    error_fields,
    security_admin,
)
from broker.protocol import build, response_module
from governance.security.acls import Acl
from governance.security.kafka_admin import KafkaSecurityAdmin

__all__ = ["HANDLERS"]

API_KEY = 30


def _create(admin: KafkaSecurityAdmin, creations: Any, actor: str) -> list[BrokerError | None]:
    acls = [
        Acl(
            resource_type=int(creation.resource_type),
            resource_name=creation.resource_name,
            pattern_type=int(getattr(creation, "resource_pattern_type", 3)),
            principal=creation.principal,
            host=creation.host,
            operation=int(creation.operation),
            permission=int(creation.permission_type),
        )
        for creation in creations[:MAX_ITEMS]
    ]
    outcomes: list[BrokerError | None] = [
        None if error is None else broker_error(error)
        for error in admin.create_acls(acls, actor=actor)
    ]
    too_many = InvalidRequest(f"at most {MAX_ITEMS} ACLs per request")
    return outcomes + [too_many] * (len(creations) - len(acls))


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    try:
        require_cluster(ctx, Action.ALTER)
        admin = security_admin(ctx, acls=True)
    except BrokerError as exc:
        outcomes: list[BrokerError | None] = [exc] * len(request.creations)
    else:
        outcomes = await asyncio.to_thread(_create, admin, request.creations, ctx.principal)
    return build(
        module.CreateAclsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(module.AclCreationResult, **error_fields(outcome)) for outcome in outcomes
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 1, 3, handle),)
