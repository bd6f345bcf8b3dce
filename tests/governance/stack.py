"""A whole Charter in one test process: the HTTP app on a real port and the composed broker.

Both are built by ``charter.compose`` over one SQLite file, each with its own
database connection, policy engine and outbox follower, as ``charter up``'s
two processes are; ``settle()`` waits until the broker's follower has applied
every committed event (registrations, deletions, policy changes).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from broker.app import BrokerApp
from charter import compose
from charter.app import create_app
from charter.config import Settings
from charter.events import Follower, start_broker_events

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclasses.dataclass
class Stack:
    settings: Settings
    http_app: Any
    http_server: Any
    http_thread: threading.Thread
    broker: BrokerApp
    loop: asyncio.AbstractEventLoop
    broker_thread: threading.Thread
    broker_events: Follower

    @property
    def registry_url(self) -> str:
        return f"http://127.0.0.1:{self.http_server.server_port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker.port}"

    # -- the broker -------------------------------------------------------------------------

    def call(self, function: Any) -> Any:
        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def create_topic(self, name: str, partitions: int = 1, **configs: str) -> None:
        """Create a topic; config names with ``__`` for dots (``retention__ms="1000"``)."""
        topics = self.broker.topics
        assert topics is not None
        overrides = {key.replace("__", "."): value for key, value in configs.items()}
        self.call(lambda: topics.create(name, partitions, configs=overrides))

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the broker's follower has applied every committed event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(
                sub.position >= sub.outbox.latest_seq() for sub in self.broker_events.subscriptions
            ):
                return
            time.sleep(0.01)
        raise AssertionError("the broker's event follower did not catch up")

    # -- the registry and governance API ----------------------------------------------------

    def register(
        self,
        subject: str,
        schema: Any,
        *,
        schema_type: str = "AVRO",
        metadata: dict[str, Any] | None = None,
        rule_set: dict[str, Any] | None = None,
    ) -> requests.Response:
        body: dict[str, Any] = {"schema": schema if isinstance(schema, str) else json.dumps(schema)}
        if schema_type != "AVRO":
            body["schemaType"] = schema_type
        if metadata is not None:
            body["metadata"] = metadata
        if rule_set is not None:
            body["ruleSet"] = rule_set
        response = requests.post(
            f"{self.registry_url}/subjects/{subject}/versions",
            data=json.dumps(body),
            headers={"Content-Type": CONTENT_TYPE},
            timeout=30,
        )
        self.settle()
        return response

    def schema_id(self, subject: str, schema: Any, **kwargs: Any) -> int:
        response = self.register(subject, schema, **kwargs)
        assert response.status_code == 200, response.text
        return int(response.json()["id"])

    def put_policy(
        self, name: str, *, enabled: bool = True, params: dict[str, Any] | None = None
    ) -> requests.Response:
        body: dict[str, Any] = {"enabled": enabled}
        if params is not None:
            body["params"] = params
        response = requests.put(
            f"{self.registry_url}/governance/v1/policies/{name}", json=body, timeout=30
        )
        self.settle()
        return response

    def audit(self, **query: Any) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.registry_url}/governance/v1/audit", params=query, timeout=30
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait_audit(self, timeout: float = 10.0, **query: Any) -> list[dict[str, Any]]:
        """The audit entries matching ``query`` once there is at least one (buffered writers)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.audit(**query)
            if entries:
                return entries
            time.sleep(0.05)
        raise AssertionError(f"no audit entry for {query}")

    def stop(self) -> None:
        self.broker_events.stop()
        if self.broker_thread.is_alive():
            asyncio.run_coroutine_threadsafe(self.broker.stop(), self.loop).result(timeout=30)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.broker_thread.join(timeout=30)
        compose.governance_for(self.broker.database).close()
        self.broker.database.close()
        self.http_server.shutdown()
        self.http_thread.join(timeout=30)
        self.http_app.extensions["charter.events"].stop()
        self.http_app.extensions["charter.governance"].close()
        self.http_app.extensions["charter.database"].close()


def start_stack(data_dir: Path, **settings: Any) -> Stack:
    config = Settings(data_dir=data_dir, host="127.0.0.1", http_port=0, kafka_port=0, **settings)
    http_app = create_app(config)
    http_server = make_server("127.0.0.1", 0, http_app, threaded=True)
    http_thread = threading.Thread(target=http_server.serve_forever, name="test-http", daemon=True)
    http_thread.start()

    database = compose.open_migrated_database(config)
    broker = compose.build_broker(config, database)
    events = start_broker_events(
        database, broker.schemas, governance=compose.governance_for(database)
    )
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def begin() -> None:
            try:
                await broker.start()
            except BaseException as exc:
                failure.append(exc)
            finally:
                started.set()

        loop.create_task(begin())
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    broker_thread = threading.Thread(target=run, name="test-broker", daemon=True)
    broker_thread.start()
    started.wait(timeout=30)
    if failure:
        raise failure[0]
    return Stack(config, http_app, http_server, http_thread, broker, loop, broker_thread, events)
