"""``charter user|apikey|rolebinding|acl`` and the loopback rule, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from charter.cli import main
from charter.compose import open_migrated_database
from charter.config import Settings
from charter.security import security_service
from governance.security.acls import Acl
from governance.security.kafka_admin import KafkaSecurityAdmin


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)


def test_users_keys_and_bindings_from_the_cli(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    created = run("user", "create", "alice", "--password-stdin", *data, stdin="alice-secret\n")
    assert created.exit_code == 0, created.output
    assert "alice-secret" not in created.output
    again = run("user", "create", "alice", "--password-stdin", *data, stdin="alice-secret\n")
    assert again.exit_code == 1 and "already exists" in again.output
    assert [u["name"] for u in json.loads(run("user", "list", *data).output)] == ["alice"]

    binding = run(
        "rolebinding",
        "create",
        "--principal",
        "User:alice",
        "--role",
        "DeveloperRead",
        "--resource",
        "Topic:orders-*",
        *data,
    )
    assert binding.exit_code == 0, binding.output
    binding_id = json.loads(binding.output)["id"]
    listed = json.loads(run("rolebinding", "list", *data).output)
    assert listed == [
        {
            "id": binding_id,
            "principal": "User:alice",
            "role": "DeveloperRead",
            "resource": "Topic:orders-*",
        }
    ]
    bad = run(
        "rolebinding",
        "create",
        "--principal",
        "User:alice",
        "--role",
        "Nope",
        "--resource",
        "Topic:x",
        *data,
    )
    assert bad.exit_code == 1 and "role" in bad.output

    key = json.loads(run("apikey", "create", "--user", "alice", *data).output)
    assert key["secret"].startswith(key["key"] + ".")
    assert [k["key"] for k in json.loads(run("apikey", "list", *data).output)] == [key["key"]]
    assert run("apikey", "delete", key["key"], *data).exit_code == 0

    assert run("rolebinding", "delete", str(binding_id), *data).exit_code == 0
    assert run("rolebinding", "delete", str(binding_id), *data).exit_code == 1
    assert run("user", "delete", "alice", *data).exit_code == 0
    assert json.loads(run("user", "list", *data).output) == []


def test_acl_entries_listed_and_deleted_from_the_cli(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    settings = Settings(data_dir=tmp_path)
    database = open_migrated_database(settings)
    service = security_service(settings, database)
    KafkaSecurityAdmin(service).create_acls(
        [Acl(2, "orders", 3, "User:*", "*", 3, 2), Acl(2, "x", 3, "User:alice", "*", 3, 3)],
        actor="test",
    )
    service.audit.stop()
    service.authorizer.stop()
    database.close()
    listed = json.loads(run("acl", "list", *data).output)
    assert [(e["principal"], e["resourceName"], e["permission"]) for e in listed] == [
        ("User:*", "orders", "DENY")
    ]  # the ALLOW READ is a role binding
    assert [b["role"] for b in json.loads(run("rolebinding", "list", *data).output)] == [
        "DeveloperRead"
    ]
    assert json.loads(run("acl", "list", "--principal", "User:alice", *data).output) == []
    assert run("acl", "delete", str(listed[0]["id"]), *data).exit_code == 0
    assert run("acl", "delete", str(listed[0]["id"]), *data).exit_code == 1
    assert json.loads(run("acl", "list", *data).output) == []


def test_a_non_loopback_bind_without_auth_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["up", "--data-dir", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "refusing to listen on 0.0.0.0 without authentication" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(
        main, ["serve", "broker", "--data-dir", str(tmp_path), "--host", "0.0.0.0"]
    )
    assert result.exit_code != 0 and "--auth" in result.output
