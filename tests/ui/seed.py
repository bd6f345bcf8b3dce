"""Sample data for the UI tests and the README screenshots: schemas, a topic, lineage."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from flask import Flask

from broker.topics.log_end import LogEndReporter
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


@dataclasses.dataclass
class _Log:
    log_start_offset: int
    log_end_offset: int
    closed: bool = False


def seed_catalog(app: Flask, headers: dict[str, str] | None = None) -> None:
    """Schemas, topics, producers, groups (with the broker's log-end offsets, for lag), a
    glossary term and a policy change; ``headers`` authenticate the requests when auth is on."""
    client = app.test_client()
    headers = headers or {}

    def register(subject: str, schema: dict[str, Any], **extra: Any) -> int:
        response = client.post(
            f"/subjects/{subject}/versions",
            json={"schema": json.dumps(schema), **extra},
            headers=headers,
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
    logs = [("orders", 0, _Log(0, 500)), ("orders", 1, _Log(0, 40)), ("orders", 2, _Log(0, 0))]
    LogEndReporter(app.extensions["charter.database"], lambda: logs, 1).report()
    client.put(
        "/catalog/v1/glossary/Customer",
        json={"definition": "A person or company that buys from us."},
        headers=headers,
    )
    policy = client.put(
        "/governance/v1/policies/max-record-bytes", json={"enabled": True}, headers=headers
    )
    assert policy.status_code == 200, policy.json
    app.extensions["charter.catalog"].indexer.catch_up()
