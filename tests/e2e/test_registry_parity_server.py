"""The parity cases through a real ``charter serve http`` (gunicorn, two workers), where the WSGI
server, not Flask's test client, carries the headers and bodies."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.registry.server_process import ServerProcess, running_server
from tests.registry.test_api import V1

pytestmark = pytest.mark.slow

V1_JSON = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("parity-server")) as process:
        yield process


def test_accept_header_chooses_the_content_type(server: ServerProcess) -> None:
    for accept, expected in [
        (None, V1_JSON),
        ("application/json", "application/json"),
        (
            "application/json;q=0.5, application/vnd.schemaregistry+json;q=0.9",
            "application/vnd.schemaregistry+json",
        ),
    ]:
        headers = {"Accept": accept} if accept else {}
        response = requests.get(f"{server.url}/subjects", headers=headers, timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == expected
    refused = requests.get(
        f"{server.url}/schemas/types", headers={"Accept": "text/plain"}, timeout=10
    )
    assert refused.status_code == 406
    assert refused.content == b'{"error_code":406,"message":"HTTP 406 Not Acceptable"}'
    assert refused.headers["Content-Type"] == V1_JSON


def test_a_utf16_body_registers_and_reads_back(server: ServerProcess) -> None:
    schema = json.dumps(
        {"type": "record", "name": "Wide", "doc": "→ 📏", "fields": [{"name": "a", "type": "int"}]},
        ensure_ascii=False,
    )
    body = codecs.BOM_UTF16_LE + json.dumps({"schema": schema}, ensure_ascii=False).encode(
        "utf-16-le"
    )
    registered = requests.post(
        f"{server.url}/subjects/wide-value/versions",
        data=body,
        headers={"Content-Type": V1_JSON},
        timeout=10,
    )
    assert registered.status_code == 200, registered.text
    schema_id = registered.json()["id"]
    fetched = requests.get(f"{server.url}/schemas/ids/{schema_id}", timeout=10).json()
    assert "📏" in fetched["schema"]


def test_parity_errors_over_the_wire(server: ServerProcess) -> None:
    not_an_id = requests.get(f"{server.url}/schemas/ids/abc", timeout=10)
    assert (not_an_id.status_code, not_an_id.json()) == (
        404,
        {"error_code": 404, "message": "HTTP 404 Not Found"},
    )
    requests.post(
        f"{server.url}/subjects/gone-value/versions",
        json={"schema": V1},
        headers={"Content-Type": V1_JSON},
        timeout=10,
    ).raise_for_status()
    missing_version = requests.post(
        f"{server.url}/compatibility/subjects/gone-value/versions/2",
        json={"schema": V1},
        headers={"Content-Type": V1_JSON},
        timeout=10,
    )
    assert missing_version.status_code == 404
    assert missing_version.json() == {"error_code": 40402, "message": "Version 2 not found."}


def test_metadata_id_is_the_data_dirs_cluster_id(server: ServerProcess) -> None:
    # Both workers answer, and with the same id: the one in the data directory's file.
    answers = {
        json.dumps(requests.get(f"{server.url}/v1/metadata/id", timeout=10).json())
        for _ in range(8)
    }
    assert len(answers) == 1
    clusters = json.loads(answers.pop())["scope"]["clusters"]
    data_dir = Path(server.process.args[server.process.args.index("--data-dir") + 1])
    assert clusters == {
        "kafka-cluster": (data_dir / "cluster_id").read_text().strip(),
        "schema-registry-cluster": "schema-registry",
    }


def test_health_is_up(server: ServerProcess) -> None:
    response = requests.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "UP"
