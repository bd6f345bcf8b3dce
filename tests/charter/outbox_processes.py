"""Processes for the cross-process event tests: writers that append, followers that print.

Run as ``python -m tests.charter.outbox_processes <command> …``:

- ``write URL WRITER COUNT``: ``COUNT`` topic changes through ``TopicManager``
  when WRITER starts with ``topic``, else ``COUNT`` events appended to the
  broker outbox by hand, each in its own transaction with a row written beside
  it, every other one preceded by a change that rolls back (and must announce
  nothing); the test creates table ``test_outbox_rows`` first. Prints ``done``.
- ``follow URL TABLE AFTER``: a ``charter.events.Follower`` on outbox ``TABLE``
  from ``seq`` AFTER, printing ``<seq> <event> <payload JSON>`` per event,
  flushed at once, until killed.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from pathlib import Path

from broker.topics.store import broker_outbox
from charter.app import migrate
from charter.config import Settings
from charter.db import open_database
from charter.events import Follower
from registry.events import registry_outbox
from registry.outbox import Event


class _RolledBack(Exception):
    pass


def write(url: str, writer: str, count: int) -> None:
    database = open_database(url)
    migrate(database)
    if writer.startswith("topic"):
        from broker.topics import TopicManager
        from charter.compose import broker_settings

        with tempfile.TemporaryDirectory() as log_dir:
            settings = broker_settings(Settings(data_dir=Path(log_dir)))
            topics = TopicManager.open(settings, database=database)
            try:
                for number in range(count):
                    topics.create(f"{writer}-{number}", 1)
            finally:
                topics.close()
    else:
        outbox = broker_outbox(database)
        insert = f"INSERT INTO test_outbox_rows (writer, number) VALUES ({database.param}, {database.param})"
        for number in range(count):
            if number % 2:
                try:
                    with database.atomic():
                        database.execute_sql(insert, (writer, -number))
                        outbox.append("rolled_back", {"writer": writer, "number": number})
                        raise _RolledBack
                except _RolledBack:
                    pass
            with database.atomic():
                database.execute_sql(insert, (writer, number))
                outbox.append("written", {"writer": writer, "number": number})
    database.close()
    print("done", flush=True)


def follow(url: str, table: str, after: int) -> None:
    database = open_database(url)
    outbox = registry_outbox(database) if table == "registry_outbox" else broker_outbox(database)
    follower = Follower(database)

    def show(event: Event) -> None:
        line = f"{event.seq} {event.name} {json.dumps(dict(event.payload), sort_keys=True)}"
        print(line, flush=True)

    follower.subscribe(outbox, show, after=after)
    print("following", flush=True)
    follower.start()
    threading.Event().wait()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "write":
        write(args[0], args[1], int(args[2]))
    elif command == "follow":
        follow(args[0], args[1], int(args[2]))
    else:
        raise SystemExit(f"unknown command {command!r}")
