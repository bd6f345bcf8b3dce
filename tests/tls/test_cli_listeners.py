"""``charter`` with several Kafka listeners, as a user runs it: ready lines, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charter.processes import free_port, launch
from tests.charter.test_cli import assert_one_line_error, port_in_use, run_charter
from tests.tls.certs import make_pki


def test_a_taken_port_of_any_listener_is_one_line(tmp_path: Path) -> None:
    with port_in_use() as port:
        listeners = f"PLAINTEXT://127.0.0.1:{free_port()},INTERNAL://127.0.0.1:{port}"
        result = run_charter(
            "serve", "broker", "--data-dir", str(tmp_path / "data"), "--listeners", listeners,
            cwd=tmp_path, environment={"CHARTER_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT"},
        )  # fmt: skip
    assert_one_line_error(
        result, f"Kafka listener INTERNAL port {port} on 127.0.0.1 is already in use"
    )


def test_a_sasl_listener_without_auth_is_refused(tmp_path: Path) -> None:
    result = run_charter(
        "up", "--data-dir", str(tmp_path / "data"),
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{free_port()}",
        cwd=tmp_path,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert "listener SASL_PLAINTEXT uses SASL_PLAINTEXT: turn on authentication" in output


@pytest.mark.slow
def test_serve_broker_with_plaintext_and_ssl_listeners(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", clients=())
    plain, secure = free_port(), free_port()
    charter = launch(
        "serve broker",
        tmp_path / "data",
        kafka_port=plain,
        extra_args=(
            "--listeners", f"PLAINTEXT://127.0.0.1:{plain},SSL://127.0.0.1:{secure}",
            "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
        ),
    )  # fmt: skip
    try:
        charter.wait_for(
            f"Kafka listener ready on 127.0.0.1:{plain}\n",
            f"Kafka listener ready on 127.0.0.1:{secure} (SSL)",
        )
    finally:
        charter.stop()
