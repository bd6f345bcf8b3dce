"""``charter`` and ``charter.sdk`` export what their ``__all__`` says, and the servers do not load the SDK."""

from __future__ import annotations

import subprocess
import sys

import charter
import charter.sdk


def test_exports():
    for module in (charter, charter.sdk):
        for name in module.__all__:
            assert getattr(module, name) is not None
    assert issubclass(charter.ValidationError, ValueError)


def test_importing_the_cli_does_not_load_librdkafka():
    code = "import sys, charter.cli; print('confluent_kafka' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_librdkafka_settings_from_keyword_arguments() -> None:
    from charter.sdk.producer import librdkafka_config

    config = librdkafka_config(
        "b:9", {"linger_ms": 5, "error_cb": print, "stats_cb": print, "log_level": 3}
    )
    assert config == {
        "bootstrap.servers": "b:9",
        "linger.ms": 5,
        "error_cb": print,
        "stats_cb": print,
        "log_level": 3,
    }
