"""Schema GUIDs (Confluent 8): in every schema answer, and ``GET /schemas/guids/{guid}[/ids]``."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from charter.db import open_database
from registry.store import MIGRATIONS, Reference
from registry.store.guids import schema_guid
from tests.registry.test_api import V1, V2, assert_error, register, send


def test_the_guid_is_the_md5_of_the_canonical_text_as_in_confluent(client: FlaskClient) -> None:
    body = register(client, "g", V1).get_json()
    expected = str(uuid.UUID(bytes=hashlib.md5(body["schema"].encode()).digest()))
    assert body["guid"] == expected
    assert client.get("/subjects/g/versions/1").get_json()["guid"] == expected
    assert client.get(f"/schemas/ids/{body['id']}").get_json()["guid"] == expected
    assert send(client, "POST", "/subjects/g", {"schema": V1}).get_json()["guid"] == expected
    # The same schema under another subject: the same id and GUID.
    assert register(client, "other", V1).get_json()["guid"] == expected


def test_metadata_and_rule_sets_change_the_guid(client: FlaskClient) -> None:
    plain = register(client, "m", V1).get_json()["guid"]
    tagged = register(client, "m2", V1, metadata={"properties": {"owner": "a"}}).get_json()
    assert tagged["guid"] != plain
    rule_set = {"domainRules": [{"name": "r", "type": "CEL", "expr": "true"}]}
    ruled = register(client, "m3", V1, ruleSet=rule_set).get_json()
    assert len({plain, tagged["guid"], ruled["guid"]}) == 3


def test_schemas_by_guid(client: FlaskClient) -> None:
    registered = register(client, "byguid", V1).get_json()
    guid = registered["guid"]
    found = client.get(f"/schemas/guids/{guid}")
    assert found.status_code == 200
    assert found.get_json() == {"guid": guid, "schema": registered["schema"]}
    assert client.get(f"/schemas/guids/{guid}/ids").get_json() == [
        {"context": ".", "id": registered["id"]}
    ]
    assert_error(client.get(f"/schemas/guids/{uuid.uuid4()}"), 404, 40403)
    # Soft-deleted schemas still resolve by GUID, as by id; permanently deleted ones do not.
    client.delete("/subjects/byguid")
    assert client.get(f"/schemas/guids/{guid}").status_code == 200
    client.delete("/subjects/byguid?permanent=true")
    assert_error(client.get(f"/schemas/guids/{guid}"), 404, 40403)
    assert_error(client.get(f"/schemas/guids/{guid}/ids"), 404, 40403)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'old.db'}"


def test_migration_fills_in_the_guid_of_existing_schemas(database_url: str) -> None:
    database = open_database(database_url)
    try:
        for migration in MIGRATIONS[:4]:
            migration(database)
        # As before migration 5: no GUID column.
        database.execute_sql("DROP INDEX registry_schema_guid")
        database.execute_sql("ALTER TABLE registry_schema DROP COLUMN guid")
        param = database.param
        references = json.dumps([{"name": "n", "subject": "s", "version": 1}])
        database.execute_sql(
            "INSERT INTO registry_schema (id, schema_type, schema_text, fingerprint, "
            f"references_json) VALUES (1, 'AVRO', {param}, 'f1', {param})",
            (V2, references),
        )
        MIGRATIONS[4](database)
        (guid,) = database.execute_sql("SELECT guid FROM registry_schema WHERE id = 1").fetchone()
        assert guid == schema_guid(V2, [Reference("n", "s", 1)], None, None)
        MIGRATIONS[4](database)  # a fresh database already has the column: nothing to do twice
    finally:
        database.close()


def test_another_format_keeps_the_schema_guid(client: FlaskClient) -> None:
    text = 'syntax = "proto3";\npackage g;\nmessage M { string a = 1; }\n'
    registered = register(client, "pb", text, schemaType="PROTOBUF").get_json()
    serialized = client.get("/subjects/pb/versions/1?format=serialized").get_json()
    assert serialized["schema"] != registered["schema"]
    assert serialized["guid"] == registered["guid"]
    by_guid = client.get(f"/schemas/guids/{registered['guid']}?format=serialized").get_json()
    assert by_guid == {
        "guid": registered["guid"],
        "schemaType": "PROTOBUF",
        "schema": serialized["schema"],
    }
