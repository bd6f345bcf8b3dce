"""Rate limits: failed logins (``FailureLimiter``) and requests per principal (``RequestRateLimiter``).

Too many failures for a user from an address locks them out.

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

from governance.security.buckets import BucketStore, LocalBuckets

__all__ = ["FailureLimiter", "RequestRateLimiter"]

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


class RequestRateLimiter:
    """A token bucket per principal: ``rate`` requests a second, bursts of ``burst``.

    Two ways to spend, one per door. HTTP asks ``try_acquire`` and answers 429
    with ``Retry-After`` when it gives a wait (the request is not counted). The
    Kafka listener always ``charge``s (the bucket may go into debt, at most
    ``max_debt_s`` seconds of it), answers with that debt as ``throttle_time_ms``
    and waits it out (``debt``) before handling the principal's next request, as
    Kafka's quotas mute a throttled channel; connections are never dropped.
    Buckets live in ``buckets`` (this process's by default; ``SharedBuckets`` for the
    HTTP workers of one host); a full bucket reads the same as none. ``rate`` 0: no limit.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        max_debt_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        buckets: BucketStore | None = None,
    ) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst else max(rate, 1.0))
        self.max_debt_s = max_debt_s
        self._clock = clock
        self._buckets = buckets if buckets is not None else LocalBuckets()
        self._lock = self._buckets.lock

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _tokens(self, principal: str, now: float) -> float:
        tokens, at = self._buckets.get(principal) or (self.burst, now)
        return min(self.burst, tokens + (now - at) * self.rate)

    def _store(self, principal: str, tokens: float, now: float) -> None:
        self._buckets.put(principal, tokens, now)  # always below ``burst``: a token was taken

    def try_acquire(self, principal: str) -> float:
        """0.0 and one token taken, or the seconds until one is available (nothing taken)."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens = self._tokens(principal, now)
            if tokens < 1.0:
                return (1.0 - tokens) / self.rate
            self._store(principal, tokens - 1.0, now)
        return 0.0

    def charge(self, principal: str) -> float:
        """Take one token, into debt if need be; the seconds of debt (the throttle time)."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens = max(self._tokens(principal, now) - 1.0, -self.max_debt_s * self.rate)
            self._store(principal, tokens, now)
        return max(0.0, -tokens / self.rate)

    def debt(self, principal: str) -> float:
        """Seconds until the principal's bucket is out of debt (0.0 when it is not in debt)."""
        if not self.enabled or self._buckets.get(principal) is None:  # no debt: no lock
            return 0.0
        with self._lock:
            tokens = self._tokens(principal, self._clock())
        return max(0.0, -tokens / self.rate)
