"""Fixtures that run a real broker (TopicManager + PartitionLog + asyncio server) for tests.

``broker_factory`` starts a broker on a free ephemeral port over a data directory
in a background thread with its own event loop, and stops it (closing the logs)
at the end of the test; ``broker`` is one such broker over ``tmp_path``. ``database`` is a
migrated broker database alone, for tests of ``TopicManager`` without a server.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest

from broker.app import BrokerApp
from broker.auth import NoMechanisms
from broker.groups import store as groups_store
from broker.schemas import SchemaState
from broker.settings import BrokerSettings
from broker.topics import TopicHooks
from broker.topics import log_end as log_end_store
from broker.topics import store as broker_store
from charter.db import apply_migrations, open_database
from governance.broker_hooks import AllowAll
from governance.gate import PassThroughGate


@dataclasses.dataclass
class RunningBroker:
    """A broker serving on ``127.0.0.1:port`` until ``stop()``."""

    app: BrokerApp
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    data_dir: Path
    port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the broker's loop thread (TopicManager is not thread-safe)."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def create_topic(self, name: str, partitions: int = 1, **configs: str) -> None:
        topics = self.app.topics
        assert topics is not None
        self.call(lambda: topics.create(name, partitions, configs=configs))

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.app.stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)


def start_broker(
    data_dir: Path,
    *,
    gate: Any = None,
    hooks: Any = None,
    database_url: str | None = None,
    **overrides: Any,
) -> RunningBroker:
    """Start a broker in a thread over ``data_dir`` on an ephemeral port (its database: SQLite
    in ``data_dir`` unless ``database_url`` names another)."""
    overrides.setdefault("group_initial_rebalance_delay_ms", 0)  # as processes.launch does
    settings = BrokerSettings(data_dir=data_dir, host="127.0.0.1", port=0, **overrides)
    data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(database_url or f"sqlite:///{(data_dir / 'charter.db').resolve()}")
    apply_migrations(database, [broker_store, groups_store, log_end_store])
    app = BrokerApp(
        settings,
        database,
        gate=gate or PassThroughGate(),
        hooks=hooks or AllowAll(),
        authenticator=NoMechanisms(),
        topic_hooks=TopicHooks(),
        schemas=SchemaState(database),
    )
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def begin() -> None:
            try:
                await app.start()
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
            finally:
                started.set()

        loop.create_task(begin())
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        database.close()

    thread = threading.Thread(target=run, name="test-broker", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        raise failure[0]
    return RunningBroker(app, loop, thread, data_dir, app.port)


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., RunningBroker]]:
    started: list[RunningBroker] = []

    def factory(data_dir: Path | None = None, **overrides: Any) -> RunningBroker:
        running = start_broker(data_dir or tmp_path / "data", **overrides)
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def broker_database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the data directory), then a private PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def broker(broker_factory: Callable[..., RunningBroker]) -> RunningBroker:
    return broker_factory()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[peewee.Database]:
    """A broker database (SQLite file in ``tmp_path``) with the broker's tables migrated."""
    database = open_database(f"sqlite:///{tmp_path / 'charter.db'}")
    apply_migrations(database, [broker_store, groups_store, log_end_store])
    yield database
    database.close()
