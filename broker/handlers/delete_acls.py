"""DeleteAcls (key 31): delete the role bindings and ACL entries whose ACL matches each filter.

Needs Cluster alter (SystemAdmin); else every filter result is
CLUSTER_AUTHORIZATION_FAILED, and SECURITY_DISABLED with auth off. A filter
with an UNKNOWN field is INVALID_REQUEST. Each result lists the ACLs deleted;
each deletion is audited (``rolebinding.delete``/``acl.delete ... (via Kafka
DeleteAcls)``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError, InvalidRequest
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.describe_acls import acl_filter
from broker.handlers.group_support import NO_THROTTLE
from broker.handlers.security_support import (
    MAX_ITEMS,
    broker_error,
    error_fields,
    security_admin,
)
from broker.protocol import build, response_module
from governance.security.acls import Acl
from governance.security.errors import SecurityError
from governance.security.kafka_admin import KafkaSecurityAdmin

__all__ = ["HANDLERS"]

API_KEY = 31
_Outcome = tuple[BrokerError | None, list[Acl]]


def _delete(admin: KafkaSecurityAdmin, filters: Any, actor: str) -> list[_Outcome]:
    wanted = [acl_filter(request_filter) for request_filter in filters[:MAX_ITEMS]]
    outcomes: list[_Outcome] = [
        (broker_error(result), []) if isinstance(result, SecurityError) else (None, result)
        for result in admin.delete_acls(wanted, actor=actor)
    ]
    too_many = InvalidRequest(f"at most {MAX_ITEMS} filters per request")
    return outcomes + [(too_many, [])] * (len(filters) - len(wanted))


def _result(module: Any, outcome: _Outcome) -> Any:
    error, acls = outcome
    return build(
        module.DeleteAclsFilterResult,
        matching_acls=tuple(
            build(
                module.DeleteAclsMatchingAcl,
                resource_type=acl.resource_type,
                resource_name=acl.resource_name,
                pattern_type=acl.pattern_type,
                principal=acl.principal,
                host=acl.host,
                operation=acl.operation,
                permission_type=acl.permission,
                **error_fields(None),
            )
            for acl in acls
        ),
        **error_fields(error),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    try:
        require_cluster(ctx, Action.ALTER)
        admin = security_admin(ctx, acls=True)
    except BrokerError as exc:
        outcomes: list[_Outcome] = [(exc, [])] * len(request.filters)
    else:
        outcomes = await asyncio.to_thread(_delete, admin, request.filters, ctx.principal)
    return build(
        module.DeleteAclsResponse,
        throttle_time=NO_THROTTLE,
        filter_results=tuple(_result(module, outcome) for outcome in outcomes),
    )


HANDLERS = (ApiHandler(API_KEY, 1, 3, handle),)
