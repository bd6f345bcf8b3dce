"""Failed-login rate limiting: too many failures for a user from an address locks them out.

Each failed authentication is counted under (user, client address) and under
the address alone; once the pair has ``limit`` failures within ``window_s``
seconds (or the address ``ADDRESS_FACTOR`` times as many, for password
spraying across users), further attempts are refused without checking the
credentials until the oldest failure leaves the window. The user alone is not
locked out, so nobody can lock ``admin`` out from elsewhere. A success clears
the pair's count. Counts are per process (each HTTP worker and the broker keep
their own).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

__all__ = ["FailureLimiter"]

_MAX_KEYS = 50_000
ADDRESS_FACTOR = 5


class FailureLimiter:
    def __init__(
        self,
        limit: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, collections.deque[float]] = {}

    def _recent(self, key: str, now: float) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def active(self) -> bool:
        """Whether any failure is being counted (a cheap check for the common case)."""
        return bool(self._failures)

    def blocked(self, user: str | None, address: str | None) -> bool:
        if not self._failures:
            return False
        now = self._clock()
        with self._lock:
            return any(
                self._recent(key, now) >= limit for key, limit in self._limits(user, address)
            )

    def failed(self, user: str | None, address: str | None) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:  # forget the oldest half under a flood
                for key in list(self._failures)[: _MAX_KEYS // 2]:
                    del self._failures[key]
            for key, limit in self._limits(user, address):
                self._failures.setdefault(key, collections.deque(maxlen=limit)).append(now)

    def succeeded(self, user: str, address: str | None) -> None:
        with self._lock:
            self._failures.pop(f"user:{user}@{address}", None)

    def _limits(self, user: str | None, address: str | None) -> list[tuple[str, int]]:
        keys = [(f"user:{user}@{address}", self.limit)] if user else []
        if address:
            keys.append((f"address:{address}", self.limit * ADDRESS_FACTOR))
        return keys
