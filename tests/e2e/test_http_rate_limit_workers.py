"""``http_request_rate`` under ``charter up --auth`` with two HTTP workers: counted once.

Each request opens its own connection, so the two gunicorn workers share them;
a principal still gets about its burst, not its burst per worker.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import requests

from tests.security.stack import PASSWORDS, secured_up

BURST = 4


def test_two_workers_count_a_principals_requests_together(tmp_path: Path) -> None:
    limits = {"CHARTER_HTTP_REQUEST_RATE": "1", "CHARTER_HTTP_REQUEST_BURST": str(BURST)}
    with secured_up(tmp_path / "data", "--http-workers", "2", environment=limits) as charter:
        started = time.monotonic()
        answers = [
            requests.get(
                f"{charter.url}/subjects",
                auth=("bob", PASSWORDS["bob"]),
                headers={"Connection": "close"},  # a new connection each: either worker
                timeout=10,
            )
            for _ in range(4 * BURST)
        ]
        elapsed = time.monotonic() - started
    codes = [answer.status_code for answer in answers]
    assert set(codes) <= {200, 429}, codes
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused and all(int(a.headers["Retry-After"]) >= 1 for a in refused)
    # the burst, plus what one token a second refilled meanwhile (per worker: twice the burst)
    assert codes.count(200) <= BURST + math.ceil(elapsed), (codes, elapsed)
