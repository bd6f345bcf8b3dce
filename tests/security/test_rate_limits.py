"""Per-principal request rate limits: the token bucket, and HTTP's 429 with Retry-After."""

from __future__ import annotations

import base64
import multiprocessing
from pathlib import Path
from typing import Any

from charter.app import create_app
from charter.config import ConfigError, Settings
from governance.security.buckets import SharedBuckets
from governance.security.ratelimit import RequestRateLimiter
from governance.security.service import SecurityService


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_try_acquire_refuses_over_the_rate_without_counting_the_refusal() -> None:
    clock = Clock()
    limiter = RequestRateLimiter(2, 3, clock=clock)
    assert [limiter.try_acquire("User:a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.try_acquire("User:a") == 0.5  # one token comes back in half a second
    assert limiter.try_acquire("User:a") == 0.5  # the refusal took nothing
    assert limiter.try_acquire("User:b") == 0.0  # buckets are per principal
    clock.now += 0.5
    assert limiter.try_acquire("User:a") == 0.0


def test_charge_goes_into_bounded_debt_and_debt_says_how_long() -> None:
    clock = Clock()
    limiter = RequestRateLimiter(10, 1, max_debt_s=2, clock=clock)
    assert limiter.charge("User:a") == 0.0
    assert limiter.debt("User:a") == 0.0
    assert limiter.charge("User:a") == 0.1
    assert round(limiter.debt("User:a"), 6) == 0.1
    for _ in range(100):
        throttle = limiter.charge("User:a")
    assert throttle == 2.0  # never more than max_debt_s
    clock.now += 2.0
    assert limiter.debt("User:a") == 0.0


def test_rate_zero_is_no_limit() -> None:
    limiter = RequestRateLimiter(0)
    assert not limiter.enabled
    assert all(limiter.try_acquire("User:a") == 0.0 for _ in range(1000))
    assert limiter.charge("User:a") == 0.0


def test_negative_rates_are_config_errors() -> None:
    for name in ("kafka_request_rate", "http_request_rate", "kafka_request_burst"):
        try:
            Settings(**{name: -1})
        except ConfigError as exc:
            assert name in str(exc)
        else:
            raise AssertionError(f"{name}=-1 accepted")


def test_http_answers_429_with_retry_after_per_principal(tmp_path: Path) -> None:
    app = create_app(
        Settings(data_dir=tmp_path, auth=True, http_request_rate=1, http_request_burst=2)
    )
    security: SecurityService = app.extensions["charter.security"]
    security.bootstrap_admin("admin-password")
    security.create_user("dev", "dev-password", actor="test")
    try:
        client = app.test_client()

        def get(user: str) -> tuple[int, dict]:
            token = base64.b64encode(f"{user}:{user}-password".encode()).decode()
            response = client.get("/subjects", headers={"Authorization": f"Basic {token}"})
            return response.status_code, response

        assert [get("dev")[0] for _ in range(2)] == [200, 200]
        status, response = get("dev")
        assert status == 429
        assert response.get_json()["error_code"] == 42902
        assert int(response.headers["Retry-After"]) >= 1
        assert get("admin")[0] == 200  # another principal has its own bucket
        assert client.get("/health").status_code == 200  # public routes are not limited
    finally:
        app.extensions["charter.events"].stop()
        security.audit.stop()
        app.extensions["charter.database"].close()


def _spend(limiter: RequestRateLimiter, principal: str, attempts: int, granted: Any) -> None:
    granted.put(sum(limiter.try_acquire(principal) == 0.0 for _ in range(attempts)))


def test_shared_buckets_count_a_principal_once_across_forked_workers() -> None:
    """Two forked 'workers' spend one bucket: 5 requests in all, not 5 each."""
    buckets = SharedBuckets(slots=64)
    limiter = RequestRateLimiter(1, 5, buckets=buckets, clock=lambda: 1000.0)  # no refill
    context = multiprocessing.get_context("fork")
    granted = context.Queue()
    workers = [
        context.Process(target=_spend, args=(limiter, "User:bob", 8, granted)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    totals = [granted.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert sum(totals) == 5
    assert limiter.try_acquire("User:bob") > 0  # the parent sees the spent bucket too
    assert limiter.try_acquire("User:alice") == 0.0  # another principal has its own


def test_shared_buckets_reuse_the_stalest_slot_when_full() -> None:
    buckets = SharedBuckets(slots=4)
    for number in range(50):
        buckets.put(f"User:{number}", 1.0, float(number))
    assert buckets.get("User:49") == (1.0, 49.0)  # the newest are kept
    kept = [number for number in range(50) if buckets.get(f"User:{number}") is not None]
    assert len(kept) == 4 and 49 in kept
    buckets.put("User:49", 0.5, 60.0)
    assert buckets.get("User:49") == (0.5, 60.0)
