"""Sample data for the UI tests and the README screenshots: schemas, a topic, lineage."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import Flask

from broker.topics.store import broker_outbox
from tests.catalog.conftest import ORDER

CONTACT = {
    "type": "record",
    "name": "Contact",
    "namespace": "com.acme.crm",
    "doc": "A person the sales team talks to.",
    "fields": [
        {"name": "email", "type": "string", "doc": "Primary address", "confluent:tags": ["PII"]},
        {"name": "fullName", "type": "string"},
    ],
}


def _broker_event(app: Flask, name: str, payload: dict[str, Any]) -> None:
    database = app.extensions["charter.database"]
    with database.atomic():
        broker_outbox(database).append(name, payload)


def seed_catalog(app: Flask) -> None:
    client = app.test_client()

    def register(subject: str, schema: dict[str, Any], **extra: Any) -> int:
        response = client.post(
            f"/subjects/{subject}/versions", json={"schema": json.dumps(schema), **extra}
        )
        assert response.status_code == 200, response.json
        return int(response.json["id"])

    owner = {"metadata": {"properties": {"owner": "team-orders", "domain": "sales"}}}
    first = register("orders-value", ORDER, **owner)
    newer = copy.deepcopy(ORDER)
    newer["fields"].append(
        {"name": "note", "type": "string", "default": "", "doc": "Free text from the buyer"}
    )
    second = register("orders-value", newer, **owner)
    register("contacts-value", CONTACT)
    topic = {"topic_id": "t", "partitions": 3, "is_internal": False}
    _broker_event(
        app, "topic_created", {"name": "orders", **topic, "configs": {"retention.ms": "604800000"}}
    )
    _broker_event(app, "topic_created", {"name": "contacts", **topic, "configs": {}})
    for client_id, ids in (("checkout-service", [first, second]), ("backfill-job", [first])):
        _broker_event(
            app,
            "producer_seen",
            {
                "topic": "orders",
                "client_id": client_id,
                "principal": "User:svc",
                "schema_ids": ids,
                "records": 1200,
            },
        )
    for group, client_id in (("billing", "billing-1"), ("analytics", "spark-etl")):
        _broker_event(
            app,
            "group_member_joined",
            {"group_id": group, "member_id": "m", "client_id": client_id},
        )
        _broker_event(
            app,
            "group_offsets_committed",
            {
                "group_id": group,
                "commits": 1,
                "offsets": [{"topic": "orders", "partition": 0, "offset": 420}],
            },
        )
    client.put(
        "/catalog/v1/glossary/Customer",
        json={"definition": "A person or company that buys from us."},
    )
    app.extensions["charter.catalog"].indexer.catch_up()
