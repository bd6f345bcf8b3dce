"""The client commands against ``charter up``: through click's runner and as a user runs them.

``schema``, ``topic``, ``produce``, ``consume``, ``catalog search``, ``policy``
and ``group``; exit codes, one-line errors without tracebacks, JSON output, no
progress bar when stderr is not a terminal.
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

from charter import Consumer, Producer
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


def _until(check, what: str, attempts: int = 100):
    """``check()``'s first truthy answer, polled (the catalog indexes from the event stream)."""
    for _ in range(attempts):
        answer = check()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"never saw {what}")


def test_catalog_search(run, files):
    name = subject()
    field = f"carrier_{name[4:]}"  # an Avro name: no dash
    documented = {
        "type": "record",
        "name": "Shipment",
        "doc": f"parcels of {name}",
        "fields": [{"name": field, "type": "string", "doc": "who carries it"}],
    }
    schema_file = files["v1"].with_name("shipment.avsc")
    schema_file.write_text(json.dumps(documented))
    assert run("schema", "register", f"{name}-value", str(schema_file)).exit_code == 0

    def found():
        result = run("-o", "json", "catalog", "search", field, "--type", "field")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["results"]

    results = _until(found, "the field in the catalog")
    assert [(r["type"], r["qualifiedName"]) for r in results] == [
        ("field", f"field:{name}-value:{field}")
    ]
    table = run("catalog", "search", name)
    assert table.exit_code == 0, table.output
    assert "subject" in table.output and "field" in table.output
    none = json.loads(run("-o", "json", "catalog", "search", name, "--tag", "NO-SUCH").output)
    assert none["total"] == 0 and none["results"] == []


def test_policy_list_enable_disable(run, files):
    listed = json.loads(run("-o", "json", "policy", "list").output)
    assert "max-record-bytes" in {state["name"] for state in listed}
    table = run("policy", "list")
    assert table.exit_code == 0 and "required-fields" in table.output

    enabled = run("-o", "json", "policy", "enable", "required-fields", "--param", "fields=id,sku")
    assert enabled.exit_code == 0, enabled.output
    assert json.loads(enabled.output)["params"] == {"fields": ["id", "sku"]}
    assert json.loads(enabled.output)["enabled"] is True
    try:
        refused = run("schema", "register", f"{subject()}-value", str(files["v1"]))
        assert refused.exit_code == 1 and "sku" in refused.output
    finally:
        disabled = run("policy", "disable", "required-fields")
    assert (
        disabled.exit_code == 0 and "required-fields disabled (fields=id, sku)" in disabled.output
    )
    assert run("schema", "register", f"{subject()}-value", str(files["v1"])).exit_code == 0

    bad = run("policy", "enable", "max-record-bytes", "--param", "max_bytes=lots")
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "param 'max_bytes' must be an integer" in bad.output
    unknown = run("policy", "disable", "no-such-policy")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("Error: Policy 'no-such-policy' not found")


@pytest.mark.parametrize("protocol", ["classic", "consumer"])  # KIP-848 groups too
def test_group_list_and_describe_with_lag(charter, run, files, protocol):
    topic = subject()
    group = f"g-{topic}"
    assert run("topic", "create", topic, "--partitions", "2").exit_code == 0
    with Producer(charter.bootstrap, registry_url=charter.url) as producer:
        for number in range(6):
            producer.produce(topic, {"id": number, "customer": "c"}, schema=ORDER, partition=0)
        producer.produce(topic, {"id": 6, "customer": "c"}, schema=ORDER, partition=1)
    consumer = Consumer(
        charter.bootstrap,
        registry_url=charter.url,
        topics=[topic],
        group_id=group,
        auto_offset_reset="earliest",
        client_id="lag-test",
        group_protocol=protocol,
    )
    try:
        read = [_until(lambda: consumer.poll(1.0), "a record") for _ in range(2)]
        consumer.commit()
        # The member stays in the group while the command runs.
        described = json.loads(run("-o", "json", "group", "describe", group).output)
        listed = json.loads(run("-o", "json", "group", "list").output)
    finally:
        consumer.close()
    assert {"group": group, "state": "Stable", "type": protocol} in listed
    assert described["state"] == "Stable"
    [member] = described["members"]
    assert member["client_id"] == "lag-test"
    assert sorted(a["partition"] for a in member["assignment"]) == [0, 1]
    by_partition = {p["partition"]: p for p in described["partitions"]}
    committed = {0: 0, 1: 0}
    for message in read:
        committed[message.partition] = message.offset + 1
    for partition, end in ((0, 6), (1, 1)):
        row = by_partition[partition]
        assert row["high_watermark"] == end
        assert row["committed"] == (committed[partition] or None)
        expected_lag = end - committed[partition] if committed[partition] else None
        assert row["lag"] == expected_lag
        assert row["member_id"] == member["member_id"]
    assert described["total_lag"] == sum(p["lag"] or 0 for p in described["partitions"])

    after = run("group", "describe", group)  # the member left: Empty, offsets and lag remain
    assert after.exit_code == 0 and "Empty" in after.output and topic in after.output
    missing = run("group", "describe", f"no-{group}")
    assert missing.exit_code == 1
    assert missing.output.strip() == f"Error: consumer group 'no-{group}' does not exist"


def test_new_commands_as_a_subprocess(charter):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environment.update(
        CHARTER_BOOTSTRAP_SERVERS=charter.bootstrap,
        CHARTER_REGISTRY_URL=charter.url,
        CHARTER_OUTPUT="json",
        PYTHONPATH=str(REPO_ROOT),
    )

    def charter_command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "charter", *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )

    groups = charter_command("group", "list")
    assert groups.returncode == 0, groups.stderr
    assert isinstance(json.loads(groups.stdout), list)
    policies = charter_command("policy", "list")
    assert policies.returncode == 0 and json.loads(policies.stdout)
    search = charter_command("catalog", "search", "anything")
    assert search.returncode == 0 and "results" in json.loads(search.stdout)
    refused = charter_command("policy", "enable", "topic-naming", "--param", "pattern=(")
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: policy topic-naming: param 'pattern'")
    assert "Traceback" not in refused.stderr
    missing = charter_command("group", "describe", "no-such-group")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr


def test_schema_register_with_references(run, tmp_path):
    name = subject()
    address = {"type": "record", "name": "Address", "fields": [{"name": "zip", "type": "string"}]}
    customer = {
        "type": "record",
        "name": "Customer",
        "fields": [{"name": "home", "type": "Address"}],
    }
    (tmp_path / "address.avsc").write_text(json.dumps(address))
    (tmp_path / "customer.avsc").write_text(json.dumps(customer))
    assert (
        run("schema", "register", f"{name}-address", str(tmp_path / "address.avsc")).exit_code == 0
    )
    unresolved = run("schema", "register", f"{name}-value", str(tmp_path / "customer.avsc"))
    assert unresolved.exit_code == 1 and "Address" in unresolved.output
    registered = run(
        "schema", "register", f"{name}-value", str(tmp_path / "customer.avsc"),
        "--reference", f"Address={name}-address:1",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    shown = json.loads(run("-o", "json", "schema", "show", f"{name}-value").output)
    assert shown["references"] == [{"name": "Address", "subject": f"{name}-address", "version": 1}]
    produced = run("produce", name, input='{"home": {"zip": "69001"}}\n')
    assert produced.exit_code == 0, produced.output
    consumed = run("consume", name, "--from-beginning", "--max-messages", "1", "--timeout", "20")
    assert json.loads(consumed.output) == {"home": {"zip": "69001"}}
    bad = run(
        "schema", "register", f"{name}-x", str(tmp_path / "customer.avsc"), "--reference", "A"
    )
    assert bad.exit_code == 2 and "NAME=SUBJECT:VERSION" in bad.output
