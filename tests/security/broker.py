"""An in-process broker with auth on and the users of ``tests.security.stack``, for raw-frame tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from charter.compose import build_broker, open_migrated_database
from charter.config import Settings
from tests.security.stack import seed_users

__all__ = ["SecuredBroker", "secured"]


class SecuredBroker:
    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        seed_users(data_dir)
        settings = Settings(**{"data_dir": data_dir, "auth": True, "kafka_port": 0, **overrides})
        self.database = open_migrated_database(settings)
        self.app = build_broker(settings, self.database)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        assert started.wait(30)
        self.port = self.app.port

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def begin() -> None:
            try:
                await self.app.start()
            finally:
                started.set()

        self.loop.create_task(begin())
        self.loop.run_forever()
        self.loop.close()

    def create_topic(self, name: str) -> None:
        async def create() -> None:
            self.app.topics.create(name, 1)

        asyncio.run_coroutine_threadsafe(create(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.app.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.database.close()


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Callable[..., SecuredBroker]]:
    started: list[SecuredBroker] = []

    def start(**overrides: Any) -> SecuredBroker:
        broker = SecuredBroker(tmp_path / f"data{len(started)}", **overrides)
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()
