"""Produce throughput over TLS listeners vs PLAINTEXT, side by side on one broker in one run.

Run as ``python bench/tls.py`` (or ``charter bench tls``).

One ``charter serve broker --auth`` with three listeners: SASL_PLAINTEXT and
SASL_SSL (SCRAM-SHA-256, the same user) and SSL with a client certificate
(mTLS principal). Rounds alternate between listeners (one loaded at a time): a
confluent-kafka producer sends ``--messages`` records of ``--size`` bytes
(acks=1). Prints per-round figures, medians with ranges, and the ratios
against SASL_PLAINTEXT (what TLS costs with the same authentication).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from support import free_port, produce_seconds, spread  # noqa: E402 - bench/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # before bench/, whose catalog.py would shadow the package

TOPIC = "bench-tls"
WRITER = ("writer", "writer-password")


class Broker:
    def __init__(self, root: Path) -> None:
        from tests.tls.certs import make_pki

        self.pki = make_pki(root / "pki", clients=("writer",))
        self.data_dir = root / "data"
        self.ports = {name: free_port() for name in ("SASL_PLAINTEXT", "SSL", "SASL_SSL")}
        self._seed()
        listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in self.ports.items())
        args = [sys.executable, "-m", "charter", "serve", "broker", "--auth"]
        args += ["--data-dir", str(self.data_dir), "--listeners", listeners]
        args += ["--tls-cert", str(self.pki.server_cert), "--tls-key", str(self.pki.server_key)]
        args += ["--tls-ca", str(self.pki.ca), "--tls-client-auth", "requested"]
        args += ["--log-level", "WARNING"]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")])
        )
        environ["CHARTER_VALUE_SCHEMA_VALIDATION"] = "none"
        environ["CHARTER_SSL_PRINCIPAL_MAPPING_RULES"] = "RULE:^CN=(.*?),.*$/$1/"
        self.process = subprocess.Popen(args, env=environ, start_new_session=True)
        try:
            self._wait_ready()
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
        try:
            service.bootstrap_admin("bench-admin-password")
            service.create_user(*WRITER, actor="bench")
            service.create_binding("User:writer", "ResourceOwner", f"Topic:{TOPIC}", actor="bench")
        finally:
            service.audit.stop()
            service.authorizer.stop()
            database.close()

    def config(self, listener: str) -> dict[str, Any]:
        base: dict[str, Any] = {"bootstrap.servers": f"127.0.0.1:{self.ports[listener]}"}
        if listener == "SSL":
            cert, key = self.pki.client("writer")
            base.update(
                {
                    "security.protocol": "SSL",
                    "ssl.ca.location": str(self.pki.ca),
                    "ssl.certificate.location": str(cert),
                    "ssl.key.location": str(key),
                }
            )
        else:
            base.update(
                {
                    "security.protocol": listener,
                    "sasl.mechanism": "SCRAM-SHA-256",
                    "sasl.username": WRITER[0],
                    "sasl.password": WRITER[1],
                }
            )
            if listener == "SASL_SSL":
                base["ssl.ca.location"] = str(self.pki.ca)
        return base

    def _wait_ready(self) -> None:
        from confluent_kafka.admin import AdminClient, NewTopic

        deadline = time.monotonic() + 60
        while True:  # the listener accepts first (no client log noise while it starts)
            try:
                socket.create_connection(("127.0.0.1", self.ports["SASL_PLAINTEXT"]), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.2)
        while True:
            try:
                admin = AdminClient(self.config("SASL_PLAINTEXT"))
                admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(10)
                return
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


def produce_rate(config: dict[str, Any], messages: int, size: int) -> float:
    elapsed, _ = produce_seconds(config, TOPIC, messages, b"x" * size)
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="charter-bench-tls-"))
    broker = Broker(root)
    rates: dict[str, list[float]] = {name: [] for name in broker.ports}
    try:
        for listener in broker.ports:  # warm-up, not counted: first connections, page cache
            produce_rate(broker.config(listener), options.messages // 5, options.size)
        for round_number in range(options.rounds):
            for listener in broker.ports:
                rate = produce_rate(broker.config(listener), options.messages, options.size)
                rates[listener].append(rate)
                print(f"round {round_number + 1} {listener}: {rate:,.0f} msg/s", flush=True)
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"\n{options.messages} records of {options.size} bytes, acks=1, per round")
    for listener, values in rates.items():
        print(f"{listener:>10}: {spread(values, 0, ' msg/s')}")
    for listener in ("SSL", "SASL_SSL"):
        ratios = [a / b for a, b in zip(rates[listener], rates["SASL_PLAINTEXT"], strict=True)]
        print(f"{listener}/SASL_PLAINTEXT: {spread(ratios)}")


if __name__ == "__main__":
    main()
