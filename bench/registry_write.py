"""Registry write throughput: registrations per second with 8 concurrent clients.

Run as ``python bench/registry_write.py`` (or ``charter bench registry_write``);
``--database-url postgresql://…`` adds PostgreSQL beside the embedded SQLite.

Each round starts ``charter up`` (two gunicorn workers plus the broker, the
default deployment) over a fresh database, then 8 client threads with
keep-alive connections each evolve their own subjects for a fixed time: every
request registers a new version that adds an optional field (a new subject
after ten versions), so each one parses, passes the BACKWARD check against the
latest version and writes a version and a schema row. Side by side in the same round, the same clients
run ``PUT /config/{subject}`` (the lightest registry write) for the same time;
the ratio registrations/config-writes shows what a registration costs over
the write path itself. Figures: median and range over the rounds.

The issue's external reference is Karapace's published 37 registrations/s; the
target is at least 400/s on both databases.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from support import free_port, fresh_postgres, spread  # noqa: E402 - bench/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
CLIENTS = 8
KARAPACE_REGISTRATIONS_PER_S = 37


def schema_with_fields(client: int, count: int) -> str:
    fields = [{"name": "id", "type": "long"}]
    fields += [
        {"name": f"extra_{number}", "type": ["null", "string"], "default": None}
        for number in range(count)
    ]
    return json.dumps({"type": "record", "name": f"Client{client}", "fields": fields})


@contextlib.contextmanager
def charter_up(database_url: str | None) -> Iterator[int]:
    """``charter up`` with two HTTP workers over a fresh data dir; yields the HTTP port."""
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as data_dir:
        http_port, kafka_port = free_port(), free_port()
        command = [sys.executable, "-m", "charter", "up", "--data-dir", data_dir]
        command += ["--http-port", str(http_port), "--kafka-port", str(kafka_port)]
        command += ["--http-workers", "2", "--log-level", "WARNING"]
        if database_url:
            command += ["--database-url", database_url]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        environment["PYTHONPATH"] = str(REPO_ROOT)
        process = subprocess.Popen(
            command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_until_answering(http_port, process)
            yield http_port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_answering(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"charter up exited with {process.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/subjects")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.1)
    raise SystemExit("charter up did not answer within 60 s")


Request = Callable[[int, int], tuple[str, str, str]]


VERSIONS_PER_SUBJECT = 10


def registration(client: int, step: int) -> tuple[str, str, str]:
    """Version ``step % 10 + 1`` of the client's current subject (a new subject every 10)."""
    body = json.dumps({"schema": schema_with_fields(client, step % VERSIONS_PER_SUBJECT)})
    return "POST", f"/subjects/writers-{client}-{step // VERSIONS_PER_SUBJECT}/versions", body


def config_write(client: int, step: int) -> tuple[str, str, str]:
    level = "BACKWARD" if step % 2 else "NONE"
    return "PUT", f"/config/config-{client}", json.dumps({"compatibility": level})


def run_clients(port: int, make_request: Request, seconds: float) -> float:
    """Requests per second answered 200 by ``CLIENTS`` keep-alive clients during ``seconds``."""
    counts = [0] * CLIENTS
    failures: list[str] = []
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": CONTENT_TYPE}
        step = 0
        start.wait()
        while time.monotonic() < stop_at[0]:
            method, path, body = make_request(number, step)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                failures.append(f"{method} {path}: {response.status} {payload[:200]!r}")
                return
            counts[number] += 1
            step += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, first: {failures[0]}")
    return sum(counts) / elapsed


def measure(database_url: str | None, rounds: int, seconds: float) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"registrations": [], "config writes": []}
    for _ in range(rounds):
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(fresh_postgres(database_url)) if database_url else None
            port = stack.enter_context(charter_up(url))
            run_clients(port, config_write, 1.0)  # warm-up: connections, caches, first pages
            results["registrations"].append(run_clients(port, registration, seconds))
            results["config writes"].append(run_clients(port, config_write, seconds))
    return results


def describe(values: list[float]) -> str:
    return f"median {spread(values, digits=0, unit='/s')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CHARTER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server to create scratch databases on ('' to skip PostgreSQL)",
    )
    options = parser.parse_args()
    backends = [("SQLite", None)] + (
        [("PostgreSQL", options.database_url)] * bool(options.database_url)
    )
    print(f"{CLIENTS} clients, {options.rounds} rounds of {options.seconds:.0f} s, charter up")
    for name, url in backends:
        results = measure(url, options.rounds, options.seconds)
        registrations = results["registrations"]
        ratios = [r / c for r, c in zip(registrations, results["config writes"], strict=True)]
        karapace = statistics.median(registrations) / KARAPACE_REGISTRATIONS_PER_S
        print(f"{name}:")
        print(f"  registrations  {describe(registrations)}  ({karapace:.0f}x Karapace's 37/s)")
        print(f"  config writes  {describe(results['config writes'])}")
        print(
            f"  registrations/config writes median {statistics.median(ratios):.2f} "
            f"(range {min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
