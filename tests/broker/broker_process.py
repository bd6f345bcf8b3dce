"""Run a broker in a subprocess over a data dir (for crash tests); prints the ready line.

Usage: ``python -m tests.broker.broker_process DATA_DIR`` (port 0: the bound port is in
the ``Kafka listener ready on host:port`` log line on stderr).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

from broker.app import run_broker
from charter.compose import build_broker, open_migrated_database
from charter.config import Settings

READY = "Kafka listener ready on "


def start_process(
    data_dir: Path, timeout: float = 30, port: int = 0
) -> tuple[subprocess.Popen[str], int]:
    """Start the broker subprocess (on ``port``, 0: any) and return it with the port it listens on."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.broker.broker_process", str(data_dir), str(port)],
        cwd=Path(__file__).resolve().parents[2],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        if READY in line:
            port = int(line.rsplit(":", 1)[1])
            return process, port
    process.kill()
    process.wait()
    raise RuntimeError("broker subprocess did not become ready")


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    settings = Settings(
        data_dir=Path(sys.argv[1]),
        host="127.0.0.1",
        kafka_port=port,
        transaction_abort_check_interval_ms=200,
        value_schema_validation="none",  # a crash-test broker: unframed values (not the gate)
    )
    database = open_migrated_database(settings)
    run_broker(build_broker(settings, database))


if __name__ == "__main__":
    main()
