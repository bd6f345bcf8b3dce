"""The DEK registry's REST API (``/dek-registry/v1``) over SQLite and PostgreSQL.

What Confluent's ``DekRegistryClient`` relies on: creating a KEK or DEK twice
with the same values answers the stored one, with other values 409/40971;
unknown keys 404/40470; a DEK without encrypted key material (this registry
has no KMS to generate one) 422/42271; the latest DEK by ``-1``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from charter.compose import migrate
from charter.db import open_database
from registry.deks import api
from registry.deks.service import DekService
from registry.deks.store import DekStore

KEK = {"name": "kek-1", "kmsType": "local-kms", "kmsKeyId": "local-kms://key-1"}
MATERIAL = base64.b64encode(b"\x01" * 40).decode()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlaskClient]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'charter.db'}"
    else:
        url = request.getfixturevalue("pg_schema_url")
    database = open_database(url)
    migrate(database)
    app = Flask("dek-test")
    app.register_blueprint(api.create_blueprint(DekService(DekStore(database))))
    try:
        yield app.test_client()
    finally:
        database.close()


def test_kek_create_get_list_update(client):
    created = client.post("/dek-registry/v1/keks", json=KEK)
    assert created.status_code == 200, created.json
    assert created.json | {"ts": 0} == {
        **KEK, "kmsProps": {}, "doc": None, "shared": False, "deleted": False, "ts": 0,
    }  # fmt: skip
    assert client.post("/dek-registry/v1/keks", json=KEK).json == created.json  # idempotent
    other = client.post("/dek-registry/v1/keks", json={**KEK, "kmsKeyId": "local-kms://other"})
    assert other.status_code == 409 and other.json["error_code"] == 40971
    assert client.get("/dek-registry/v1/keks/kek-1").json == created.json
    assert client.get("/dek-registry/v1/keks").json == ["kek-1"]
    updated = client.put("/dek-registry/v1/keks/kek-1", json={"doc": "payments", "shared": True})
    assert updated.json["doc"] == "payments" and updated.json["shared"] is True
    assert updated.json["kmsKeyId"] == KEK["kmsKeyId"]


def test_unknown_keys_and_bad_requests(client):
    missing = client.get("/dek-registry/v1/keks/nope")
    assert missing.status_code == 404
    assert missing.json == {"error_code": 40470, "message": "Key 'nope' not found"}
    no_kms = client.post("/dek-registry/v1/keks", json={"name": "k"})
    assert no_kms.status_code == 422 and "kmsType" in no_kms.json["message"]
    bad_props = client.post("/dek-registry/v1/keks", json={**KEK, "kmsProps": {"a": 1}})
    assert bad_props.status_code == 422
    not_json = client.post("/dek-registry/v1/keks", data="{", content_type="application/json")
    assert not_json.status_code in (400, 422) and "error_code" in not_json.json
    dek_of_nothing = client.post(
        "/dek-registry/v1/keks/nope/deks/orders-value", json={"encryptedKeyMaterial": MATERIAL}
    )
    assert dek_of_nothing.status_code == 404 and dek_of_nothing.json["error_code"] == 40470


def test_dek_create_get_versions_conflicts(client):
    client.post("/dek-registry/v1/keks", json=KEK)
    base = "/dek-registry/v1/keks/kek-1/deks"
    first = client.post(f"{base}/orders-value", json={"encryptedKeyMaterial": MATERIAL})
    assert first.status_code == 200, first.json
    assert first.json | {"ts": 0} == {
        "kekName": "kek-1", "subject": "orders-value", "version": 1, "algorithm": "AES256_GCM",
        "encryptedKeyMaterial": MATERIAL, "deleted": False, "ts": 0,
    }  # fmt: skip
    again = client.post(f"{base}/orders-value", json={"encryptedKeyMaterial": MATERIAL})
    assert again.json == first.json
    other = base64.b64encode(b"\x02" * 40).decode()
    conflict = client.post(f"{base}/orders-value", json={"encryptedKeyMaterial": other})
    assert conflict.status_code == 409 and conflict.json["error_code"] == 40971
    second = client.post(base, json={"subject": "orders-value", "version": 2,
                                     "encryptedKeyMaterial": other})  # fmt: skip
    assert second.status_code == 200 and second.json["version"] == 2

    assert client.get(f"{base}/orders-value").json["version"] == 2  # the latest
    assert client.get(f"{base}/orders-value/versions/-1").json["version"] == 2
    assert client.get(f"{base}/orders-value/versions/1").json == first.json
    assert client.get(f"{base}/orders-value/versions").json == [1, 2]
    assert client.get(base).json == ["orders-value"]
    siv = client.get(f"{base}/orders-value/versions/1?algorithm=AES256_SIV")
    assert siv.status_code == 404 and siv.json["error_code"] == 40470
    assert client.get(f"{base}/orders-value/versions/3").status_code == 404
    assert client.get(f"{base}/orders-value/versions/0").status_code == 422


def test_a_dek_needs_its_encrypted_material(client):
    client.post("/dek-registry/v1/keks", json={**KEK, "shared": True})
    base = "/dek-registry/v1/keks/kek-1/deks"
    generated = client.post(f"{base}/orders-value", json={})
    assert generated.status_code == 422 and generated.json["error_code"] == 42271
    assert "no KMS credentials" in generated.json["message"]
    not_base64 = client.post(f"{base}/orders-value", json={"encryptedKeyMaterial": "%%%"})
    assert not_base64.status_code == 422 and not_base64.json["error_code"] == 42271
    bad_algorithm = client.post(
        f"{base}/orders-value", json={"encryptedKeyMaterial": MATERIAL, "algorithm": "ROT13"}
    )
    assert bad_algorithm.status_code == 422 and "AES256_GCM" in bad_algorithm.json["message"]
    subject_with_slash = client.post(f"{base}/a/b-value", json={"encryptedKeyMaterial": MATERIAL})
    assert subject_with_slash.json["subject"] == "a/b-value"
    assert client.get(f"{base}/a/b-value/versions/1").json["subject"] == "a/b-value"
