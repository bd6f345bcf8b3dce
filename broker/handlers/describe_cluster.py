"""DescribeCluster (key 60): one broker, which is also the controller."""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import NOT_REQUESTED, authorized_operations
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from governance.security.model import CLUSTER_NAME, ResourceType

__all__ = ["HANDLERS"]

API_KEY = 60
_BROKERS_ENDPOINT = 1


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    endpoint_type = getattr(request, "endpoint_type", _BROKERS_ENDPOINT)
    if endpoint_type != _BROKERS_ENDPOINT:
        return build(
            module.DescribeClusterResponse,
            throttle_time=datetime.timedelta(0),
            error_code=ErrorCode.unsupported_endpoint_type,
            error_message=f"endpoint type {endpoint_type} is not supported (only brokers, 1)",
            endpoint_type=endpoint_type,
            cluster_id=ctx.broker.cluster_id,
            controller_id=-1,
            brokers=(),
        )
    host, port = ctx.advertised
    broker = build(
        module.DescribeClusterBroker,
        broker_id=ctx.broker.node_id,
        host=host,
        port=port,
        rack=None,
    )
    return build(
        module.DescribeClusterResponse,
        throttle_time=datetime.timedelta(0),
        error_code=ErrorCode.none,
        error_message=None,
        endpoint_type=_BROKERS_ENDPOINT,
        cluster_id=ctx.broker.cluster_id,
        controller_id=ctx.broker.node_id,
        brokers=(broker,),
        cluster_authorized_operations=(
            authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
            if request.include_cluster_authorized_operations
            else NOT_REQUESTED
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 1, handle),)
