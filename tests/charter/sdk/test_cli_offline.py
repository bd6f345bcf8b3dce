"""Client commands without a platform: global options, env vars next to server settings, bad input."""

from __future__ import annotations

import datetime

import pytest
from click.shell_completion import BashComplete
from click.testing import CliRunner

from charter import cli_client
from charter.cli import main
from charter.cli_client import ClientOptions
from charter.cli_policy import _typed
from charter.config import load_settings
from charter.sdk import consumer as consumer_module


def test_client_env_vars_do_not_upset_server_settings():
    environ = {
        "CHARTER_REGISTRY_URL": "http://registry:8081",
        "CHARTER_BOOTSTRAP_SERVERS": "broker:9092",
        "CHARTER_OUTPUT": "json",
        "CHARTER_USERNAME": "alice",
        "CHARTER_PASSWORD": "secret",
        "CHARTER_API_KEY": "key",
        "CHARTER_SASL_MECHANISM": "SCRAM-SHA-256",
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
        "group",
        "policy",
        "--username",
        "--api-key",
    ):
        assert word in result.output


def _completions(args: list[str], incomplete: str) -> list[str]:
    complete = BashComplete(main, {}, "charter", "_CHARTER_COMPLETE")
    return [item.value for item in complete.get_completions(args, incomplete)]


def test_completion_covers_the_new_commands_and_options():
    assert {"--username", "--password", "--api-key", "--sasl-mechanism"} <= set(
        _completions([], "--")
    )
    assert {"group", "policy", "catalog"} <= set(_completions([], ""))
    assert set(_completions(["group"], "")) == {"list", "describe"}
    assert set(_completions(["policy"], "")) == {"list", "enable", "disable"}
    assert "search" in _completions(["catalog"], "")
    assert "--tag" in _completions(["catalog", "search"], "--")
    assert set(_completions(["catalog", "search", "--type"], "")) == {
        "topic",
        "subject",
        "field",
        "term",
    }


def test_credentials_become_basic_auth_and_sasl():
    options = ClientOptions(username="alice", password="secret", sasl_mechanism="SCRAM-SHA-512")
    assert options.kafka_config() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": "secret",
    }
    assert options.registry()._headers["Authorization"] == "Basic YWxpY2U6c2VjcmV0"
    keyed = ClientOptions(api_key="k-1")
    assert keyed.kafka_config() == {}
    assert keyed.platform()._headers["Authorization"] == "Bearer k-1"
    assert "Authorization" not in ClientOptions().registry()._headers


def test_a_username_without_password_is_a_usage_error():
    result = CliRunner().invoke(
        main,
        ["--registry-url", "http://127.0.0.1:1", "--username", "alice", "policy", "list"],
        env={"CHARTER_PASSWORD": None},
    )
    assert result.exit_code == 2
    assert "--username needs --password" in result.output


def test_unreachable_platform_is_one_line_for_the_new_commands():
    for command in (["policy", "list"], ["catalog", "search", "x"]):
        result = CliRunner().invoke(main, ["--registry-url", "http://127.0.0.1:1", *command])
        assert result.exit_code == 1, command
        assert result.output.startswith("Error: Charter http://127.0.0.1:1 unreachable")


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("5", "integer", 5),
        ("five", "integer", "five"),  # sent as is: the server's error names the param
        ("a, b,c", "string-list", ["a", "b", "c"]),
        ('["a,b"]', "string-list", ["a,b"]),
        ("^orders-", "regex", "^orders-"),
    ],
)
def test_policy_params_take_their_declared_type(text, kind, expected):
    assert _typed("p", text, {"p": kind}) == expected


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (datetime.timedelta(seconds=3), '"3s"'),
        (datetime.timedelta(seconds=-1, milliseconds=-500), '"-1.500s"'),
        (datetime.timedelta(microseconds=1), '"0.000001s"'),
    ],
)
def test_durations_print_as_proto3_json_does(delta: datetime.timedelta, text: str) -> None:
    assert cli_client.to_json(delta) == text


def test_consume_from_an_unreachable_cluster_is_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(consumer_module, "_METADATA_TIMEOUT_S", 0.5)
    result = CliRunner().invoke(
        main,
        ["--bootstrap-server", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1"]
        + ["consume", "orders", "--timeout", "0.1"],
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot use the Kafka cluster at 127.0.0.1:1")
    assert "Traceback" not in result.output


def test_an_unreachable_registry_is_not_a_validation_error():
    from charter import Producer
    from charter.sdk import RegistryClientError

    producer = Producer("127.0.0.1:1", "http://127.0.0.1:1")
    with pytest.raises(RegistryClientError) as raised:  # a bad record would be a ValueError
        producer.produce("orders", {"id": 1}, schema={"type": "record", "name": "O", "fields": []})
    assert not isinstance(raised.value, ValueError)
    result = CliRunner().invoke(
        main,
        ["--bootstrap-server", "127.0.0.1:1", "--registry-url", "http://127.0.0.1:1"]
        + ["produce", "orders"],
        input='{"id": 1}\n',
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: subject 'orders-value': schema registry")


def test_schema_check_shows_the_reasons_and_names_the_version_and_level() -> None:
    from charter.cli_schema import _split_messages

    reasons, context = _split_messages(
        [
            "{errorType:'TYPE_CHANGED', description:'...'}",
            "{oldSchemaVersion: 3}",
            '{oldSchema: \'{"type":"object"}\'}',
            "{compatibility: 'BACKWARD'}",
        ]
    )
    assert reasons == ["{errorType:'TYPE_CHANGED', description:'...'}"]
    assert context["oldSchemaVersion"] == "3" and context["compatibility"] == "'BACKWARD'"
