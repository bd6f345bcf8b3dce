"""The client commands against ``charter up --auth``: credentials from the environment or flags.

HTTP calls carry Basic auth (or a Bearer API key), Kafka connections SASL
PLAIN/SCRAM; without credentials, or with a user lacking the role, each
command ends in one line and a non-zero exit code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from charter.cli import main
from tests.charter.processes import CharterProcess
from tests.registry.server_process import REPO_ROOT
from tests.security.stack import ADMIN_PASSWORD, PASSWORDS, secured_up

ORDER = {
    "type": "record",
    "name": "Order",
    "fields": [{"name": "id", "type": "long"}, {"name": "customer", "type": "string"}],
}


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with secured_up(tmp_path_factory.mktemp("cli-auth") / "data") as process:
        yield process


def invoke(charter: CharterProcess, *args: str, env: dict[str, str] | None = None, input=None):
    prefix = ["--bootstrap-server", charter.bootstrap, "--registry-url", charter.url]
    clean = {name: None for name in os.environ if name.startswith("CHARTER_")}
    return CliRunner().invoke(main, [*prefix, *args], env={**clean, **(env or {})}, input=input)


def as_user(name: str, mechanism: str = "PLAIN") -> dict[str, str]:
    return {
        "CHARTER_USERNAME": name,
        "CHARTER_PASSWORD": PASSWORDS[name],
        "CHARTER_SASL_MECHANISM": mechanism,
    }


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "order.avsc"
    path.write_text(json.dumps(ORDER))
    return path


def test_without_credentials_every_command_is_refused_in_one_line(charter):
    for command in (["schema", "list"], ["policy", "list"], ["catalog", "search", "x"]):
        result = invoke(charter, *command)
        assert result.exit_code == 1, (command, result.output)
        assert result.output.startswith("Error: ") and "(HTTP 401)" in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256"])
def test_a_user_produces_and_consumes_with_its_credentials(charter, schema_file, mechanism):
    topic = f"orders-{uuid.uuid4().hex[:8]}"
    alice = as_user("alice", mechanism)
    created = invoke(
        charter, "topic", "create", topic, "--schema-file", str(schema_file), env=alice
    )
    assert created.exit_code == 0, created.output
    lines = "".join(json.dumps({"id": n, "customer": "c"}) + "\n" for n in range(3))
    produced = invoke(charter, "produce", topic, input=lines, env=alice)
    assert produced.exit_code == 0, produced.output
    group = f"bob-{topic}"
    consumed = invoke(
        charter, "consume", topic, "--group", group, "--from-beginning", "--max-messages", "3",
        "--timeout", "20", env=as_user("bob", mechanism),
    )  # fmt: skip
    assert consumed.exit_code == 0, consumed.output
    assert sorted(json.loads(line)["id"] for line in consumed.output.splitlines()) == [0, 1, 2]
    described = invoke(charter, "-o", "json", "group", "describe", group, env=as_user("admin"))
    assert described.exit_code == 0, described.output
    assert {p["committed"] for p in json.loads(described.output)["partitions"]} == {3}


def test_a_user_without_the_role_is_refused(charter, schema_file):
    mallory = as_user("mallory")
    topic = f"orders-{uuid.uuid4().hex[:8]}"
    refused = invoke(charter, "schema", "register", f"{topic}-value", str(schema_file), env=mallory)
    assert refused.exit_code == 1 and "(HTTP 403)" in refused.output
    policy = invoke(charter, "policy", "enable", "topic-naming", env=mallory)
    assert policy.exit_code == 1 and "(HTTP 403)" in policy.output
    wrong = invoke(charter, "policy", "list", env={**mallory, "CHARTER_PASSWORD": "wrong"})
    assert wrong.exit_code == 1 and "(HTTP 401)" in wrong.output


def test_consume_with_a_wrong_password_fails_at_once_in_one_line(charter):
    wrong = {**as_user("bob"), "CHARTER_PASSWORD": "wrong"}
    consumed = invoke(charter, "consume", "orders", "--group", "g-wrong", env=wrong)
    assert consumed.exit_code == 1, consumed.output
    assert consumed.output.count("\n") == 1 and "Traceback" not in consumed.output
    assert f"cannot use the Kafka cluster at {charter.bootstrap}" in consumed.output
    assert "Authentication" in consumed.output or "authentication" in consumed.output


def test_admin_flags_and_an_api_key_as_a_subprocess(charter):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environment.update(
        CHARTER_BOOTSTRAP_SERVERS=charter.bootstrap,
        CHARTER_REGISTRY_URL=charter.url,
        PYTHONPATH=str(REPO_ROOT),
    )

    def charter_command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "charter", "-o", "json", *args],
            capture_output=True, text=True, env=environment, timeout=120,
        )  # fmt: skip

    admin = ("--username", "admin", "--password", ADMIN_PASSWORD)
    groups = charter_command(*admin, "group", "list")
    assert groups.returncode == 0, groups.stderr
    disabled = charter_command(*admin, "policy", "disable", "topic-naming")
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads(disabled.stdout)["enabled"] is False

    key = charter_command_key(charter, environment)
    for _ in range(50):  # the HTTP tier learns of the new key from the event stream
        searched = charter_command("--api-key", key, "catalog", "search", "orders")
        if "(HTTP 401)" not in searched.stderr:
            break
        time.sleep(0.2)
    assert searched.returncode == 0, searched.stderr
    assert "results" in json.loads(searched.stdout)
    no_sasl = charter_command("group", "list")  # Kafka without SASL: refused, one line
    assert no_sasl.returncode == 1 and "Traceback" not in no_sasl.stderr
    assert "cannot use the cluster" in no_sasl.stderr  # at once, not after a 30 s timeout


def charter_command_key(charter: CharterProcess, environment: dict[str, str]) -> str:
    """A fresh API key of ``admin`` (``charter apikey create`` on the platform's database)."""
    created = subprocess.run(
        [sys.executable, "-m", "charter", "apikey", "create", "--user", "admin",
         "--data-dir", str(charter.data_dir)],
        capture_output=True, text=True, env=environment, timeout=120, check=True,
    )  # fmt: skip
    document = json.loads(created.stdout)
    return str(document["secret"])


def test_dek_registry_permissions(charter):
    """KEKs are the cluster managers'; a subject's writers register its DEKs, readers read them."""
    import base64

    import requests

    base = f"{charter.url}/dek-registry/v1"
    kek = {"name": f"kek-{uuid.uuid4().hex[:8]}", "kmsType": "local-kms", "kmsKeyId": "k"}
    subject = f"orders-{uuid.uuid4().hex[:8]}-value"
    dek = {"encryptedKeyMaterial": base64.b64encode(b"k" * 32).decode()}

    def call(method: str, path: str, user: str, body: dict | None = None) -> requests.Response:
        return requests.request(
            method, base + path, json=body, auth=(user, PASSWORDS[user]), timeout=10
        )

    assert call("POST", "/keks", "alice", kek).status_code == 403
    assert call("POST", "/keks", "admin", kek).status_code == 200
    assert call("GET", f"/keks/{kek['name']}", "bob").status_code == 200
    assert call("POST", f"/keks/{kek['name']}/deks/{subject}", "mallory", dek).status_code == 403
    assert call("POST", f"/keks/{kek['name']}/deks/{subject}", "bob", dek).status_code == 403
    assert call("POST", f"/keks/{kek['name']}/deks/{subject}", "dave", dek).status_code == 200
    assert call("GET", f"/keks/{kek['name']}/deks/{subject}/versions/1", "bob").status_code == 200
    assert call("GET", f"/keks/{kek['name']}/deks/{subject}", "mallory").status_code == 403
    no_credentials = requests.get(f"{base}/keks/{kek['name']}", timeout=10)
    assert no_credentials.status_code == 401
