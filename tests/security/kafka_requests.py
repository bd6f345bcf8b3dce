"""kio requests for the security tests, built by API key and version (nested entities by name)."""

from __future__ import annotations

import datetime
import sys
from typing import Any

from kio.index import load_request_schema

__all__ = [
    "acl",
    "acl_filter",
    "create_acls",
    "delete_acls",
    "describe_acls",
    "init_producer_id",
    "nested",
    "offset_commit",
    "request",
]


def request(api_key: int, version: int, /, **fields: Any) -> Any:
    return load_request_schema(api_key, version)(**fields)


def nested(api_key: int, version: int, class_name: str, /, **fields: Any) -> Any:
    module = sys.modules[load_request_schema(api_key, version).__module__]
    return getattr(module, class_name)(**fields)


def acl_filter(api_key: int, **overrides: Any) -> dict[str, Any]:
    """DescribeAcls fields / a DeleteAcls filter matching everything, with ``overrides``."""
    fields = {
        "resource_type_filter": 1,
        "resource_name_filter": None,
        "pattern_type_filter": 1,
        "principal_filter": None,
        "host_filter": None,
        "operation": 1,
        "permission_type": 1,
    }
    fields.update(overrides)
    return fields


def describe_acls(**overrides: Any) -> Any:
    return request(29, 3, **acl_filter(29, **overrides))


def delete_acls(*filters: dict[str, Any]) -> Any:
    return request(31, 3, filters=tuple(nested(31, 3, "DeleteAclsFilter", **f) for f in filters))


def create_acls(*creations: dict[str, Any]) -> Any:
    return request(30, 3, creations=tuple(nested(30, 3, "AclCreation", **c) for c in creations))


def acl(resource_type: int, name: str, pattern: int, principal: str, operation: int, **kw: Any):
    return {
        "resource_type": resource_type,
        "resource_name": name,
        "resource_pattern_type": pattern,
        "principal": principal,
        "host": kw.get("host", "*"),
        "operation": operation,
        "permission_type": kw.get("permission", 3),
    }


def init_producer_id(transactional_id: str | None) -> Any:
    return request(
        22,
        4,
        transactional_id=transactional_id,
        transaction_timeout=datetime.timedelta(seconds=60),
        producer_id=-1,
        producer_epoch=-1,
    )


def offset_commit(group: str, topic: str, offset: int = 1) -> Any:
    partition = nested(
        8,
        8,
        "OffsetCommitRequestPartition",
        partition_index=0,
        committed_offset=offset,
        committed_leader_epoch=-1,
        committed_metadata=None,
    )
    return request(
        8,
        8,
        group_id=group,
        generation_id_or_member_epoch=-1,
        member_id="",
        group_instance_id=None,
        topics=(nested(8, 8, "OffsetCommitRequestTopic", name=topic, partitions=(partition,)),),
    )
