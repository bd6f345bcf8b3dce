"""Lineage from real client traffic: ``charter up`` as its own processes, confluent-kafka clients
in this one. A producer with a ``client.id`` writes Avro records through the gate; a consumer
group commits offsets; ``/catalog/v1/lineage`` then shows both, with the group's lag computed
from the log-end offsets the broker reports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.charter.processes import running_up

ORDER = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "lineage",
        "fields": [{"name": "id", "type": "long"}, {"name": "email", "type": "string"}],
    }
)
# Events reach the catalog quickly: offset-commit summaries every 200 ms.
FAST = {
    "CHARTER_VALUE_SCHEMA_VALIDATION": "full",
    "CHARTER_GROUP_OFFSETS_EVENT_INTERVAL_MS": "200",
    "CHARTER_LINEAGE_REPORT_INTERVAL_MS": "200",
}


def _lineage(url: str, entity: str, auth: tuple[str, str] | None = None) -> dict[str, Any]:
    response = requests.get(
        f"{url}/catalog/v1/lineage", params={"entity": entity}, auth=auth, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def _eventually(
    url: str,
    entity: str,
    ready: Callable[[dict[str, Any]], bool],
    seconds: float = 45,
    auth: tuple[str, str] | None = None,
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    body = _lineage(url, entity, auth)
    while not ready(body) and time.monotonic() < deadline:
        time.sleep(0.25)
        body = _lineage(url, entity, auth)
    assert ready(body), json.dumps(body, indent=1)
    return body


def _produce(
    bootstrap: str,
    registry_url: str,
    partition_counts: dict[int, int],
    credentials: dict[str, str] | None = None,
) -> None:
    registry = {"url": registry_url}
    if credentials:
        registry["basic.auth.user.info"] = (
            f"{credentials['sasl.username']}:" + (credentials["sasl.password"])
        )
    serializer = AvroSerializer(SchemaRegistryClient(registry), ORDER)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "client.id": "checkout-service", **(credentials or {})}
    )
    context = SerializationContext("orders", MessageField.VALUE)
    failures: list[str] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for partition, count in partition_counts.items():
        for number in range(count):
            value = serializer({"id": number, "email": f"c{number}@example.com"}, context)
            producer.produce("orders", value, partition=partition, on_delivery=delivered)
    assert producer.flush(30) == 0
    assert not failures, failures


def _commit_as_group(bootstrap: str, offsets: dict[int, int]) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "billing",
            "client.id": "billing-app",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
    )
    try:
        consumer.subscribe(["orders"])
        deadline = time.monotonic() + 60
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)
        assert consumer.assignment(), "the group never assigned partitions"
        consumer.commit(
            offsets=[TopicPartition("orders", p, o) for p, o in offsets.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()


def test_lineage_shows_producers_groups_and_lag_from_real_clients(tmp_path: Path) -> None:
    with running_up(tmp_path / "data", environment=FAST) as charter:
        admin = AdminClient({"bootstrap.servers": charter.bootstrap})
        admin.create_topics([NewTopic("orders", 2, 1)])["orders"].result(30)
        _produce(charter.bootstrap, charter.url, {0: 8, 1: 2})
        schema_id = requests.get(
            f"{charter.url}/subjects/orders-value/versions/latest", timeout=10
        ).json()["id"]
        _commit_as_group(charter.bootstrap, {0: 6, 1: 2})

        topic = _eventually(
            charter.url,
            "topic:orders",
            lambda b: (
                bool(b["producers"])
                and b["producers"][0]["records"] == 10
                and bool(b["consumerGroups"])
                and b["consumerGroups"][0]["lag"] == 2
            ),
        )
        [producer] = topic["producers"]
        assert producer["clientId"] == "checkout-service"
        assert producer["principal"] == "User:ANONYMOUS"
        assert producer["schemaIds"] == [schema_id]
        assert producer["firstSeenMs"] <= producer["lastSeenMs"]
        [group] = topic["consumerGroups"]
        assert group["groupId"] == "billing"
        assert "billing-app" in group["clientIds"]
        assert group["offsets"] == [
            {"partition": 0, "offset": 6, "logEndOffset": 8, "lag": 2},
            {"partition": 1, "offset": 2, "logEndOffset": 2, "lag": 0},
        ]
        assert topic["subjects"] == ["orders-value"]

        by_group = _lineage(charter.url, "group:billing")
        assert by_group["known"] is True
        assert "billing-app" in by_group["group"]["clientIds"]
        assert [(t["topic"], t["lag"]) for t in by_group["topics"]] == [("orders", 2)]

        by_subject = _lineage(charter.url, "subject:orders-value")
        assert [t["entity"] for t in by_subject["topics"]] == ["topic:orders"]
        assert by_subject["topics"][0]["producers"][0]["clientId"] == "checkout-service"

        # More records and no new commit: the lag grows as the broker reports its log end.
        _produce(charter.bootstrap, charter.url, {1: 3})
        grown = _eventually(
            charter.url, "group:billing", lambda b: b["topics"] and b["topics"][0]["lag"] == 5
        )
        assert grown["topics"][0]["offsets"][1] == {
            "partition": 1,
            "offset": 2,
            "logEndOffset": 5,
            "lag": 3,
        }


def test_lineage_records_the_authenticated_principal(tmp_path: Path) -> None:
    password = "lineage-admin-password"
    environment = {**FAST, "CHARTER_ADMIN_PASSWORD": password}
    sasl = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "admin",
        "sasl.password": password,
    }
    with running_up(tmp_path / "data", environment=environment, extra_args=("--auth",)) as charter:
        admin = AdminClient({"bootstrap.servers": charter.bootstrap, **sasl})
        admin.create_topics([NewTopic("orders", 1, 1)])["orders"].result(30)
        _produce(charter.bootstrap, charter.url, {0: 4}, sasl)
        # The catalog itself needs credentials too.
        refused = requests.get(
            f"{charter.url}/catalog/v1/lineage", params={"entity": "topic:orders"}, timeout=10
        )
        assert refused.status_code == 401
        topic = _eventually(
            charter.url,
            "topic:orders",
            lambda b: bool(b["producers"]) and b["producers"][0]["records"] == 4,
            auth=("admin", password),
        )
        assert topic["producers"][0]["principal"] == "User:admin"
        assert topic["producers"][0]["clientId"] == "checkout-service"


def test_lineage_shows_producers_to_topics_the_gate_does_not_read(tmp_path: Path) -> None:
    """``charter.value.schema.validation=none``: no record is decoded, yet each batch's record
    count and its first value's schema id (when framed) reach the catalog."""
    with running_up(tmp_path / "data", environment=FAST) as charter:
        admin = AdminClient({"bootstrap.servers": charter.bootstrap})
        config = {"charter.value.schema.validation": "none"}
        admin.create_topics([NewTopic("clicks", 1, 1, config=config)])["clicks"].result(30)
        serializer = AvroSerializer(SchemaRegistryClient({"url": charter.url}), ORDER)
        context = SerializationContext("clicks", MessageField.VALUE)
        framed = Producer({"bootstrap.servers": charter.bootstrap, "client.id": "framed-app"})
        for number in range(3):
            framed.produce("clicks", serializer({"id": number, "email": "e@x.org"}, context))
        assert framed.flush(30) == 0
        raw = Producer({"bootstrap.servers": charter.bootstrap, "client.id": "raw-app"})
        for number in range(5):
            raw.produce("clicks", f"not framed {number}".encode())
        assert raw.flush(30) == 0
        schema_id = requests.get(
            f"{charter.url}/subjects/clicks-value/versions/latest", timeout=10
        ).json()["id"]

        topic = _eventually(
            charter.url,
            "topic:clicks",
            lambda b: (
                sorted((p["clientId"], p["records"]) for p in b["producers"])
                == [("framed-app", 3), ("raw-app", 5)]
            ),
        )
        by_client = {p["clientId"]: p for p in topic["producers"]}
        assert by_client["framed-app"]["schemaIds"] == [schema_id]
        assert by_client["raw-app"]["schemaIds"] == []
        assert by_client["raw-app"]["principal"] == "User:ANONYMOUS"
