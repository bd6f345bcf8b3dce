"""Start ``charter up`` and ``charter serve broker`` as real subprocesses for end-to-end tests.

Each process runs exactly as a user starts it (``python -m charter …``) on free
ephemeral ports, in its own session so that a stop always reaches every child.
``CharterProcess`` collects the combined output in a background thread, waits
for the ready lines, stops with a signal (returning the exit code) and can
``kill -9`` the children of ``charter up``. ``running_up`` / ``running_broker``
are context managers that always clean up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.registry.server_process import REPO_ROOT, free_port

__all__ = [
    "CharterProcess",
    "free_port",
    "http_ready_line",
    "kafka_ready_line",
    "launch",
    "running_broker",
    "running_up",
]

READY_TIMEOUT_S = 60.0


def http_ready_line(port: int) -> str:
    return f"HTTP listener ready on http://127.0.0.1:{port}"


def kafka_ready_line(port: int) -> str:
    return f"Kafka listener ready on 127.0.0.1:{port}"


class CharterProcess:
    """One ``python -m charter <args>`` process; ``output`` is everything it printed so far."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        data_dir: Path,
        kafka_port: int,
        http_port: int | None,
    ) -> None:
        self.process = process
        self.data_dir = data_dir
        self.kafka_port = kafka_port
        self.http_port = http_port
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, *fragments: str, timeout: float = READY_TIMEOUT_S) -> None:
        """Wait until every fragment has appeared in the output (fail if the process exits)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = "".join(self._lines)
                if all(fragment in seen for fragment in fragments):
                    return
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"charter exited with {self.process.returncode} before {fragments}:\n{seen}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"did not see {fragments} in output:\n{seen}")
                self._changed.wait(min(remaining, 0.2))

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        fragments = [kafka_ready_line(self.kafka_port)]
        if self.http_port is not None:
            fragments.append(http_ready_line(self.http_port))
        self.wait_for(*fragments, timeout=timeout)

    def children(self) -> list[int]:
        """The pids of this process's direct children (Linux /proc)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def kill_children(self) -> list[int]:
        """``kill -9`` every child at once (the supervisor itself is left to notice)."""
        pids = self.children()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return pids

    def signal_and_wait(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``signum`` to the main process only and return its exit code."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def stop(self) -> None:
        """Make sure nothing of this process group is left running."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stragglers of the group
        if self.process.poll() is None:
            self.process.wait(timeout=5)
        self._reader.join(timeout=5)


def launch(
    command: str,
    data_dir: Path,
    *,
    kafka_port: int | None = None,
    http_port: int | None = None,
    extra_args: tuple[str, ...] = (),
    environment: dict[str, str] | None = None,
) -> CharterProcess:
    """Start ``charter up`` (``command="up"``) or ``charter serve broker`` on free ports."""
    data_dir.mkdir(parents=True, exist_ok=True)
    kafka_port = kafka_port or free_port()
    args = [sys.executable, "-m", "charter", *command.split(), "--data-dir", str(data_dir)]
    args += ["--host", "127.0.0.1", "--kafka-port", str(kafka_port)]
    if command == "up":
        http_port = http_port or free_port()
        args += ["--http-port", str(http_port), "--http-workers", "1"]
    args += list(extra_args)
    environ = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")])
    )
    # These processes test the broker and the registry, not the gate: their topics take
    # unframed values (docs/decisions.md). Gate tests pass "full" (the product default).
    environ["CHARTER_VALUE_SCHEMA_VALIDATION"] = "none"
    # A new group starts at once (Kafka's test setups do the same): the 3 s wait for more
    # members is a deployment default that only slows tests down. Tests of it set it back.
    environ["CHARTER_GROUP_INITIAL_REBALANCE_DELAY_MS"] = "0"
    environ.update(environment or {})
    process = subprocess.Popen(
        args,
        cwd=data_dir.parent,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    return CharterProcess(process, data_dir, kafka_port, http_port if command == "up" else None)


@contextlib.contextmanager
def running_up(data_dir: Path, **options: object) -> Iterator[CharterProcess]:
    """``charter up`` over ``data_dir``, ready, until the block exits."""
    charter = launch("up", data_dir, **options)  # type: ignore[arg-type]
    try:
        charter.wait_ready()
        yield charter
    finally:
        charter.stop()


@contextlib.contextmanager
def running_broker(data_dir: Path, **options: object) -> Iterator[CharterProcess]:
    """``charter serve broker`` over ``data_dir``, ready, until the block exits."""
    charter = launch("serve broker", data_dir, **options)  # type: ignore[arg-type]
    try:
        charter.wait_ready()
        yield charter
    finally:
        charter.stop()
