"""Auth + authorization on vs off: produce throughput and registry reads, side by side in one run.

Run as ``python bench/auth.py`` (or ``charter bench auth``).

Two ``charter up`` stacks run at once over their own data directories, one
with ``--auth`` (SASL/PLAIN on the Kafka listener for a DeveloperWrite user,
Basic auth on HTTP for a DeveloperRead user, role bindings checked at every
request) and one without. Rounds alternate between them (only one is loaded at
a time): a confluent-kafka producer sends ``--messages`` records (acks=1) and
a keep-alive HTTP client reads ``GET /schemas/ids/1`` for ``--seconds``. The
script prints per-round figures, medians with ranges, and the on/off ratios.
Target: >= 0.9 for both.
"""

from __future__ import annotations

import argparse
import base64
import http.client
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

from support import free_port, spread  # noqa: E402 - bench/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

ADMIN_PASSWORD = "bench-admin-password"
WRITER, READER = ("writer", "writer-password"), ("reader", "reader-password")
TOPIC = "bench-auth"
SCHEMA = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]})


class Stack:
    def __init__(self, root: Path, auth: bool) -> None:
        self.auth = auth
        self.data_dir = root / ("auth" if auth else "open")
        self.http_port, self.kafka_port = free_port(), free_port()
        if auth:
            self._seed()
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

    def _seed(self) -> None:
        from charter.compose import open_migrated_database
        from charter.config import Settings
        from charter.security import security_service

        settings = Settings(data_dir=self.data_dir, auth=True)
        database = open_migrated_database(settings)
        service = security_service(settings, database)
        service.bootstrap_admin(ADMIN_PASSWORD)
        service.create_user(*WRITER, actor="bench")
        service.create_user(*READER, actor="bench")
        service.create_binding("User:writer", "ResourceOwner", f"Topic:{TOPIC}", actor="bench")
        service.create_binding("User:admin", "SystemAdmin", None, actor="bench")
        service.create_binding("User:reader", "DeveloperRead", "Subject:bench-*", actor="bench")
        service.audit.stop()
        database.close()

    def headers(self, user: tuple[str, str]) -> dict[str, str]:
        if not self.auth:
            return {}
        token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

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


def produce_rate(stack: Stack, messages: int) -> float:
    from confluent_kafka import Producer

    producer = Producer({**stack.kafka_config(), "acks": 1, "linger.ms": 5})
    producer.list_topics(timeout=10)  # connected and authenticated before the clock starts
    payload = b"x" * 100
    started = time.perf_counter()
    for _ in range(messages):
        while True:
            try:
                producer.produce(TOPIC, payload)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(60)
    return messages / (time.perf_counter() - started)


def read_rate(stack: Stack, seconds: float, threads: int = 4) -> float:
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
    started = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="charter-bench-auth-"))
    stacks: dict[str, Stack] = {}
    try:
        stacks["off"] = Stack(root, auth=False)
        stacks["on"] = Stack(root, auth=True)
        results: dict[str, dict[str, list[float]]] = {
            name: {"produce": [], "read": []} for name in stacks
        }
        for stack in stacks.values():  # warm-up, not counted
            produce_rate(stack, options.messages // 10)
            read_rate(stack, 0.5)
        for round_index in range(options.rounds):
            order = ["off", "on"] if round_index % 2 == 0 else ["on", "off"]
            for name in order:
                results[name]["produce"].append(produce_rate(stacks[name], options.messages))
                results[name]["read"].append(read_rate(stacks[name], options.seconds))
            print(
                f"round {round_index + 1}: "
                + ", ".join(
                    f"{name} produce {results[name]['produce'][-1]:.0f} msg/s "
                    f"read {results[name]['read'][-1]:.0f} req/s"
                    for name in ("off", "on")
                ),
                flush=True,
            )
        for metric, unit in (("produce", " msg/s"), ("read", " req/s")):
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
