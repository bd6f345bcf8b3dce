"""What a new user sees from the ``charter`` command, run as a subprocess exactly as they run it.

A port in use, a bad log level, an unreachable database: one line naming the
problem and a non-zero exit code, never a traceback. Start-up says where the data
live (without passwords), gunicorn writes in Charter's log format, and "HTTP
listener ready" comes once a worker is serving. Each command offers only its flags.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.charter.processes import free_port, http_ready_line, launch
from tests.registry.server_process import REPO_ROOT

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)


def run_charter(
    *args: str, cwd: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")])
    )
    environ.update(environment or {})
    return subprocess.run(
        [sys.executable, "-m", "charter", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextlib.contextmanager
def port_in_use() -> Iterator[int]:
    """A port some other program is listening on (with SO_REUSEADDR, as servers set it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    for fragment in fragments:
        assert fragment in lines[0], output


# -- a port already in use ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "taken"),
    [
        ("up", "HTTP"),
        ("up", "Kafka"),
        ("serve http", "HTTP"),
        ("serve broker", "Kafka"),
    ],
)
def test_port_in_use_is_one_line_before_anything_starts(
    tmp_path: Path, command: str, taken: str
) -> None:
    with port_in_use() as port:
        ports = {"HTTP": free_port(), "Kafka": free_port(), taken: port}
        args = [*command.split(), "--data-dir", str(tmp_path / "data")]
        if command != "serve broker":
            args += ["--http-port", str(ports["HTTP"])]
        if command != "serve http":
            args += ["--kafka-port", str(ports["Kafka"])]
        result = run_charter(*args, cwd=tmp_path)
    flag = "--http-port" if taken == "HTTP" else "--kafka-port"
    assert_one_line_error(result, f"{taken} port {port} on 127.0.0.1 is already in use", flag)
    assert not (tmp_path / "data").exists()  # nothing was started, not even the data directory


@pytest.mark.parametrize("tier", ["http", "broker"])
def test_port_taken_after_the_check_is_still_one_line(tmp_path: Path, tier: str) -> None:
    # Under `charter up` a tier skips the up-front check (the supervisor made it), so this
    # is the race: the port was free when checked and is taken when the tier binds it.
    flag = "--http-port" if tier == "http" else "--kafka-port"
    what = "HTTP" if tier == "http" else "Kafka"
    with port_in_use() as port:
        result = run_charter(
            "serve", tier, "--supervised", "--data-dir", str(tmp_path / "data"), flag, str(port),
            cwd=tmp_path,
        )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert f"Error: {what} port {port} on 127.0.0.1 is already in use" in output
    assert "Retrying" not in output and "Booting worker" not in output


def test_up_refuses_one_port_for_both_listeners(tmp_path: Path) -> None:
    port = str(free_port())
    result = run_charter("up", "--http-port", port, "--kafka-port", port, cwd=tmp_path)
    assert_one_line_error(result, f"cannot share port {port}")


# -- bad settings -------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["flag", "env", "file"])
def test_unknown_log_level_is_a_usage_error_listing_the_levels(tmp_path: Path, source: str) -> None:
    args = ["up", "--log-level", "LOUD"] if source == "flag" else ["up"]
    environment = {"CHARTER_LOG_LEVEL": "LOUD"} if source == "env" else {}
    if source == "file":
        (tmp_path / "charter.toml").write_text('log_level = "LOUD"\n')
    result = run_charter(*args, cwd=tmp_path, environment=environment)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "LOUD" in result.stderr
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        assert level.lower() in result.stderr.lower()


def test_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://someone:s3cret@127.0.0.1:{free_port()}/db"
    result = run_charter(
        "serve", "broker", "--data-dir", str(tmp_path / "data"), "--kafka-port", "0",
        "--database-url", url, cwd=tmp_path,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert "s3cret" not in output
    assert "Error: cannot open the database postgresql://someone:***@127.0.0.1" in output


# -- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "offered", "not_offered"),
    [
        ("serve http", ["--http-port", "--http-workers"], ["--kafka-port"]),
        ("serve broker", ["--kafka-port"], ["--http-port", "--http-workers"]),
        ("up", ["--http-port", "--http-workers", "--kafka-port"], []),
    ],
)
def test_each_command_offers_only_its_flags(
    tmp_path: Path, command: str, offered: list[str], not_offered: list[str]
) -> None:
    result = run_charter(*command.split(), "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for flag in [*offered, "--data-dir", "--host", "--database-url", "--log-level", "--config"]:
        assert flag in result.stdout
    for flag in [*not_offered, "--supervised"]:
        assert flag not in result.stdout


def test_up_help_describes_what_it_serves(tmp_path: Path) -> None:
    result = run_charter("up", "--help", cwd=tmp_path)
    text = " ".join(result.stdout.split())
    assert "schema registry" in text and "Kafka broker" in text and "schema gate" in text
    assert "governance" in text and "security" in text
    assert "catalog" in text and "web UI at /ui/" in text
    assert "planned" not in text


# -- a clean start ------------------------------------------------------------------------


def test_start_up_says_where_data_live_logs_in_one_format_and_is_ready_when_serving(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    charter = launch("up", data_dir, extra_args=("--http-workers", "2"))
    try:
        charter.wait_for(http_ready_line(charter.http_port))
        # The line is printed by a worker that has built the app: it answers at once.
        response = requests.get(f"{charter.url}/subjects", timeout=10)
        assert response.status_code == 200
        assert response.json() == []
        charter.wait_ready()
        assert charter.signal_and_wait(signal.SIGTERM) == 0
    finally:
        charter.stop()
    output = charter.output
    lines = [line for line in output.splitlines() if line.strip()]
    assert f"data directory {data_dir.resolve()}; database sqlite:///{data_dir.resolve()}" in output
    assert [line for line in lines if not LOG_LINE.match(line)] == []  # gunicorn's too
    assert any(" INFO gunicorn: Booting worker" in line for line in lines)
    ready = [i for i, line in enumerate(lines) if http_ready_line(charter.http_port) in line]
    booted = [i for i, line in enumerate(lines) if "Booting worker" in line]
    assert len(ready) == 1  # once, not once per worker
    assert min(booted) < ready[0]
