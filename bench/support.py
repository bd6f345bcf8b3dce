"""What the benchmark scripts share: free ports, scratch PostgreSQL databases, spreads, a
producer run.

Each script runs as ``python bench/NAME.py``, which puts this folder on
``sys.path``, so they import it as ``support``.
"""

from __future__ import annotations

import contextlib
import socket
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["fresh_postgres", "free_port", "produce_seconds", "spread"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL server of ``server_url``, dropped afterwards."""
    import psycopg

    name = f"charter_bench_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(server_url)
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def spread(values: list[float], digits: int = 2, unit: str = "") -> str:
    """``median (range min-max)`` of per-round figures."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:.{digits}f}{unit} (range {low:.{digits}f}-{high:.{digits}f})"


def produce_seconds(
    config: dict[str, Any],
    topic: str,
    messages: int,
    payload: bytes,
    cpu: Callable[[], float] = lambda: 0.0,
) -> tuple[float, float]:
    """Wall-clock seconds to produce ``messages`` copies of ``payload`` with confluent-kafka
    (acks=1, linger.ms 5; connected and authenticated before the clock starts) and the
    ``cpu`` seconds counted meanwhile."""
    from confluent_kafka import Producer

    producer = Producer({**config, "acks": 1, "linger.ms": 5})
    producer.list_topics(timeout=10)
    cpu_before = cpu()
    started = time.perf_counter()
    for _ in range(messages):
        while True:
            try:
                producer.produce(topic, payload)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    return time.perf_counter() - started, cpu() - cpu_before
