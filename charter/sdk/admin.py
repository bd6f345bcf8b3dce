"""Admin helpers: a governed topic (topic, schema, validation mode) in one call; topic listings.

``create_governed_topic`` registers the value schema under ``<topic>-value``
and creates the topic with ``charter.value.schema.validation`` set, so the
broker's gate checks every record against the contract from the first one.
Topics are managed through confluent-kafka's ``AdminClient`` (CreateTopics,
DescribeConfigs), which Charter's broker and any Kafka cluster both answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from confluent_kafka.admin import ConfigResource, NewTopic

from charter.sdk.admin_client import TIMEOUT_S, AdminConnection
from charter.sdk.errors import CharterError
from charter.sdk.registry_client import SchemaRegistryClient
from charter.sdk.schemas import as_schema

__all__ = [
    "VALIDATION_CONFIG",
    "VALIDATION_MODES",
    "TopicInfo",
    "create_governed_topic",
    "create_topic",
    "describe_topic",
    "list_topics",
]

VALIDATION_CONFIG = "charter.value.schema.validation"
VALIDATION_MODES = ("none", "id", "full")


@dataclasses.dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    configs: Mapping[str, str]
    overrides: frozenset[str] = frozenset()  # configs set on the topic (not defaults)

    @property
    def validation(self) -> str | None:
        return self.configs.get(VALIDATION_CONFIG)


def _check_validation(validation: str) -> None:
    if validation not in VALIDATION_MODES:
        raise ValueError(f"validation must be one of {', '.join(VALIDATION_MODES)}")


def create_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    partitions: int = 1,
    replication_factor: int = 1,
    validation: str | None = None,
    config: Mapping[str, str] | None = None,
    client_config: Mapping[str, Any] | None = None,
) -> None:
    """Create ``topic``; ``validation`` sets ``charter.value.schema.validation`` (none|id|full)."""
    configs = dict(config or {})
    if validation is not None:
        _check_validation(validation)
        configs[VALIDATION_CONFIG] = validation
    new_topic = NewTopic(topic, partitions, replication_factor, config=configs)
    # The client is held until the answer: a dropped client cancels the request.
    admin = AdminConnection(bootstrap_servers, client_config)
    futures = admin.client.create_topics([new_topic], request_timeout=TIMEOUT_S)
    admin.result(futures[topic], f"topic {topic!r}")


def create_governed_topic(
    bootstrap_servers: str,
    registry: SchemaRegistryClient | str,
    topic: str,
    schema: Any,
    *,
    validation: str = "full",
    partitions: int = 1,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    client_config: Mapping[str, Any] | None = None,
) -> int:
    """Register ``schema`` under ``<topic>-value`` and create the topic validating it; the schema id."""
    _check_validation(validation)  # before registering: a bad call leaves nothing behind
    client = SchemaRegistryClient(registry) if isinstance(registry, str) else registry
    schema_id = client.register(f"{topic}-value", as_schema(schema))
    create_topic(
        bootstrap_servers,
        topic,
        partitions=partitions,
        replication_factor=replication_factor,
        validation=validation,
        config=config,
        client_config=client_config,
    )
    return schema_id


def list_topics(
    bootstrap_servers: str, *, client_config: Mapping[str, Any] | None = None
) -> list[TopicInfo]:
    """Every topic with its partition count (configs left empty: ``describe_topic`` has them)."""
    metadata = AdminConnection(bootstrap_servers, client_config).metadata("listing topics")
    return sorted(
        (TopicInfo(name, len(topic.partitions), {}) for name, topic in metadata.topics.items()),
        key=lambda info: info.name,
    )


def describe_topic(
    bootstrap_servers: str, topic: str, *, client_config: Mapping[str, Any] | None = None
) -> TopicInfo:
    """``topic``'s partition count and its configs (``CharterError`` when it does not exist)."""
    admin = AdminConnection(bootstrap_servers, client_config)
    what = f"topic {topic!r}"
    metadata = admin.metadata(what, topic).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise CharterError(f"{what} does not exist")
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.result(admin.client.describe_configs([resource])[resource], what)
    configs = {name: entry.value for name, entry in entries.items() if entry.value is not None}
    overrides = frozenset(name for name, entry in entries.items() if not entry.is_default)
    return TopicInfo(topic, len(metadata.partitions), configs, overrides)
