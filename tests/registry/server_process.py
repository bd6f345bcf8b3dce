"""Start and stop a real ``charter serve http`` process for tests that drive it over HTTP.

The server runs under gunicorn exactly as users start it; the helper waits for
its ready line (``HTTP listener ready on http://H:P``) and always stops the
whole process group, so no worker outlives the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "REPO_ROOT",
    "ServerProcess",
    "free_port",
    "launch_server",
    "running_server",
    "running_servers",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    """An ephemeral TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """A running ``charter serve http``; ``url`` is its base URL, ``output`` its log so far."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        ready_line = f"HTTP listener ready on {self.url}"
        for line in self.process.stdout:
            self._lines.append(line)
            if ready_line in line:
                self._ready.set()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"charter serve http exited with {self.process.returncode}:\n{self.output}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"charter serve http not ready after {timeout}s:\n{self.output}")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)


def launch_server(
    data_dir: Path,
    *,
    database_url: str | None = None,
    http_workers: int = 2,
) -> ServerProcess:
    """Start ``charter serve http`` on a free port over ``data_dir``; call ``wait_ready`` next."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "charter",
        "serve",
        "http",
        "--host",
        "127.0.0.1",
        "--http-port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--http-workers",
        str(http_workers),
    ]
    if database_url is not None:
        command += ["--database-url", database_url]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
    )
    process = subprocess.Popen(
        command,
        cwd=data_dir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return ServerProcess(process, f"http://127.0.0.1:{port}")


@contextlib.contextmanager
def running_server(
    data_dir: Path,
    *,
    database_url: str | None = None,
    http_workers: int = 2,
) -> Iterator[ServerProcess]:
    """Run ``charter serve http`` on a free port over ``data_dir`` until the block exits."""
    server = launch_server(data_dir, database_url=database_url, http_workers=http_workers)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_servers(
    data_root: Path,
    names: tuple[str, ...] = ("a", "b"),
    *,
    database_url: str | None = None,
    http_workers: int = 2,
) -> Iterator[tuple[ServerProcess, ...]]:
    """Several servers (data dirs ``data_root/<name>``) started together, so their migrations race."""
    with contextlib.ExitStack() as stack:
        servers = []
        for name in names:
            server = launch_server(
                data_root / name, database_url=database_url, http_workers=http_workers
            )
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        yield tuple(servers)
