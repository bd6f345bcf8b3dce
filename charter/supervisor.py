"""``charter up``: the HTTP tier and the broker as two child processes under one supervisor.

Before starting anything it checks that both ports can be listened on (one
error line naming the port otherwise) and logs where the data live. Each child is
``python -m charter serve <tier>`` with the supervisor's resolved settings passed
in ``CHARTER_*`` variables, so both see exactly the same configuration.
SIGINT/SIGTERM are forwarded; if one child dies (a port taken in the meantime,
say) the other is stopped too and ``up`` exits non-zero.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from charter.config import ENV_PREFIX, Settings
from charter.kafka_listeners import listener_bindings
from charter.listeners import check_bindings
from charter.storage import ensure_data_dir, log_storage_locations

__all__ = ["run_up"]

log = logging.getLogger("charter.up")

STOP_TIMEOUT_S = 15.0


def _settings_environment(settings: Settings) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if value is not None:
            environ[ENV_PREFIX + field.name.upper()] = str(value)
    return environ


def run_up(settings: Settings, tiers: Sequence[str] = ("http", "broker")) -> int:
    """Start every tier, wait until one exits or a stop signal arrives; return the exit code.

    Raises ``ListenerError`` (a port is taken) or ``StartupError`` (no data directory)
    before starting anything.
    """
    bindings = {
        "http": [("HTTP", settings.host, settings.http_port)],
        "broker": listener_bindings(settings),
    }
    check_bindings(binding for tier in tiers for binding in bindings[tier])
    log_storage_locations(settings)
    ensure_data_dir(settings)
    environ = _settings_environment(settings)
    children = {
        tier: subprocess.Popen(
            [sys.executable, "-m", "charter", "serve", tier, "--supervised"], env=environ
        )
        for tier in tiers
    }
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    exit_code = 0
    try:
        while not stopping:
            for tier, child in children.items():
                code = child.poll()
                if code is not None:
                    log.error("%s tier exited with code %s; stopping", tier, code)
                    exit_code = code if code > 0 else 1  # killed by a signal: plain failure
                    _stop(signal.SIGTERM, None)
                    break
            time.sleep(0.2)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("charter stopped")
    return exit_code
