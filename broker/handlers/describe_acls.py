"""DescribeAcls (key 29): the role bindings that have a Kafka ACL form and the ACL entries, filtered.

Needs Cluster describe (else CLUSTER_AUTHORIZATION_FAILED); SECURITY_DISABLED
with auth off; a filter with an UNKNOWN field is INVALID_REQUEST. The mapping
is ``governance.security.acls``. v0 (no pattern type) is not served: kio has
no schema for it and every client in use sends v1+.
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
from governance.security.acls import Acl, AclFilter
from governance.security.errors import SecurityError

__all__ = ["HANDLERS", "acl_filter"]

API_KEY = 29


def acl_filter(request_filter: Any) -> AclFilter:
    """A DescribeAcls request or a DeleteAcls filter as an ``AclFilter``."""
    return AclFilter(
        resource_type=int(request_filter.resource_type_filter),
        resource_name=request_filter.resource_name_filter,
        pattern_type=int(getattr(request_filter, "pattern_type_filter", 3)),
        principal=request_filter.principal_filter,
        host=request_filter.host_filter,
        operation=int(request_filter.operation),
        permission=int(request_filter.permission_type),
    )


def _resources(module: Any, acls: list[Acl]) -> tuple[Any, ...]:
    grouped: dict[tuple[int, str, int], list[Acl]] = {}
    for acl in acls:
        grouped.setdefault((acl.resource_type, acl.resource_name, acl.pattern_type), []).append(acl)
    return tuple(
        build(
            module.DescribeAclsResource,
            resource_type=resource_type,
            resource_name=name,
            pattern_type=pattern_type,
            acls=tuple(
                build(
                    module.AclDescription,
                    principal=acl.principal,
                    host=acl.host,
                    operation=acl.operation,
                    permission_type=acl.permission,
                )
                for acl in members
            ),
        )
        for (resource_type, name, pattern_type), members in grouped.items()
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    try:
        require_cluster(ctx, Action.DESCRIBE)
        admin = security_admin(ctx, acls=True)
        try:
            acls = await asyncio.to_thread(admin.describe_acls, acl_filter(request))
        except SecurityError as exc:
            raise broker_error(exc) from None
    except BrokerError as exc:
        return build(
            module.DescribeAclsResponse,
            throttle_time=NO_THROTTLE,
            resources=(),
            **error_fields(exc),
        )
    return build(
        module.DescribeAclsResponse,
        throttle_time=NO_THROTTLE,
        resources=_resources(module, acls),
        **error_fields(None),
    )


HANDLERS = (ApiHandler(API_KEY, 1, 3, handle),)
