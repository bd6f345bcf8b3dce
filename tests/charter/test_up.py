"""``charter up`` end to end: both listeners ready, served, and a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_lines(process: subprocess.Popen[bytes], wanted: list[str], timeout_s: float) -> str:
    """Read the child's combined output until every wanted fragment has appeared."""
    seen = ""
    deadline = time.monotonic() + timeout_s
    fd = process.stdout.fileno()  # type: ignore[union-attr]
    os.set_blocking(fd, False)
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            chunk = b""
        seen += chunk.decode("utf-8", "replace")
        if all(fragment in seen for fragment in wanted):
            return seen
        if process.poll() is not None and not chunk:
            break
        if not chunk:
            time.sleep(0.1)
    raise AssertionError(f"did not see {wanted} in output:\n{seen}")


@pytest.fixture
def up_process(tmp_path: Path):
    http_port, kafka_port = _free_port(), _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "charter",
            "up",
            "--data-dir",
            str(tmp_path / "data"),
            "--http-port",
            str(http_port),
            "--kafka-port",
            str(kafka_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environ,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        yield process, http_port, kafka_port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_up_serves_both_listeners_and_stops_cleanly(
    up_process, tmp_path: Path, stop_signal
) -> None:
    process, http_port, kafka_port = up_process
    _wait_for_lines(
        process,
        [
            f"HTTP listener ready on http://127.0.0.1:{http_port}",
            f"Kafka listener ready on 127.0.0.1:{kafka_port}",
        ],
        timeout_s=60,
    )
    response = requests.get(f"http://127.0.0.1:{http_port}/", timeout=5)
    assert response.status_code == 200
    assert response.json() == {}
    with socket.create_connection(("127.0.0.1", kafka_port), timeout=5):
        pass
    assert (tmp_path / "data" / "charter.db").is_file()

    process.send_signal(stop_signal)
    assert process.wait(timeout=30) == 0
    # Nothing keeps listening after the stop.
    for port in (http_port, kafka_port):
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass


def test_up_rejects_unknown_config_key(tmp_path: Path) -> None:
    (tmp_path / "charter.toml").write_text("kafka_prot = 1\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    result = subprocess.run(
        [sys.executable, "-m", "charter", "up"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=60,
    )
    assert result.returncode != 0
    assert "unknown setting 'kafka_prot'" in result.stderr
