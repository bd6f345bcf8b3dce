"""ApiVersions (key 18): the API keys and version ranges this broker implements.

An unsupported ApiVersions version is answered by ``unsupported_version_response``
in the v0 format with error 35 and the full list, as Kafka does (KIP-511), so the
client can retry with a version it shares with us.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS", "api_versions_response", "unsupported_version_response"]

API_KEY = 18
_NO_THROTTLE = datetime.timedelta(0)


def api_versions_response(
    table: dict[int, ApiHandler], api_version: int, error_code: ErrorCode = ErrorCode.none
) -> Any:
    """The ApiVersions response of ``api_version`` listing every handler in ``table``."""
    module = response_module(API_KEY, api_version)
    api_keys = tuple(
        build(
            module.ApiVersion,
            api_key=handler.api_key,
            min_version=handler.min_version,
            max_version=handler.max_version,
        )
        for handler in sorted(table.values(), key=lambda handler: handler.api_key)
    )
    return build(
        module.ApiVersionsResponse,
        error_code=error_code,
        api_keys=api_keys,
        throttle_time=_NO_THROTTLE,
    )


def unsupported_version_response(table: dict[int, ApiHandler]) -> Any:
    """Error 35 in the v0 format, still listing what is supported."""
    return api_versions_response(table, 0, ErrorCode.unsupported_version)


async def handle(ctx: RequestContext, request: Any) -> Any:
    return api_versions_response(ctx.broker.handlers, ctx.api_version)


HANDLERS = (ApiHandler(API_KEY, 0, 4, handle),)
