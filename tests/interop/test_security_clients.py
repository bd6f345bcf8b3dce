"""Unmodified Kafka clients and Confluent's registry client against ``charter up --auth``.

confluent-kafka, kafka-python and aiokafka authenticate with SASL/PLAIN and
SCRAM-SHA-256/512; each role is allowed what it should be and denied the rest
(TOPIC_AUTHORIZATION_FAILED); SchemaRegistryClient authenticates with
``basic.auth.user.info``. Users and bindings: ``tests.security.stack``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.charter.processes import CharterProcess
from tests.interop.roundtrip import (
    VALUES,
    aiokafka_round_trip,
    confluent_consume,
    confluent_produce,
    kafka_python_round_trip,
)
from tests.security.raw import plain_client
from tests.security.stack import PASSWORDS, secured_up

MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with secured_up(tmp_path_factory.mktemp("secured") / "data") as running:
        yield running


def _sasl(user: str, mechanism: str = "PLAIN", password: str | None = None) -> dict[str, str]:
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password if password is not None else PASSWORDS[user],
    }


def _create_topic(charter: CharterProcess, user: str, topic: str) -> None:
    admin = AdminClient({"bootstrap.servers": charter.bootstrap, **_sasl(user)})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)


def _confluent_produce(charter: CharterProcess, config: dict, topic: str, count: int) -> list:
    return confluent_produce({"bootstrap.servers": charter.bootstrap, **config}, topic, count)


def _confluent_consume(
    charter: CharterProcess, config: dict, topic: str, count: int, group: str = "bob-confluent"
) -> list:
    config = {"bootstrap.servers": charter.bootstrap, **config}
    return confluent_consume(config, topic, count, group)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_produces_and_consumes_with_sasl(
    charter: CharterProcess, mechanism: str
) -> None:
    topic = f"orders-confluent-{mechanism.lower()}"
    _create_topic(charter, "alice", topic)
    assert _confluent_produce(charter, _sasl("dave", mechanism), topic, 3) == [None] * 3
    values = _confluent_consume(charter, _sasl("bob", mechanism), topic, 3)
    assert values == [b"v0", b"v1", b"v2"]


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_produces_and_consumes_with_sasl(
    charter: CharterProcess, mechanism: str
) -> None:
    topic = f"orders-kafka-python-{mechanism.lower()}"
    _create_topic(charter, "alice", topic)

    def config(user: str) -> dict:
        return {
            "bootstrap_servers": charter.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": mechanism,
            "sasl_plain_username": user,
            "sasl_plain_password": PASSWORDS[user],
        }

    assert kafka_python_round_trip(topic, config("dave"), config("bob")) == VALUES


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_aiokafka_produces_and_consumes_with_sasl(charter: CharterProcess, mechanism: str) -> None:
    topic = f"orders-aiokafka-{mechanism.lower()}"
    _create_topic(charter, "alice", topic)

    def config(user: str) -> dict:
        return {
            "bootstrap_servers": charter.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": mechanism,
            "sasl_plain_username": user,
            "sasl_plain_password": PASSWORDS[user],
        }

    assert aiokafka_round_trip(topic, config("dave"), config("bob")) == VALUES


def test_wrong_password_fails_authentication(
    charter: CharterProcess, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": charter.bootstrap,
            **_sasl("dave", "SCRAM-SHA-256", "wrong"),
            "error_cb": errors.append,
        }
    )
    deadline = time.monotonic() + 30
    while not errors and time.monotonic() < deadline:
        producer.poll(0.05)
    producer.flush(0)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
    assert "invalid credentials" in errors[0].str()
    del producer  # no more attempts: they would count towards the lock-out of 127.0.0.1

    from kafka import KafkaProducer
    from kafka.errors import KafkaError as PythonKafkaError

    with caplog.at_level("WARNING", logger="kafka"), pytest.raises(PythonKafkaError):
        KafkaProducer(
            bootstrap_servers=charter.bootstrap,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_plain_username="dave",
            sasl_plain_password="wrong",
            bootstrap_timeout_ms=3000,  # it retries bootstrap until then, then gives up
        )
    assert "SaslAuthenticationFailedError" in caplog.text


def test_a_client_without_sasl_gets_nothing(charter: CharterProcess) -> None:
    admin = AdminClient({"bootstrap.servers": charter.bootstrap, "socket.timeout.ms": 3000})
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=5)


def test_each_role_is_denied_what_it_may_not_do(charter: CharterProcess) -> None:
    topic = "orders-denials"
    _create_topic(charter, "alice", topic)
    # DeveloperRead may not produce; no binding at all: neither produce nor consume
    for user in ("bob", "mallory"):
        [error] = _confluent_produce(charter, _sasl(user), topic, 1)
        assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # a consumer needs its group (DeveloperRead on Group:bob-*) and the topic
    [error] = _confluent_consume(charter, _sasl("mallory"), topic, 1, group="mallory-group")
    assert error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    _create_topic(charter, "admin", "secret-topic")
    with plain_client(charter.kafka_port, "bob", PASSWORDS["bob"]) as raw:
        assert raw.fetch("secret-topic", 0, 0).error_code == 29  # TOPIC_AUTHORIZATION_FAILED
        assert raw.fetch(topic, 0, 0).error_code == 0
    # DeveloperWrite may not create topics, nor anyone outside their prefix
    for user, name in (("dave", "orders-by-dave"), ("alice", "payments")):
        admin = AdminClient({"bootstrap.servers": charter.bootstrap, **_sasl(user)})
        with pytest.raises(KafkaException) as failure:
            admin.create_topics([NewTopic(name, 1, 1)])[name].result(30)
        assert failure.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # topics a principal may not describe are not listed
    admin = AdminClient({"bootstrap.servers": charter.bootstrap, **_sasl("mallory")})
    assert topic not in admin.list_topics(timeout=10).topics
    # the denials are in the audit log, with the principal and the resource
    deadline = time.monotonic() + 20
    while True:
        entries = requests.get(
            f"{charter.url}/security/v1/audit",
            params={"outcome": "denied", "limit": 1000},
            auth=("admin", PASSWORDS["admin"]),
            timeout=10,
        ).json()
        seen = {(e["actor"], e["action"], e["resource"]) for e in entries}
        wanted = {
            ("User:bob", "topic.write", f"Topic:{topic}"),
            ("User:mallory", "group.describe", "Group:mallory-group"),
            ("User:bob", "topic.read", "Topic:secret-topic"),
            ("User:dave", "topic.create", "Topic:orders-by-dave"),
        }
        if wanted <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert wanted <= seen


def test_schema_registry_client_with_basic_auth(charter: CharterProcess) -> None:
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    schema = Schema('{"type": "record", "name": "Order", "fields": []}', "AVRO")
    subject = f"orders-{uuid.uuid4().hex[:6]}-value"

    def client(user: str, password: str | None = None) -> SchemaRegistryClient:
        return SchemaRegistryClient(
            {
                "url": charter.url,
                "basic.auth.user.info": f"{user}:{password or PASSWORDS[user]}",
            }
        )

    schema_id = client("dave").register_schema(subject, schema)
    assert "Order" in client("bob").get_schema(schema_id).schema_str
    assert subject in client("bob").get_subjects()
    with pytest.raises(SchemaRegistryError) as failure:
        client("bob").register_schema(subject, schema)
    assert failure.value.http_status_code == 403 and failure.value.error_code == 40301
    with pytest.raises(SchemaRegistryError) as failure:
        client("dave", "wrong-password").get_subjects()
    assert failure.value.http_status_code == 401 and failure.value.error_code == 40101
    assert subject not in client("mallory").get_subjects()


def test_a_super_user_without_bindings_may_do_everything(charter: CharterProcess) -> None:
    topic = "root-owned"  # outside every binding's prefix
    _create_topic(charter, "root", topic)
    assert _confluent_produce(charter, _sasl("root", "SCRAM-SHA-256"), topic, 2) == [None] * 2
    assert len(_confluent_consume(charter, _sasl("root"), topic, 2, group="root-group")) == 2
    registered = requests.post(
        f"{charter.url}/subjects/{topic}-value/versions",
        json={"schema": '"string"'},
        auth=("root", PASSWORDS["root"]),
        timeout=10,
    )
    assert registered.status_code == 200, registered.text
    users = requests.get(
        f"{charter.url}/security/v1/users", auth=("root", PASSWORDS["root"]), timeout=10
    )
    assert users.status_code == 200 and "mallory" in users.text
    # mallory, with no bindings and no super user, is still refused the same
    [error] = _confluent_produce(charter, _sasl("mallory"), topic, 1)
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
