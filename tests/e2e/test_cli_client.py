"""The client commands against ``charter up``: through click's runner and as a user runs them.

``schema``, ``topic``, ``produce`` and ``consume``; exit codes, one-line errors
without tracebacks, JSON output, no progress bar when stderr is not a terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from charter.cli import main
from tests.charter.processes import CharterProcess, running_up
from tests.registry.server_process import REPO_ROOT

ORDER = {
    "type": "record",
    "name": "Order",
    "fields": [{"name": "id", "type": "long"}, {"name": "customer", "type": "string"}],
}
ORDER_V2 = {
    "type": "record",
    "name": "Order",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
INCOMPATIBLE = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("cli") / "data") as process:
        yield process


@pytest.fixture
def run(charter: CharterProcess):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        prefix = ["--bootstrap-server", charter.bootstrap, "--registry-url", charter.url]
        return runner.invoke(main, [*prefix, *args], input=input)

    return invoke


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, schema in (("v1", ORDER), ("v2", ORDER_V2), ("bad", INCOMPATIBLE)):
        paths[name] = tmp_path / f"{name}.avsc"
        paths[name].write_text(json.dumps(schema))
    return paths


def subject() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def test_schema_register_list_show_diff_check(run, files):
    name = subject()
    first = run("schema", "register", f"{name}-value", str(files["v1"]))
    assert first.exit_code == 0, first.output
    assert first.output.strip().isdigit()
    second = run("schema", "register", f"{name}-value", str(files["v2"]))
    assert int(second.output) != int(first.output)

    listed = json.loads(run("--output", "json", "schema", "list", "--prefix", name).output)
    assert listed == [
        {"subject": f"{name}-value", "version": 2, "id": int(second.output), "schemaType": "AVRO"}
    ]
    shown = json.loads(
        run("-o", "json", "schema", "show", f"{name}-value", "--version", "1").output
    )
    assert json.loads(shown["schema"]) == ORDER
    diff = run("schema", "diff", f"{name}-value")
    assert diff.exit_code == 0 and '+      "name": "note",' in diff.output

    assert run("schema", "check", f"{name}-value", str(files["v2"])).exit_code == 0
    incompatible = run("schema", "check", f"{name}-value", str(files["bad"]))
    assert incompatible.exit_code == 1 and "NOT compatible" in incompatible.output


def test_errors_are_one_line(run, files):
    missing = run("schema", "show", "no-such-subject")
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: Subject 'no-such-subject' not found")
    assert "Traceback" not in missing.output


def test_topic_create_describe_and_records(run, files):
    topic = subject()
    created = run(
        "topic", "create", topic, "--partitions", "2", "--schema-file", str(files["v1"]),
        "--validation", "id",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    described = json.loads(run("-o", "json", "topic", "describe", topic).output)
    assert described["partitions"] == 2 and described["validation"] == "id"
    listed = json.loads(run("-o", "json", "topic", "list").output)
    assert {"topic": topic, "partitions": 2} in listed

    lines = "\n".join(json.dumps({"id": n, "customer": f"c{n}"}) for n in range(3)) + "\n"
    produced = run("produce", topic, "--key-field", "customer", input=lines)
    assert produced.exit_code == 0, produced.output
    consumed = run(
        "consume", topic, "--from-beginning", "--max-messages", "3", "--timeout", "20", "--metadata"
    )
    assert consumed.exit_code == 0, consumed.output
    records = [json.loads(line) for line in consumed.output.splitlines()]
    assert sorted(r["value"]["id"] for r in records) == [0, 1, 2]
    assert {r["key"] for r in records} == {"c0", "c1", "c2"}


def test_produce_stops_at_the_first_bad_line(run, files):
    topic = subject()
    lines = (
        '{"id": 1, "customer": "a"}\n\n{"id": "two", "customer": "b"}\n{"id": 3, "customer": "c"}\n'
    )
    produced = run("produce", topic, "--schema-file", str(files["v1"]), input=lines)
    assert produced.exit_code == 1
    assert "line 3: #/id: expected long, got str 'two'" in produced.output
    not_json = run("produce", topic, input='{"id": 1, "customer": "a"}\n{oops\n')
    assert not_json.exit_code == 1 and "line 2: not JSON" in not_json.output
    consumed = run("consume", topic, "--from-beginning", "--timeout", "5")
    assert [json.loads(line) for line in consumed.output.splitlines()] == [
        {"id": 1, "customer": "a"},
        {"id": 1, "customer": "a"},
    ]


def test_as_a_subprocess(charter, files, tmp_path):
    topic = subject()
    data = tmp_path / "records.jsonl"
    data.write_text(
        "".join(json.dumps({"id": n, "customer": "x"}) + "\n" for n in range(200)) + '{"id": 200}\n'
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environment.update(
        CHARTER_BOOTSTRAP_SERVERS=charter.bootstrap,
        CHARTER_REGISTRY_URL=charter.url,
        PYTHONPATH=str(REPO_ROOT),
    )
    command = [sys.executable, "-m", "charter", "produce", topic, "--schema-file", str(files["v1"])]
    result = subprocess.run(
        [*command, "--file", str(data)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: line 201: #/customer: missing required field"
    assert "Traceback" not in result.stderr and "records/s" not in result.stderr

    ok = subprocess.run(
        [*command, "--file", str(data.with_name("ok.jsonl"))],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 2 and "does not exist" in ok.stderr  # a usage error

    consumed = subprocess.run(
        [sys.executable, "-m", "charter", "consume", topic, "--from-beginning",
         "--max-messages", "200", "--timeout", "20"],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr
    assert len(consumed.stdout.splitlines()) == 200


def test_completion_script():
    result = CliRunner().invoke(main, ["completion", "bash"])
    assert result.exit_code == 0 and "_CHARTER_COMPLETE" in result.output
