"""Lineage from broker events (consumer groups, producers) and impact analysis of a schema change."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from broker.topics.log_end import LogEndReporter
from broker.topics.store import broker_outbox
from tests.catalog.conftest import ORDER, Catalog


def _broker_event(cat: Catalog, name: str, payload: dict[str, Any]) -> None:
    database = cat.app.extensions["charter.database"]
    with database.atomic():
        broker_outbox(database).append(name, payload)


def _orders_with_traffic(cat: Catalog) -> int:
    schema_id = cat.register("orders-value", ORDER)
    _broker_event(
        cat,
        "topic_created",
        {"name": "orders", "topic_id": "t", "partitions": 2, "is_internal": False, "configs": {}},
    )
    _broker_event(
        cat,
        "producer_seen",
        {
            "topic": "orders",
            "client_id": "checkout",
            "principal": "User:svc",
            "schema_ids": [schema_id],
            "records": 10,
        },
    )
    _broker_event(
        cat,
        "group_member_joined",
        {
            "group_id": "billing",
            "member_id": "m1",
            "instance_id": None,
            "client_id": "billing-1",
            "client_host": "/127.0.0.1",
        },
    )
    _broker_event(
        cat,
        "group_offsets_committed",
        {
            "group_id": "billing",
            "commits": 2,
            "offsets": [
                {"topic": "orders", "partition": 0, "offset": 7},
                {"topic": "orders", "partition": 1, "offset": 3},
            ],
            "truncated": False,
        },
    )
    cat.sync()
    return schema_id


def test_producer_counts_from_the_gates_running_totals(cat: Catalog) -> None:
    seen = {"topic": "orders", "client_id": "app", "principal": "User:a"}
    for schema_id, count, last in ((1, 5, 200), (1, 9, 300), (2, 4, 250), (1, 7, 150)):
        _broker_event(
            cat,
            "producer_seen",
            {
                **seen,
                "schema_id": schema_id,
                "count": count,
                "first_seen_ms": 100,
                "last_seen_ms": last,
            },
        )
    cat.sync()
    [producer] = cat.client.get("/catalog/v1/lineage?entity=topic:orders").json["producers"]
    assert producer["schemaIds"] == [1, 2]
    assert producer["records"] == 13  # 9 (highest total for id 1) + 4
    assert (producer["firstSeenMs"], producer["lastSeenMs"]) == (100, 300)


def test_topic_lineage(cat: Catalog) -> None:
    schema_id = _orders_with_traffic(cat)
    lineage = cat.client.get("/catalog/v1/lineage?entity=topic:orders").json
    assert lineage["subjects"] == ["orders-value"]
    [producer] = lineage["producers"]
    assert producer["clientId"] == "checkout" and producer["principal"] == "User:svc"
    assert producer["schemaIds"] == [schema_id] and producer["records"] == 10
    [group] = lineage["consumerGroups"]
    assert group["groupId"] == "billing" and group["clientIds"] == ["billing-1"]
    # The broker has not reported its log end yet: the lag is not known.
    assert group["offsets"] == [
        {"partition": 0, "offset": 7, "logEndOffset": None, "lag": None},
        {"partition": 1, "offset": 3, "logEndOffset": None, "lag": None},
    ]
    assert group["lag"] is None

    subject = cat.client.get("/catalog/v1/lineage?entity=subject:orders-value").json
    assert [topic["entity"] for topic in subject["topics"]] == ["topic:orders"]
    group_view = cat.client.get("/catalog/v1/lineage?entity=group:billing").json
    assert [t["topic"] for t in group_view["topics"]] == ["orders"]

    _broker_event(cat, "group_deleted", {"group_id": "billing", "reason": "deleted"})
    cat.sync()
    assert cat.client.get("/catalog/v1/lineage?entity=topic:orders").json["consumerGroups"] == []


@dataclasses.dataclass
class _Log:
    log_start_offset: int
    log_end_offset: int
    closed: bool = False


def test_lag_is_log_end_minus_committed(cat: Catalog) -> None:
    _orders_with_traffic(cat)
    logs = {("orders", 0): _Log(0, 12), ("orders", 1): _Log(2, 3)}
    reporter = LogEndReporter(
        cat.app.extensions["charter.database"],
        lambda: [(name, index, log) for (name, index), log in logs.items()],
        interval_s=1,
    )
    assert reporter.report() == 2
    [group] = cat.client.get("/catalog/v1/lineage?entity=topic:orders").json["consumerGroups"]
    assert group["offsets"] == [
        {"partition": 0, "offset": 7, "logEndOffset": 12, "lag": 5},
        {"partition": 1, "offset": 3, "logEndOffset": 3, "lag": 0},
    ]
    assert group["lag"] == 5
    logs[("orders", 1)].log_end_offset = 9  # only what moved is written again
    assert reporter.report() == 1
    [topic] = cat.client.get("/catalog/v1/lineage?entity=group:billing").json["topics"]
    assert topic["lag"] == 11
    del logs[("orders", 1)]  # a deleted partition's row goes
    assert reporter.report() == 1
    [topic] = cat.client.get("/catalog/v1/lineage?entity=group:billing").json["topics"]
    assert topic["offsets"][1]["lag"] is None and topic["lag"] is None


def test_unknown_entities_answer_what_is_known(cat: Catalog) -> None:
    lineage = cat.client.get("/catalog/v1/lineage?entity=topic:ghost").json
    assert lineage == {
        "entity": "topic:ghost",
        "known": False,
        "producers": [],
        "consumerGroups": [],
        "subjects": [],
    }


def _impact(cat: Catalog, schema: dict[str, Any], *, method: str = "get") -> Any:
    call = getattr(cat.client, method)
    return call("/catalog/v1/impact?subject=orders-value", json={"schema": json.dumps(schema)})


def test_impact_of_a_compatible_change(cat: Catalog) -> None:
    _orders_with_traffic(cat)
    added = copy.deepcopy(ORDER)
    added["fields"].append({"name": "note", "type": "string", "default": ""})
    response = _impact(cat, added)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["compatible"] is True
    assert body["compatibilityLevel"] == "BACKWARD"
    assert body["registry"]["compatible"] and body["readers"]["compatible"]
    [topic] = body["topics"]
    assert topic["name"] == "orders" and topic["producers"] == ["checkout"]
    assert topic["consumerGroups"][0]["groupId"] == "billing"
    assert topic["consumerGroups"][0]["compatible"] is True
    assert _impact(cat, added, method="post").json == body


def test_impact_of_a_breaking_change(cat: Catalog) -> None:
    _orders_with_traffic(cat)
    retyped = copy.deepcopy(ORDER)
    retyped["fields"][0] = {"name": "order_id", "type": "long"}
    body = _impact(cat, retyped).json
    assert body["compatible"] is False
    assert body["registry"]["compatible"] is False and body["registry"]["messages"]
    group = body["topics"][0]["consumerGroups"][0]
    assert group["compatible"] is False and group["messages"]

    # Removing a field without a default: the registry (BACKWARD) accepts it, but the
    # consumers reading with the latest version cannot read the new data.
    removed = copy.deepcopy(ORDER)
    removed["fields"] = [f for f in removed["fields"] if f["name"] != "order_id"]
    body = _impact(cat, removed).json
    assert body["registry"]["compatible"] is True
    assert body["readers"]["compatible"] is False
    assert body["compatible"] is False


def test_impact_errors(cat: Catalog) -> None:
    client = cat.client
    assert (
        client.get("/catalog/v1/impact?subject=nope", json={"schema": '"string"'}).status_code
        == 404
    )
    _orders_with_traffic(cat)
    bad = client.get("/catalog/v1/impact?subject=orders-value", json={"schema": "{not json"})
    assert bad.status_code == 422
    assert client.get("/catalog/v1/impact", json={"schema": '"string"'}).status_code == 400
    assert client.get("/catalog/v1/impact?subject=orders-value").status_code in (400, 422)
