"""Lineage observed at the produce gate: who writes which schema to which topic.

For each (topic, client.id, principal, schema id) the gate counts accepted
records; ``LineageRecorder`` keeps first/last seen times and totals in memory
and hands the changed entries to a sink about every ``interval_s`` (one
``producer_seen`` event per entry that saw records since the last flush), so
a busy producer costs one event per interval, not one per record. ``charter``
wires the sink to the broker outbox, where the catalog reads it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

__all__ = ["LineageKey", "LineageRecorder"]

log = logging.getLogger(__name__)


class LineageKey(NamedTuple):
    """What lineage is counted by (a named tuple: built per produce batch, so cheap to make)."""

    topic: str
    client_id: str | None
    principal: str
    schema_id: int | None


@dataclasses.dataclass(slots=True)
class _Seen:
    first_ms: int
    last_ms: int
    count: int
    unflushed: int


class LineageRecorder:
    """Aggregates observations; ``flush`` sends what changed (a thread does it periodically)."""

    def __init__(
        self,
        sink: Callable[[Sequence[dict[str, Any]]], None] | None,
        *,
        interval_s: float = 5.0,
    ) -> None:
        self.sink = sink
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._seen: dict[LineageKey, _Seen] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def observe(self, key: LineageKey, count: int) -> None:
        now = int(time.time() * 1000)
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                self._seen[key] = _Seen(now, now, count, count)
            else:
                seen.last_ms = now
                seen.count += count
                seen.unflushed += count
        if self._thread is None and self.sink is not None:
            self._start()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [_payload(key, seen) for key, seen in self._seen.items()]

    def flush(self) -> int:
        """Send every entry seen since the last flush; returns how many were sent."""
        with self._lock:
            changed = [(key, seen) for key, seen in self._seen.items() if seen.unflushed]
            payloads = [_payload(key, seen) for key, seen in changed]
            for _, seen in changed:
                seen.unflushed = 0
        if payloads and self.sink is not None:
            try:
                self.sink(payloads)
            except Exception:
                log.exception("could not emit %d lineage event(s)", len(payloads))
                with self._lock:  # send them again next time
                    for _, seen in changed:
                        seen.unflushed = max(seen.unflushed, 1)
        return len(payloads)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="charter-lineage", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.flush()


def _payload(key: LineageKey, seen: _Seen) -> dict[str, Any]:
    return {
        "topic": key.topic,
        "client_id": key.client_id,
        "principal": key.principal,
        "schema_id": key.schema_id,
        "first_seen_ms": seen.first_ms,
        "last_seen_ms": seen.last_ms,
        "count": seen.count,
    }
