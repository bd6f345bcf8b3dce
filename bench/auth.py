"""Auth + authorization on vs off: produce throughput and registry reads, side by side in one run.

Run as ``python bench/auth.py`` (or ``charter bench auth``).

Two ``charter up`` stacks run at once over their own data directories, one
with ``--auth`` (SASL/PLAIN on the Kafka listener for a DeveloperWrite user,
Basic auth on HTTP for a DeveloperRead user, role bindings checked at every
request) and one without. Rounds alternate between them (only one is loaded at
a time): a confluent-kafka producer sends ``--messages`` records (acks=1) and
a keep-alive HTTP client reads ``GET /schemas/ids/1`` for ``--seconds``. The
script prints per-round figures, medians with ranges, and the on/off ratios.
Target: >= 0.9 for both. Both are also counted per CPU second of the stack's
processes (``/proc``): what a record or a read costs the server, which the
machine's load moves far less than the wall-clock rate.

Before the stacks, the same read is measured in process (``--wsgi-requests``
per round, 0 to skip): two apps from ``create_app`` over their own data
directories, seeded alike, each called as a WSGI application in a loop,
alternating off/on per round. It counts the calling thread's CPU time
(``time.thread_time``), so other processes on the machine barely move it, and
there is no network or server in the way: it isolates what auth adds to a
request, where the stacks' ratio swings with machine load.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from support import free_port, produce_seconds, spread  # noqa: E402 - bench/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
# First, ahead of bench/: bench/catalog.py would shadow the ``catalog`` package otherwise.
sys.path.insert(0, str(REPO_ROOT))

ADMIN_PASSWORD = "bench-admin-password"
WRITER, READER = ("writer", "writer-password"), ("reader", "reader-password")
TOPIC = "bench-auth"
SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]})


def seed(data_dir: Path) -> None:
    """The auth stack's users and role bindings, written before it starts."""
    from charter.compose import open_migrated_database
    from charter.config import Settings
    from charter.security import security_service

    settings = Settings(data_dir=data_dir, auth=True)
    database = open_migrated_database(settings)
    service = security_service(settings, database)
    service.bootstrap_admin(ADMIN_PASSWORD)
    service.create_user(*WRITER, actor="bench")
    service.create_user(*READER, actor="bench")
    service.create_binding("User:writer", "ResourceOwner", f"Topic:{TOPIC}", actor="bench")
    service.create_binding("User:admin", "SystemAdmin", None, actor="bench")
    service.create_binding("User:reader", "DeveloperRead", "Subject:bench-*", actor="bench")
    service.audit.stop()
    service.authorizer.stop()
    database.close()


def basic_auth(user: tuple[str, str]) -> dict[str, str]:
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Stack:
    def __init__(self, root: Path, auth: bool) -> None:
        self.auth = auth
        self.data_dir = root / ("auth" if auth else "open")
        self.http_port, self.kafka_port = free_port(), free_port()
        if auth:
            seed(self.data_dir)
        args = [sys.executable, "-m", "charter", "up", "--data-dir", str(self.data_dir)]
        args += ["--http-port", str(self.http_port), "--kafka-port", str(self.kafka_port)]
        args += ["--http-workers", "1", "--log-level", "WARNING"] + (["--auth"] if auth else [])
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")])
        )
        self.process = subprocess.Popen(args, env=environ, start_new_session=True)
        try:
            self._wait_ready()
            self._prepare()
        except BaseException:
            self.stop()
            raise

    def headers(self, user: tuple[str, str]) -> dict[str, str]:
        return basic_auth(user) if self.auth else {}

    def kafka_config(self) -> dict[str, str]:
        config = {"bootstrap.servers": f"127.0.0.1:{self.kafka_port}"}
        if self.auth:
            config.update(
                {
                    "security.protocol": "SASL_PLAINTEXT",
                    "sasl.mechanism": "PLAIN",
                    "sasl.username": WRITER[0],
                    "sasl.password": WRITER[1],
                }
            )
        return config

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/health", timeout=2):
                    pass
                import socket

                socket.create_connection(("127.0.0.1", self.kafka_port), timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("charter up did not become ready")

    def _prepare(self) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self.kafka_config())
        admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/subjects/bench-value/versions",
            data=json.dumps({"schema": SCHEMA}).encode(),
            headers={"Content-Type": "application/json", **self.headers(("admin", ADMIN_PASSWORD))},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)


def produce_rate(stack: Stack, messages: int) -> tuple[float, float]:
    """Messages per second, and per CPU second of the stack's processes."""
    elapsed, cpu = produce_seconds(
        stack.kafka_config(), TOPIC, messages, b"x" * 100, lambda: stack_cpu_s(stack)
    )
    return messages / elapsed, messages / cpu if cpu > 0 else float("nan")


METRICS = (
    ("produce", " msg/s"),
    ("produce per server CPU", " msg/cpu-s"),
    ("read", " req/s"),
    ("read per server CPU", " req/cpu-s"),
)


def stack_cpu_s(stack: Stack) -> float:
    """CPU seconds (user + system) used so far by the stack's live processes (its session's:
    supervisor, broker, gunicorn master and worker); Linux ``/proc``, 0.0 elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[3]) == stack.process.pid:  # session id (the stack leads its own session)
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def read_rate(stack: Stack, seconds: float, threads: int = 4) -> tuple[float, float]:
    """Reads per second, and reads per CPU second of the stack's processes (what a read costs
    the server, which machine load moves far less than the wall-clock rate)."""
    headers = stack.headers(READER)
    counts = [0] * threads
    stop_at = time.perf_counter() + seconds

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=10)
        while time.perf_counter() < stop_at:
            connection.request("GET", "/schemas/ids/1", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            counts[index] += 1
        connection.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    cpu_before = stack_cpu_s(stack)
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = stack_cpu_s(stack) - cpu_before
    return sum(counts) / elapsed, sum(counts) / cpu if cpu > 0 else float("nan")


class WsgiApp:
    """One ``create_app`` in this process, read through its WSGI callable (no server)."""

    def __init__(self, root: Path, auth: bool) -> None:
        from werkzeug.test import EnvironBuilder

        from charter.app import create_app
        from charter.config import Settings

        data_dir = root / ("wsgi-auth" if auth else "wsgi-open")
        if auth:
            seed(data_dir)
        self.app = create_app(Settings(data_dir=data_dir, auth=auth))
        admin = basic_auth(("admin", ADMIN_PASSWORD)) if auth else {}
        registered = self.app.test_client().post(
            "/subjects/bench-value/versions", json={"schema": SCHEMA}, headers=admin
        )
        assert registered.status_code == 200, registered.get_data(as_text=True)
        headers = basic_auth(READER) if auth else {}
        self.environ = EnvironBuilder(path="/schemas/ids/1", headers=headers).get_environ()

    def rate(self, requests: int) -> float:
        """Reads per second of this thread's CPU time."""
        statuses: list[str] = []

        def start_response(status: str, headers: object, exc_info: object = None) -> None:
            statuses.append(status)

        app, environ = self.app, self.environ
        started = time.thread_time()
        for _ in range(requests):
            request_environ = dict(environ)
            request_environ["wsgi.input"] = io.BytesIO()
            b"".join(app(request_environ, start_response))
        elapsed = time.thread_time() - started
        assert statuses[-1].startswith("200") and len(set(statuses)) == 1, set(statuses)
        return requests / elapsed

    def stop(self) -> None:
        self.app.extensions["charter.events"].stop()
        security = self.app.extensions["charter.security"]
        security.audit.stop()
        security.authorizer.stop()
        self.app.extensions["charter.database"].close()


def wsgi_reads(root: Path, rounds: int, requests: int) -> None:
    """The in-process read comparison: alternating rounds, medians, the on/off ratio."""
    apps = {"off": WsgiApp(root, auth=False), "on": WsgiApp(root, auth=True)}
    try:
        rates: dict[str, list[float]] = {"off": [], "on": []}
        for wsgi_app in apps.values():  # warm-up, not counted
            wsgi_app.rate(requests // 5)
        for round_index in range(rounds):
            order = ["off", "on"] if round_index % 2 == 0 else ["on", "off"]
            for name in order:
                rates[name].append(apps[name].rate(requests))
            print(
                f"in-process round {round_index + 1}: off {rates['off'][-1]:.0f} req/s, "
                f"on {rates['on'][-1]:.0f} req/s (CPU)",
                flush=True,
            )
        off, on = rates["off"], rates["on"]
        ratios = [a / b for a, b in zip(on, off, strict=True)]
        print(
            f"in-process read: auth off {spread(off, 0, ' req/s')}; auth on {spread(on, 0, ' req/s')}"
        )
        print(
            f"in-process read: ratio on/off {statistics.median(on) / statistics.median(off):.2f} "
            f"(per round {spread(ratios)}); per request: auth adds "
            f"{1e6 / statistics.median(on) - 1e6 / statistics.median(off):.1f} us of CPU"
        )
    finally:
        for wsgi_app in apps.values():
            wsgi_app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--wsgi-requests", type=int, default=5000, help="in-process reads per round (0: skip)"
    )
    parser.add_argument("--no-stacks", action="store_true", help="only the in-process part")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="charter-bench-auth-"))
    stacks: dict[str, Stack] = {}
    try:
        if options.wsgi_requests > 0:
            wsgi_reads(root, options.rounds, options.wsgi_requests)
        if options.no_stacks:
            return
        stacks["off"] = Stack(root, auth=False)
        stacks["on"] = Stack(root, auth=True)
        results: dict[str, dict[str, list[float]]] = {
            name: {metric: [] for metric, _ in METRICS} for name in stacks
        }
        for stack in stacks.values():  # warm-up, not counted
            produce_rate(stack, options.messages // 10)
            read_rate(stack, 0.5)
        for round_index in range(options.rounds):
            order = ["off", "on"] if round_index % 2 == 0 else ["on", "off"]
            for name in order:
                produced, produced_per_cpu = produce_rate(stacks[name], options.messages)
                results[name]["produce"].append(produced)
                results[name]["produce per server CPU"].append(produced_per_cpu)
                reads, reads_per_cpu = read_rate(stacks[name], options.seconds)
                results[name]["read"].append(reads)
                results[name]["read per server CPU"].append(reads_per_cpu)
            print(
                f"round {round_index + 1}: "
                + ", ".join(
                    f"{name} produce {results[name]['produce'][-1]:.0f} msg/s "
                    f"({results[name]['produce per server CPU'][-1]:.0f}/cpu-s) "
                    f"read {results[name]['read'][-1]:.0f} req/s "
                    f"({results[name]['read per server CPU'][-1]:.0f}/cpu-s)"
                    for name in ("off", "on")
                ),
                flush=True,
            )
        for metric, unit in METRICS:
            off, on = results["off"][metric], results["on"][metric]
            ratios = [a / b for a, b in zip(on, off, strict=True)]
            print(f"{metric}: auth off {spread(off, 0, unit)}; auth on {spread(on, 0, unit)}")
            print(
                f"{metric}: ratio on/off {statistics.median(on) / statistics.median(off):.2f} "
                f"(per round {spread(ratios)})"
            )
    finally:
        for stack in stacks.values():
            stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
