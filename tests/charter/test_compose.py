"""The composition root: one ``Settings`` in, the broker's typed settings and collaborators out."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import socket
from pathlib import Path

import pytest

import broker
from broker.app import ListenFailed
from broker.auth import NoMechanisms
from broker.settings import BrokerSettings
from charter import compose
from charter.config import ConfigError, Settings
from charter.http_server import run_http
from charter.listeners import ListenerError
from governance.broker_policy import GovernanceBrokerHooks
from governance.schema_gate import SchemaGate


def test_broker_settings_come_from_charter_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        host="127.0.0.2",
        kafka_port=19092,
        advertised_host="broker.example",
        socket_request_max_bytes=4096,
        auto_create_topics=False,
        default_partitions=3,
        log_flush_messages=10,
        log_retention_check_interval_ms=250,
    )
    assert compose.broker_settings(settings) == BrokerSettings(
        data_dir=tmp_path,
        host="127.0.0.2",
        port=19092,
        advertised_host="broker.example",
        socket_request_max_bytes=4096,
        auto_create_topics=False,
        default_partitions=3,
        log_flush_messages=10,
        log_retention_check_interval_ms=250,
    )


def test_every_broker_setting_is_set_from_charter(tmp_path: Path) -> None:
    # A field added to BrokerSettings must be given a value by the composition root
    # (node_id is fixed: Charter's broker is a single node).
    built = compose.broker_settings(Settings(data_dir=tmp_path))
    names = {field.name for field in dataclasses.fields(BrokerSettings)} - {"node_id"}
    charter_names = {field.name for field in dataclasses.fields(Settings)} | {"port"}
    assert names <= charter_names
    assert built.log_dir == tmp_path / "log"


def test_bad_broker_values_are_config_errors(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    object.__setattr__(settings, "default_partitions", 0)  # bypass Settings' own check
    with pytest.raises(ConfigError, match="default_partitions"):
        compose.broker_settings(settings)


def test_broker_reads_only_typed_settings() -> None:
    # No duck typing: no getattr(settings, name, default), no settings annotated Any.
    broker_dir = Path(broker.__file__).parent
    offenders = [
        f"{path.relative_to(broker_dir)}: {line.strip()}"
        for path in sorted(broker_dir.rglob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"getattr\((self\.)?_?settings\b|settings: Any", line)
    ]
    assert offenders == []


def test_build_broker_passes_every_collaborator(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, kafka_port=0)
    database = compose.open_migrated_database(settings)
    try:
        app = compose.build_broker(settings, database)
        assert isinstance(app.settings, BrokerSettings)
        assert isinstance(app._gate.gate, SchemaGate)
        assert app._gate.gate.schemas is app.schemas  # the state the registry follower updates
        assert isinstance(app._hooks, GovernanceBrokerHooks)
        assert app._hooks.engine is app._gate.gate.engine  # one engine for every door
        assert isinstance(app._authenticator, NoMechanisms)
        assert app._topic_hooks is not None
    finally:
        database.close()


def test_broker_that_cannot_bind_closes_its_topics(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(data_dir=tmp_path, kafka_port=port)
        database = compose.open_migrated_database(settings)
        try:
            app = compose.build_broker(settings, database)
            with pytest.raises(ListenFailed):
                asyncio.run(app.start())
            assert app.topics is None and app.server is None
        finally:
            database.close()


def test_http_tier_that_cannot_bind_raises_one_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenerError, match=f"HTTP port {port} on 127.0.0.1 is already in use"):
            run_http(Settings(data_dir=tmp_path, http_port=port))


def test_unusable_data_dir_is_a_startup_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(compose.StartupError, match="cannot create the data directory"):
        compose.open_migrated_database(Settings(data_dir=tmp_path / "file" / "data"))
