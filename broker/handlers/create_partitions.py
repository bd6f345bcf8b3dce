"""CreatePartitions (key 37): grow topics to a new partition count (or only check, ``validate_only``).

Each topic gets its own result; a topic named twice answers INVALID_REQUEST
("Duplicate topic name."), as Kafka's controller does.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_topic
from broker.handlers.admin_support import NO_THROTTLE, topic_outcomes
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 37


def _grow(ctx: RequestContext, topic: Any, validate_only: bool) -> Any:
    require_topic(ctx, Action.ALTER, topic.name)
    assignments = (
        None
        if topic.assignments is None
        else [tuple(assignment.broker_ids) for assignment in topic.assignments]
    )
    return ctx.broker.topics.create_partitions(topic.name, topic.count, assignments, validate_only)


def _result(module: Any, name: str, code: ErrorCode, message: str | None) -> Any:
    return build(
        module.CreatePartitionsTopicResult, name=name, error_code=code, error_message=message
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    outcomes = topic_outcomes(
        request.topics,
        lambda topic: _grow(ctx, topic, request.validate_only),
        lambda topic: f"creating partitions of {topic.name!r}",
    )
    results = [_result(module, name, code, message) for name, (_, code, message) in outcomes]
    return build(module.CreatePartitionsResponse, throttle_time=NO_THROTTLE, results=tuple(results))


HANDLERS = (ApiHandler(API_KEY, 0, 3, handle),)
