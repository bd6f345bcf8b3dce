"""Client commands without a platform: global options, env vars next to server settings, bad input."""

from __future__ import annotations

from click.testing import CliRunner

from charter.cli import main
from charter.config import load_settings


def test_client_env_vars_do_not_upset_server_settings():
    environ = {
        "CHARTER_REGISTRY_URL": "http://registry:8081",
        "CHARTER_BOOTSTRAP_SERVERS": "broker:9092",
        "CHARTER_OUTPUT": "json",
        "CHARTER_HTTP_PORT": "18081",
    }
    assert load_settings(environ=environ).http_port == 18081


def test_a_line_that_is_not_json_stops_before_any_network_call():
    result = CliRunner().invoke(
        main,
        [
            "--bootstrap-server",
            "127.0.0.1:1",
            "--registry-url",
            "http://127.0.0.1:1",
            "produce",
            "t",
        ],
        input="\n[1, 2]\n",
    )
    assert result.exit_code == 1
    assert result.output.strip() == "Error: line 2: expected a JSON object"


def test_unreachable_registry_is_one_line():
    result = CliRunner().invoke(main, ["--registry-url", "http://127.0.0.1:1", "schema", "list"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: schema registry http://127.0.0.1:1 unreachable")


def test_client_commands_are_listed_with_global_options():
    result = CliRunner().invoke(main, ["--help"])
    for word in (
        "--bootstrap-server",
        "--registry-url",
        "--output",
        "schema",
        "topic",
        "produce",
        "consume",
    ):
        assert word in result.output
    assert "group" not in result.output.split("Commands:")[1]  # consumer groups: not built here
