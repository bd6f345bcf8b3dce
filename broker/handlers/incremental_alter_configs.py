"""IncrementalAlterConfigs (key 44): SET / DELETE / APPEND / SUBTRACT single topic configs.

APPEND and SUBTRACT apply to list configs (``cleanup.policy``) only; the result
is validated as a whole before anything is stored. BROKER resources are refused
like in AlterConfigs (static broker configs). The broker hooks see the topic's
validated new overrides first (POLICY_VIOLATION on a deny).
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_cluster, require_topic
from broker.errors import InvalidRequest
from broker.handlers.admin_support import (
    NO_THROTTLE,
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    alter_broker_resource,
    resource_results,
)
from broker.handlers.context import ApiHandler, RequestContext
from broker.hooks import check_alter_config
from broker.protocol import build, response_module
from broker.topics import AlterOp

__all__ = ["HANDLERS"]

API_KEY = 44


def _alter(ctx: RequestContext, resource: Any, validate_only: bool) -> None:
    if resource.resource_type == RESOURCE_TOPIC:
        require_topic(ctx, Action.ALTER_CONFIGS, resource.resource_name)
        ops = [
            AlterOp(config.name, int(config.config_operation), config.value)
            for config in resource.configs
        ]
        planned = ctx.broker.topics.incremental_alter_configs(resource.resource_name, ops, True)
        check_alter_config(ctx.broker.hooks, ctx.principal, planned.name, planned.configs)
        if not validate_only:
            ctx.broker.topics.incremental_alter_configs(resource.resource_name, ops)
    elif resource.resource_type == RESOURCE_BROKER:
        require_cluster(ctx, Action.ALTER_CONFIGS)
        alter_broker_resource(
            ctx, resource.resource_name, [config.name for config in resource.configs]
        )
    else:
        raise InvalidRequest(f"Unsupported resource type {resource.resource_type}")


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    responses = resource_results(
        module, request, lambda resource: _alter(ctx, resource, request.validate_only)
    )
    return build(
        module.IncrementalAlterConfigsResponse, throttle_time=NO_THROTTLE, responses=responses
    )


HANDLERS = (ApiHandler(API_KEY, 0, 1, handle),)
