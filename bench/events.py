"""Cross-process event latency: a schema registered over HTTP, known in another process.

Run as ``python bench/events.py`` (or ``charter bench events``).

For each database (SQLite in a temporary data directory; PostgreSQL in a fresh
database on ``--postgres-url`` when it answers) the script starts ``charter
up`` (two gunicorn workers and the broker process, each following the
outboxes) and a follower process running exactly what the broker process runs
for registry events (``charter.events.Follower`` applying them to a
``broker.schemas.SchemaState``), which prints the moment each registration was
applied. A client then registers new schemas over HTTP one after another and
records when each request was sent and when its answer arrived. Latency =
applied − answered (``time.monotonic`` is one clock for every process on
Linux), counted as 0 when the follower was faster than the HTTP answer; the
time from sending the request to applied is reported beside it. Each round
registers ``--per-round`` schemas and yields a p50 and a p99; the summary is
the median over rounds with the range. Target: p99 ≤ 100 ms (after the answer).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from support import free_port, fresh_postgres  # noqa: E402 - bench/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
TARGET_P99_MS = 100.0


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


# -- the follower (runs in a child process: ``--follow URL``) ---------------------------------


def follow(database_url: str) -> None:
    """The broker process's registry subscriber; prints ``<schema_id> <monotonic>`` per event."""
    from broker.schemas import SchemaState
    from charter.db import open_database
    from charter.events import Follower
    from registry.events import registry_outbox
    from registry.outbox import Event

    database = open_database(database_url)
    state = SchemaState(database)
    follower = Follower(database)

    def apply_and_report(event: Event) -> None:
        state.apply(event)
        if event.name == "schema_registered":
            print(f"{event.payload['schema_id']} {time.monotonic():.6f}", flush=True)

    follower.subscribe(registry_outbox(database), apply_and_report)
    print("following", flush=True)
    follower.start()
    threading.Event().wait()


# -- processes --------------------------------------------------------------------------------


class Child:
    """A child process whose output lines are queued; stopped with its whole session."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, *needles: str, timeout: float = 90.0) -> None:
        missing = set(needles)
        deadline = time.monotonic() + timeout
        while missing:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"not ready: {missing}\n{''.join(self.output)}") from None
            missing = {needle for needle in missing if needle not in line}

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


@contextlib.contextmanager
def charter_up(data_dir: Path, database_url: str | None) -> Iterator[str]:
    http_port, kafka_port = free_port(), free_port()
    command = [sys.executable, "-m", "charter", "up", "--host", "127.0.0.1"]
    command += ["--http-port", str(http_port), "--kafka-port", str(kafka_port)]
    command += ["--data-dir", str(data_dir), "--http-workers", "2", "--log-level", "WARNING"]
    if database_url:
        command += ["--database-url", database_url]
    child = Child(command, data_dir.parent)
    try:
        # At WARNING the ready lines are not logged: poll the HTTP port and the Kafka port.
        wait_for_port(http_port, child)
        wait_for_port(kafka_port, child)
        yield f"127.0.0.1:{http_port}"
    finally:
        child.stop()


def wait_for_port(port: int, child: Child, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise SystemExit(f"charter up exited:\n{''.join(child.output)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise SystemExit(f"port {port} not open after {timeout}s:\n{''.join(child.output)}")


# -- the client -------------------------------------------------------------------------------


def register(connection: http.client.HTTPConnection, subject: str, field: str) -> int:
    schema = {"type": "record", "name": "Bench", "fields": [{"name": field, "type": "long"}]}
    body = json.dumps({"schema": json.dumps(schema)})
    connection.request(
        "POST", f"/subjects/{subject}/versions", body, {"Content-Type": CONTENT_TYPE}
    )
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"registration failed: {response.status} {payload!r}")
    return int(json.loads(payload)["id"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def run_database(label: str, database_url: str | None, rounds: int, per_round: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        url = database_url or f"sqlite:///{(data_dir / 'charter.db').resolve()}"
        with charter_up(data_dir, database_url) as address:
            follower = Child(
                [sys.executable, str(Path(__file__).resolve()), "--follow", url], data_dir
            )
            try:
                follower.wait_for("following")
                host, port = address.split(":")
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                p50s, p99s, worst = [], [], 0.0
                sent_p50s: list[float] = []
                sent_p99s: list[float] = []
                counter = 0
                for round_number in range(rounds):
                    answered: dict[int, float] = {}
                    sent: dict[int, float] = {}
                    for _ in range(per_round):
                        counter += 1
                        started = time.monotonic()
                        schema_id = register(connection, f"bench-{counter}-value", f"f{counter}")
                        answered[schema_id] = time.monotonic()
                        sent[schema_id] = started
                        time.sleep(0.005)  # a steady trickle, not one burst per poll
                    applied: dict[int, float] = {}
                    deadline = time.monotonic() + 30
                    while len(applied) < len(answered) and time.monotonic() < deadline:
                        with contextlib.suppress(queue.Empty):
                            line = follower.lines.get(timeout=0.5)
                            parts = line.split()
                            if len(parts) == 2 and parts[0].isdigit():
                                applied[int(parts[0])] = float(parts[1])
                    missing = set(answered) - set(applied)
                    if missing:
                        raise SystemExit(f"{label}: {len(missing)} registrations never seen")
                    latencies = [
                        max(0.0, applied[schema_id] - answered[schema_id]) * 1000
                        for schema_id in answered
                    ]
                    from_sent = [
                        (applied[schema_id] - sent[schema_id]) * 1000 for schema_id in answered
                    ]
                    p50s.append(percentile(latencies, 0.50))
                    p99s.append(percentile(latencies, 0.99))
                    sent_p50s.append(percentile(from_sent, 0.50))
                    sent_p99s.append(percentile(from_sent, 0.99))
                    worst = max(worst, max(latencies))
                    print(
                        f"  {label} round {round_number + 1}: p50 {p50s[-1]:.1f} ms, "
                        f"p99 {p99s[-1]:.1f} ms, max {max(latencies):.1f} ms; from the request: "
                        f"p50 {sent_p50s[-1]:.1f} ms, p99 {sent_p99s[-1]:.1f} ms",
                        flush=True,
                    )
                connection.close()
            finally:
                follower.stop()
    verdict = "meets" if statistics.median(p99s) <= TARGET_P99_MS else "MISSES"
    print(
        f"{label}: p50 median {statistics.median(p50s):.1f} ms "
        f"({min(p50s):.1f}–{max(p50s):.1f}), p99 median {statistics.median(p99s):.1f} ms "
        f"({min(p99s):.1f}–{max(p99s):.1f}), worst {worst:.1f} ms over "
        f"{rounds}×{per_round} registrations; {verdict} the {TARGET_P99_MS:.0f} ms p99 target; "
        f"from the request: p50 median {statistics.median(sent_p50s):.1f} ms "
        f"({min(sent_p50s):.1f}–{max(sent_p50s):.1f}), p99 median "
        f"{statistics.median(sent_p99s):.1f} ms ({min(sent_p99s):.1f}–{max(sent_p99s):.1f})",
        flush=True,
    )


def postgres_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "CHARTER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a server on which the script may create and drop a database",
    )
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--follow", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.follow:
        follow(args.follow)
        return
    if args.only in (None, "sqlite"):
        run_database("SQLite", None, args.rounds, args.per_round)
    if args.only in (None, "postgres"):
        if not postgres_reachable(args.postgres_url):
            print("PostgreSQL: not reachable, skipped")
            return
        with fresh_postgres(args.postgres_url) as url:
            run_database("PostgreSQL", url, args.rounds, args.per_round)


if __name__ == "__main__":
    main()
