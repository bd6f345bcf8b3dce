"""Failed-login rate limiting: too many failures for a user or from an address locks it out.

Each failed authentication is counted under the user name and under the client
address; once either has ``limit`` failures within ``window_s`` seconds,
further attempts for it are refused without checking the credentials until the
oldest failure leaves the window. A success clears the user's count. Counts are
per process (each HTTP worker and the broker keep their own).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

__all__ = ["FailureLimiter"]

_MAX_KEYS = 50_000


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

    def blocked(self, user: str | None, address: str | None) -> bool:
        now = self._clock()
        with self._lock:
            return any(self._recent(key, now) >= self.limit for key in _keys(user, address))

    def failed(self, user: str | None, address: str | None) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:  # forget the oldest half under a flood
                for key in list(self._failures)[: _MAX_KEYS // 2]:
                    del self._failures[key]
            for key in _keys(user, address):
                self._failures.setdefault(key, collections.deque(maxlen=self.limit)).append(now)

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{user}", None)


def _keys(user: str | None, address: str | None) -> list[str]:
    keys = []
    if user:
        keys.append(f"user:{user}")
    if address:
        keys.append(f"address:{address}")
    return keys
