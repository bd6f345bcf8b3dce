"""Catalog fixtures: the whole app over SQLite and (marked ``postgres``) over PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings


def _close(application: Flask) -> None:
    application.extensions["charter.events"].stop()
    database = application.extensions["charter.database"]
    if not database.is_closed():
        database.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app over each backend (the same tests run on both)."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_schema_url")
        application = create_app(Settings(data_dir=tmp_path, database_url=url))
    else:
        application = create_app(Settings(data_dir=tmp_path))
    yield application
    _close(application)


@pytest.fixture
def cat(catalog_app: Flask) -> Catalog:
    return Catalog(catalog_app)


class Catalog:
    """Registers schemas and searches through the HTTP API; ``sync()`` applies pending events."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.service = app.extensions["charter.catalog"]

    def sync(self) -> None:
        self.service.indexer.catch_up()

    def register(
        self, subject: str, schema: Any, *, schema_type: str = "AVRO", **extra: Any
    ) -> int:
        body = {
            "schema": schema if isinstance(schema, str) else json.dumps(schema),
            "schemaType": schema_type,
            **extra,
        }
        response = self.client.post(f"/subjects/{subject}/versions", json=body)
        assert response.status_code == 200, response.json
        self.sync()
        return int(response.json["id"])

    def search(self, q: str = "", **params: Any) -> dict[str, Any]:
        response = self.client.get("/catalog/v1/search", query_string={"q": q, **params})
        assert response.status_code == 200, response.json
        return response.json

    def names(self, q: str = "", **params: Any) -> list[str]:
        return [hit["qualifiedName"] for hit in self.search(q, **params)["results"]]


ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "doc": "An order a customer placed; contact details are in customer.",
    "fields": [
        {"name": "order_id", "type": "string", "doc": "Order id"},
        {
            "name": "customer",
            "type": {
                "type": "record",
                "name": "Customer",
                "fields": [
                    {
                        "name": "customerEmail",
                        "type": "string",
                        "doc": "Where receipts go",
                        "confluent:tags": ["PII"],
                    },
                    {"name": "name", "type": ["null", "string"], "default": None},
                ],
            },
        },
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [
                        {"name": "sku", "type": "string"},
                        {"name": "qty", "type": "int"},
                    ],
                },
            },
        },
        {"name": "attributes", "type": {"type": "map", "values": "string"}},
    ],
}
