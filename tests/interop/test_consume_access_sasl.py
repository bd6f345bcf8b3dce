"""``consume-access`` with authenticated principals (``charter up --auth``, SASL/SCRAM): of two
users who both hold a read binding on a topic whose schema has a PII field, only the one the
policy lists reads it; the other gets TOPIC_AUTHORIZATION_FAILED, audited under their name."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.charter.processes import CharterProcess
from tests.security.stack import PASSWORDS, secured_up

pytestmark = pytest.mark.slow

ADMIN = ("admin", PASSWORDS["admin"])
PERSON = {
    "type": "record",
    "name": "Customer",
    "fields": [{"name": "email", "type": "string", "confluent:tags": ["PII"]}],
}


@pytest.fixture
def charter(tmp_path: Path) -> Iterator[CharterProcess]:
    with secured_up(tmp_path / "data") as running:
        yield running


def _sasl(user: str) -> dict[str, str]:
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": user,
        "sasl.password": PASSWORDS[user],
    }


def _first(charter: CharterProcess, user: str, topic: str) -> bytes | KafkaError:
    consumer = Consumer(
        {"bootstrap.servers": charter.bootstrap, "group.id": f"{user}-readers", **_sasl(user)}
    )
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                return message.error()
            return message.value()
    finally:
        consumer.close()
    raise AssertionError(f"{user} read nothing from {topic}")


def test_only_the_listed_principal_reads_the_pii_topic(charter: CharterProcess) -> None:
    topic = "orders-customers"
    binding = {"principal": "User:alice", "role": "DeveloperRead", "resource": "Group:alice-*"}
    answer = requests.post(
        f"{charter.url}/security/v1/rolebindings", json=binding, auth=ADMIN, timeout=30
    )
    assert answer.status_code == 200, answer.text
    admin = AdminClient({"bootstrap.servers": charter.bootstrap, **_sasl("alice")})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    registered = requests.post(
        f"{charter.url}/subjects/{topic}-value/versions",
        data=json.dumps({"schema": json.dumps(PERSON)}),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        auth=ADMIN,
        timeout=30,
    )
    assert registered.status_code == 200, registered.text
    producer = Producer({"bootstrap.servers": charter.bootstrap, **_sasl("dave")})
    producer.produce(topic, b"a record")
    assert producer.flush(30) == 0
    assert _first(charter, "bob", topic) == b"a record"  # bob holds DeveloperRead

    answer = requests.put(
        f"{charter.url}/governance/v1/policies/consume-access",
        json={"enabled": True, "params": {"principals": ["User:alice"]}},
        auth=ADMIN,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 30
    while isinstance(read := _first(charter, "bob", topic), bytes):
        assert time.monotonic() < deadline, "the broker never applied the policy"
        time.sleep(0.2)
    assert isinstance(read, KafkaError)
    assert read.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _first(charter, "alice", topic) == b"a record"

    deadline = time.monotonic() + 20
    while True:
        entries = requests.get(
            f"{charter.url}/governance/v1/audit",
            params={"action": "topic.consume", "outcome": "denied"},
            auth=ADMIN,
            timeout=30,
        ).json()
        if entries or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {(e["actor"], e["resource"]) for e in entries} == {("User:bob", f"topic:{topic}")}
    assert "Customer.email is tagged PII" in entries[0]["detail"]
