"""Events across processes: the outboxes and their followers, on SQLite and PostgreSQL.

In one process: appends commit with their change or not at all, sequences are
dense, pruning keeps the newest event, and a ``Follower`` delivers in order,
at least once, and retries a failing subscriber. Across real processes: an
event published by one process (a ``charter serve http`` registration, a
topic created through ``TopicManager``) is seen by a follower in another;
concurrent writers in several processes produce one gapless ordered sequence;
a follower killed and restarted from its last position misses nothing.
Followers are polled with a deadline, never after a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import peewee
import pytest
import requests

from broker.topics.store import broker_outbox
from charter.app import migrate
from charter.db import open_database
from charter.events import Follower
from registry.events import registry_outbox
from registry.outbox import Event, Outbox
from tests.registry.server_process import REPO_ROOT, running_server

DEADLINE_S = 60.0


def eventually(
    check: Callable[[], bool],
    what: str,
    timeout: float = DEADLINE_S,
    follower: FollowerProcess | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            report = f"\n{follower.report()}" if follower is not None else ""
            pytest.fail(f"not within {timeout}s: {what}{report}")
        time.sleep(0.01)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'charter.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


@pytest.fixture
def database(database_url: str) -> Iterator[peewee.Database]:
    opened = open_database(database_url)
    migrate(opened)
    yield opened
    opened.close()


@pytest.fixture
def outbox(database: peewee.Database) -> Outbox:
    return broker_outbox(database)


class Rollback(Exception):
    pass


# -- the outbox ----------------------------------------------------------------------------


def test_events_read_back_in_order_with_dense_sequences(outbox: Outbox) -> None:
    for number in range(5):
        with outbox.database.atomic():
            outbox.append("written", {"number": number})
    events = outbox.events_since(0)
    assert [event.seq for event in events] == [1, 2, 3, 4, 5]
    assert [event.payload["number"] for event in events] == [0, 1, 2, 3, 4]
    assert {event.source for event in events} == {"broker_outbox"}
    assert [event.seq for event in outbox.events_since(2, limit=2)] == [3, 4]
    assert outbox.latest_seq() == 5 and outbox.oldest_seq() == 1


def test_a_change_that_rolls_back_announces_nothing_and_frees_its_number(
    outbox: Outbox, database: peewee.Database
) -> None:
    database.execute_sql("CREATE TABLE test_rows (number INTEGER)")
    with pytest.raises(Rollback), database.atomic():
        database.execute_sql("INSERT INTO test_rows (number) VALUES (1)")
        outbox.append("written", {"number": 1})
        raise Rollback
    assert outbox.latest_seq() == 0
    assert database.execute_sql("SELECT COUNT(*) FROM test_rows").fetchone()[0] == 0
    with database.atomic():
        outbox.append("written", {"number": 2})
    assert [(event.seq, event.payload["number"]) for event in outbox.events_since(0)] == [(1, 2)]


def test_append_outside_a_transaction_is_refused(outbox: Outbox) -> None:
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        outbox.append("written", {})


def test_pruning_drops_old_events_but_keeps_the_newest(outbox: Outbox) -> None:
    for number in range(4):
        with outbox.database.atomic():
            outbox.append("written", {"number": number})
    now_ms = outbox.events_since(0)[-1].created_at_ms
    assert outbox.prune(3600, now_ms=now_ms) == 0  # nothing is an hour old
    assert outbox.prune(0, now_ms=now_ms + 1) == 3  # everything is old; the newest stays
    assert [event.seq for event in outbox.events_since(0)] == [4]
    with outbox.database.atomic():
        assert outbox.append("written", {"number": 4}) == 5  # numbering goes on


def test_a_follower_prunes_the_outboxes_it_is_given(database: peewee.Database) -> None:
    outbox = registry_outbox(database)
    with database.atomic():
        outbox.append("mode_changed", {"subject": None, "mode": "READONLY"})
    with database.atomic():
        outbox.append("mode_changed", {"subject": None, "mode": "READWRITE"})
    follower = Follower(database, retention_s=0.0, prune_interval_s=0.01)
    follower.prune(outbox)
    follower.start()
    try:
        eventually(lambda: outbox.oldest_seq() == 2, "the follower pruned event 1")
    finally:
        follower.stop()


# -- the follower in one process -----------------------------------------------------------


class Seen:
    """A subscriber recording what it was handed, safe to read from the test thread."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    @property
    def seqs(self) -> list[int]:
        with self._lock:
            return [event.seq for event in self.events]


def test_a_follower_starts_at_the_newest_event_and_delivers_what_follows(
    outbox: Outbox, database: peewee.Database
) -> None:
    with database.atomic():
        outbox.append("written", {"number": 0})  # before the subscription: not delivered
    seen = Seen()
    follower = Follower(database)
    follower.subscribe(outbox, seen)
    follower.start()
    try:
        for number in range(1, 4):
            with database.atomic():
                outbox.append("written", {"number": number})
        eventually(lambda: seen.seqs == [2, 3, 4], "events 2..4 delivered")
    finally:
        follower.stop()
    assert [event.payload["number"] for event in seen.events] == [1, 2, 3]


def test_a_failing_subscriber_is_retried_from_the_same_event_and_others_go_on(
    outbox: Outbox, database: peewee.Database
) -> None:
    attempts: list[int] = []

    def flaky(event: Event) -> None:
        attempts.append(event.seq)
        if attempts.count(event.seq) < 3 and event.seq == 2:
            raise RuntimeError("not yet")

    seen = Seen()
    progress: list[int] = []
    follower = Follower(database)
    follower.subscribe(outbox, flaky, after=0, on_progress=progress.append)
    follower.subscribe(outbox, seen, after=0)
    for number in range(3):
        with database.atomic():
            outbox.append("written", {"number": number})
    deadline = time.monotonic() + DEADLINE_S
    while attempts[-1:] != [3] and time.monotonic() < deadline:
        follower.deliver()
        time.sleep(0.01)
    assert attempts == [1, 2, 2, 2, 3]
    assert seen.seqs == [1, 2, 3]
    assert progress[-1] == 3 and 1 in progress


def test_a_follower_resumes_after_its_saved_position(
    outbox: Outbox, database: peewee.Database
) -> None:
    for number in range(5):
        with database.atomic():
            outbox.append("written", {"number": number})
    seen = Seen()
    follower = Follower(database)
    follower.subscribe(outbox, seen, after=3)
    assert follower.deliver() == 2
    assert seen.seqs == [4, 5]


# -- across processes ----------------------------------------------------------------------


class FollowerProcess:
    """``python -m tests.charter.outbox_processes follow …``; ``events`` are what it printed."""

    def __init__(self, url: str, table: str, after: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.charter.outbox_processes",
                "follow",
                url,
                table,
                str(after),
            ],
            cwd=REPO_ROOT,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(DEADLINE_S):
            self.kill()
            pytest.fail(f"follower did not start:\n{''.join(self.lines)}")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "following":
                self._ready.set()
            else:
                self.lines.append(line)

    @property
    def events(self) -> list[tuple[int, str, dict[str, object]]]:
        found = []
        for line in list(self.lines):
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3 and parts[0].isdigit():
                found.append((int(parts[0]), parts[1], json.loads(parts[2])))
        return found

    def report(self) -> str:
        """What a failure message needs: is it alive, its last event, what else it printed."""
        events = self.events
        other = [line for line in self.lines if not line.split(" ", 1)[0].isdigit()]
        return (
            f"follower alive: {self.process.poll() is None}; {len(events)} events, "
            f"last {events[-1][0] if events else None}; other output:\n" + "".join(other[-40:])
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)


@contextlib.contextmanager
def following(url: str, table: str, after: int = 0) -> Iterator[FollowerProcess]:
    follower = FollowerProcess(url, table, after)
    try:
        yield follower
    finally:
        follower.kill()


def _environment() -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
    )
    return environment


def start_writers(url: str, writers: dict[str, int]) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.charter.outbox_processes",
                "write",
                url,
                name,
                str(count),
            ],
            cwd=REPO_ROOT,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, count in writers.items()
    ]


def wait_for_writers(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0 and "done" in output, output


def check_one_gapless_sequence(events: list[tuple[int, str, dict[str, object]]]) -> None:
    seqs = [seq for seq, _, _ in events]
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.fixture
def rows_table(database: peewee.Database) -> None:
    database.execute_sql("CREATE TABLE test_outbox_rows (writer TEXT, number INTEGER)")


@pytest.mark.slow
def test_a_schema_registered_over_http_is_seen_by_a_follower_in_another_process(
    tmp_path: Path, database_url: str, database: peewee.Database
) -> None:
    schema = json.dumps(
        {"type": "record", "name": "Seen", "fields": [{"name": "a", "type": "int"}]}
    )
    with (
        running_server(tmp_path / "http", database_url=database_url, http_workers=1) as server,
        following(database_url, "registry_outbox") as follower,
    ):
        answer = requests.post(
            f"{server.url}/subjects/seen-value/versions",
            data=json.dumps({"schema": schema}),
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        eventually(lambda: len(follower.events) == 1, "the registration is seen")
    assert follower.events == [
        (
            1,
            "schema_registered",
            {
                "schema_id": 1,
                "schema_type": "AVRO",
                "subject": "seen-value",
                "version": 1,
                "actor": "User:ANONYMOUS",  # who registered it (the audit log reads it)
            },
        )
    ]


@pytest.mark.slow
def test_topic_changes_in_one_process_are_seen_by_a_follower_in_another(
    database_url: str, database: peewee.Database
) -> None:
    with following(database_url, "broker_outbox") as follower:
        wait_for_writers(start_writers(database_url, {"topic-a": 3}))
        eventually(lambda: len(follower.events) == 3, "three topic creations are seen")
    check_one_gapless_sequence(follower.events)
    assert [(name, payload["name"]) for _, name, payload in follower.events] == [
        ("topic_created", "topic-a-0"),
        ("topic_created", "topic-a-1"),
        ("topic_created", "topic-a-2"),
    ]


@pytest.mark.slow
def test_concurrent_writers_in_several_processes_make_one_gapless_ordered_sequence(
    database_url: str, database: peewee.Database, rows_table: None
) -> None:
    writers = {f"w{index}": 40 for index in range(4)}
    with following(database_url, "broker_outbox") as follower:
        wait_for_writers(start_writers(database_url, writers))
        eventually(lambda: len(follower.events) == 160, "every committed event is seen")
    events = follower.events
    check_one_gapless_sequence(events)
    assert {name for _, name, _ in events} == {"written"}  # rolled-back changes announced nothing
    for writer in writers:
        numbers = [payload["number"] for _, _, payload in events if payload["writer"] == writer]
        assert numbers == list(range(40))  # each writer's events in its commit order
    committed = database.execute_sql("SELECT COUNT(*) FROM test_outbox_rows").fetchone()[0]
    assert committed == 160


@pytest.mark.slow
def test_a_follower_killed_and_restarted_from_its_position_misses_nothing(
    database_url: str, database: peewee.Database, rows_table: None
) -> None:
    writers = start_writers(database_url, {f"w{index}": 60 for index in range(3)})
    with following(database_url, "broker_outbox") as first:
        eventually(lambda: len(first.events) >= 20, "the first follower sees some events")
    # SIGKILLed mid-stream: it resumes after the last event it reported handling.
    seen_before = first.events
    with following(database_url, "broker_outbox", after=seen_before[-1][0]) as second:
        wait_for_writers(writers)
        eventually(
            lambda: second.events[-1:] != [] and second.events[-1][0] == 180,
            "the rest",
            follower=second,
        )
    combined = seen_before + second.events
    check_one_gapless_sequence(combined)
    assert len({(payload["writer"], payload["number"]) for _, _, payload in combined}) == 180
