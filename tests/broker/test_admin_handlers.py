"""Admin handlers called directly with kio requests (no network): duplicates, resource kinds."""

from __future__ import annotations

import asyncio
import datetime
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kio.schema.errors import ErrorCode

from broker.handlers import (
    alter_configs,
    create_topics,
    delete_topics,
    describe_configs,
    incremental_alter_configs,
)
from broker.protocol import request_class
from broker.settings import BrokerSettings
from broker.topics import TopicManager, store
from charter.db import apply_migrations, open_database
from governance.broker_hooks import AllowAll
from governance.security.authorizer import AllowEverything


@pytest.fixture
def manager(tmp_path: Path) -> Any:
    database = open_database(f"sqlite:///{tmp_path / 'charter.db'}")
    apply_migrations(database, [store])
    manager = TopicManager(database, tmp_path / "log", BrokerSettings(data_dir=tmp_path))
    yield manager
    manager.close()
    database.close()


def call(handler_module: Any, api_key: int, version: int, manager: TopicManager, build: Any) -> Any:
    """Build the request of ``version`` with ``build(kio module)`` and run the module's handler."""
    module = sys.modules[request_class(api_key, version).__module__]
    request = build(module)
    ctx = SimpleNamespace(
        api_version=version,
        principal="User:ANONYMOUS",
        connection=SimpleNamespace(peer="127.0.0.1:50000"),  # authorization asks the client's host
        broker=SimpleNamespace(
            topics=manager, node_id=0, hooks=AllowAll(), authorizer=AllowEverything(), groups=None
        ),
    )
    [handler] = handler_module.HANDLERS
    assert handler.supports(version)
    return asyncio.run(handler.handle(ctx, request))


def test_create_topics_answers_duplicates_once(manager: TopicManager) -> None:
    def build(module: Any) -> Any:
        topic = module.CreatableTopic(
            name="twice", num_partitions=1, replication_factor=1, assignments=(), configs=()
        )
        other = module.CreatableTopic(
            name="once", num_partitions=2, replication_factor=-1, assignments=(), configs=()
        )
        return module.CreateTopicsRequest(topics=(topic, other, topic), validate_only=False)

    response = call(create_topics, 19, 7, manager, build)
    results = {(r.name, r.error_code, r.error_message) for r in response.topics}
    assert results == {
        ("twice", ErrorCode.invalid_request, "Duplicate topic name."),
        ("once", ErrorCode.none, None),
    }
    [created] = [r for r in response.topics if r.name == "once"]
    assert created.topic_id == manager.get("once").topic_id
    assert created.num_partitions == 2
    assert "twice" not in manager


def test_delete_topics_by_id_and_unknown_id(manager: TopicManager) -> None:
    info = manager.create("gone", 1)
    missing = uuid.uuid4()

    def build(module: Any) -> Any:
        return module.DeleteTopicsRequest(
            topics=(
                module.DeleteTopicState(name=None, topic_id=info.topic_id),
                module.DeleteTopicState(name=None, topic_id=missing),
            ),
            timeout=datetime.timedelta(seconds=30),
        )

    response = call(delete_topics, 20, 6, manager, build)
    assert [(r.name, r.topic_id, r.error_code) for r in response.responses] == [
        ("gone", info.topic_id, ErrorCode.none),
        (None, missing, ErrorCode.unknown_topic_id),
    ]


def test_describe_configs_resource_kinds(manager: TopicManager) -> None:
    manager.create("t", 1, 1, {"retention.ms": "1000"})

    def build(module: Any) -> Any:
        resource = module.DescribeConfigsResource
        return module.DescribeConfigsRequest(
            resources=(
                resource(resource_type=2, resource_name="t", configuration_keys=("retention.ms",)),
                resource(resource_type=2, resource_name="bad name", configuration_keys=None),
                resource(
                    resource_type=4, resource_name="0", configuration_keys=("num.partitions",)
                ),
                resource(resource_type=4, resource_name="3", configuration_keys=None),
                resource(resource_type=4, resource_name="", configuration_keys=None),
                resource(resource_type=8, resource_name="0", configuration_keys=None),
            ),
            include_synonyms=True,
            include_documentation=True,
        )

    response = call(describe_configs, 32, 4, manager, build)
    codes = [result.error_code for result in response.results]
    assert codes == [
        ErrorCode.none,
        ErrorCode.invalid_topic_exception,
        ErrorCode.none,
        ErrorCode.invalid_request,
        ErrorCode.none,
        ErrorCode.invalid_request,
    ]
    [retention] = response.results[0].configs
    assert (retention.name, retention.value, retention.config_source) == ("retention.ms", "1000", 1)
    assert retention.config_type == 5  # LONG
    assert retention.documentation
    assert [s.name for s in retention.synonyms] == ["retention.ms", "log.retention.ms"]
    [partitions] = response.results[2].configs
    assert (partitions.name, partitions.value, partitions.read_only) == (
        "num.partitions",
        "1",
        True,
    )
    assert "expected 0 or empty string" in response.results[3].error_message
    assert response.results[4].configs == ()


def test_alter_configs_refuses_broker_changes_and_duplicates(manager: TopicManager) -> None:
    manager.create("t", 1)

    def build(module: Any) -> Any:
        resource, config = module.AlterConfigsResource, module.AlterableConfig
        return module.AlterConfigsRequest(
            resources=(
                resource(
                    resource_type=4,
                    resource_name="0",
                    configs=(config(name="num.partitions", value="3"),),
                ),
                resource(
                    resource_type=2,
                    resource_name="t",
                    configs=(
                        config(name="retention.ms", value="1"),
                        config(name="retention.ms", value="2"),
                    ),
                ),
                resource(resource_type=2, resource_name="nope", configs=()),
            ),
            validate_only=False,
        )

    response = call(alter_configs, 33, 1, manager, build)
    assert [r.error_code for r in response.responses] == [
        ErrorCode.invalid_request,
        ErrorCode.invalid_request,
        ErrorCode.unknown_topic_or_partition,
    ]
    assert (
        "Cannot update these configs dynamically: num.partitions"
        in response.responses[0].error_message
    )
    assert manager.get("t").configs == {}


def test_incremental_alter_configs_validate_only(manager: TopicManager) -> None:
    manager.create("t", 1)

    def build(module: Any) -> Any:
        config = module.AlterableConfig(name="retention.ms", config_operation=0, value="1000")
        resource = module.AlterConfigsResource(
            resource_type=2, resource_name="t", configs=(config,)
        )
        return module.IncrementalAlterConfigsRequest(resources=(resource,), validate_only=True)

    response = call(incremental_alter_configs, 44, 1, manager, build)
    assert [r.error_code for r in response.responses] == [ErrorCode.none]
    assert manager.get("t").configs == {}
