"""Client-side field encryption (CSFLE) against ``charter up``'s DEK registry, SDK and Confluent.

confluent-kafka's ``AvroSerializer`` with an ``ENCRYPT`` rule on PII-tagged
fields and its ``FieldEncryptionExecutor`` (local KMS, a secret from config)
registers the KEK and a DEK in Charter's ``/dek-registry/v1`` and encrypts the
field; its ``AvroDeserializer`` reads the DEK back and decrypts. The SDK's
producer and consumer do the same with the same keys, so each side reads the
other's records; without the secret the SDK refuses rather than send
plaintext or hand out ciphertext.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import confluent_kafka
import pytest
import requests

pytest.importorskip("tink")  # confluent-kafka's encryption rules need it (its [rules] extra)

from confluent_kafka.schema_registry import Schema as ConfluentSchema  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentRegistry  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer  # noqa: E402
from confluent_kafka.schema_registry.json_schema import (  # noqa: E402
    JSONDeserializer,
    JSONSerializer,
)
from confluent_kafka.schema_registry.rule_registry import RuleRegistry  # noqa: E402
from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import (  # noqa: E402
    Clock,
    FieldEncryptionExecutor,
)
from confluent_kafka.schema_registry.rules.encryption.localkms.local_driver import (  # noqa: E402
    LocalKmsDriver,
)
from confluent_kafka.schema_registry.schema_registry_client import (  # noqa: E402
    Rule,
    RuleKind,
    RuleMode,
    RuleParams,
    RuleSet,
)
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

from charter import Producer, ValidationError  # noqa: E402
from charter.sdk import RecordErrorRaised  # noqa: E402
from tests.charter.processes import CharterProcess, running_up  # noqa: E402
from tests.e2e.test_sdk import consume, raw_records  # noqa: E402

CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
    ],
}
SECRET = {"secret": "charter-test-secret"}


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    LocalKmsDriver.register()
    with running_up(tmp_path_factory.mktemp("csfle") / "data") as process:
        yield process


def encrypting_rules(kek: str, algorithm: str, **extra: str) -> RuleSet:
    params = RuleParams(
        {
            "encrypt.kek.name": kek,
            "encrypt.kms.type": "local-kms",
            "encrypt.kms.key.id": "local-kms://charter-test",
            "encrypt.dek.algorithm": algorithm,
            **extra,
        }
    )
    rule = Rule(
        "encryptPII", "", RuleKind.TRANSFORM, RuleMode.WRITEREAD, "ENCRYPT", ["PII"], params,
        None, None, "ERROR,NONE", False,
    )  # fmt: skip
    return RuleSet(None, [rule])


class _Later(Clock):
    """Confluent's executor clock, ``days`` ahead: its DEKs look that old."""

    def __init__(self, days: int) -> None:
        self.days = days

    def now(self) -> int:
        return super().now() + self.days * 86_400_000


def executors(clock: Clock | None = None) -> RuleRegistry:
    """A private rule registry: each serializer configures its own executor."""
    registry = RuleRegistry()
    registry.register_executor(FieldEncryptionExecutor(clock or Clock()))
    return registry


@pytest.mark.parametrize("algorithm", ["AES256_GCM", "AES256_SIV"])
def test_confluent_field_encryption_round_trips_through_charters_dek_registry(charter, algorithm):
    topic = f"customers-{uuid.uuid4().hex[:8]}"
    kek = f"kek-{topic}"
    registry = ConfluentRegistry({"url": charter.url})
    schema = ConfluentSchema(
        json.dumps(CUSTOMER), "AVRO", [], None, encrypting_rules(kek, algorithm)
    )
    registry.register_schema(f"{topic}-value", schema)
    serialize = AvroSerializer(
        registry, schema_str=None,
        conf={"auto.register.schemas": False, "use.latest.version": True},
        rule_conf=SECRET, rule_registry=executors(),
    )  # fmt: skip
    context = SerializationContext(topic, MessageField.VALUE)
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    for number in range(2):
        raw.produce(topic, serialize({"id": number, "ssn": f"123-45-678{number}"}, context))
    assert raw.flush(30) == 0

    stored_kek = requests.get(f"{charter.url}/dek-registry/v1/keks/{kek}", timeout=10).json()
    assert stored_kek["kmsType"] == "local-kms" and stored_kek["shared"] is False
    dek = requests.get(
        f"{charter.url}/dek-registry/v1/keks/{kek}/deks/{topic}-value?algorithm={algorithm}",
        timeout=10,
    ).json()
    assert dek["version"] == 1 and dek["algorithm"] == algorithm and dek["encryptedKeyMaterial"]

    written = raw_records(charter, topic, 2)
    assert all(b"123-45-678" not in message.value() for message in written)  # ciphertext
    deserialize = AvroDeserializer(registry, rule_conf=SECRET, rule_registry=executors())
    assert [deserialize(message.value(), context) for message in written] == [
        {"id": 0, "ssn": "123-45-6780"},
        {"id": 1, "ssn": "123-45-6781"},
    ]

    # The SDK decrypts confluent's records with the same DEK...
    read = consume(charter, topic, 2, rule_config=SECRET)
    assert [m.value for m in read] == [
        {"id": 0, "ssn": "123-45-6780"},
        {"id": 1, "ssn": "123-45-6781"},
    ]
    # ...and without the secret refuses them rather than hand out ciphertext as the value.
    with pytest.raises(RecordErrorRaised, match="encryptPII.*secret"):
        consume(charter, topic, 1)

    # The SDK encrypts with the subject's DEK; confluent's deserializer decrypts.
    with Producer(charter.bootstrap, charter.url, auto_register=False, rule_config=SECRET) as sdk:
        sdk.produce(topic, {"id": 2, "ssn": "987-65-4321"})
    (_, _, sdk_written) = raw_records(charter, topic, 3)
    assert b"987-65-4321" not in sdk_written.value()
    assert deserialize(sdk_written.value(), context) == {"id": 2, "ssn": "987-65-4321"}
    assert consume(charter, topic, 3, rule_config=SECRET)[2].value == {
        "id": 2,
        "ssn": "987-65-4321",
    }
    with (
        Producer(charter.bootstrap, charter.url, auto_register=False) as no_secret,
        pytest.raises(ValidationError, match="encryptPII.*secret"),
    ):
        no_secret.produce(topic, {"id": 3, "ssn": "plain"})


PERSON_JSON = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "ssn": {"type": "string", "confluent:tags": ["PII"]},
        "emails": {"type": "array", "items": {"type": "string"}, "confluent:tags": ["PII"]},
        "home": {
            "type": "object",
            "properties": {"street": {"type": "string", "confluent:tags": ["PII"]}},
        },
    },
}


def person(number: int) -> dict:
    return {
        "id": number,
        "ssn": f"123-45-678{number}",
        "emails": [f"p{number}@example.com"],
        "home": {"street": f"{number} Main St"},
    }


def test_json_schema_field_encryption_interoperates_with_confluent(charter):
    topic = f"people-{uuid.uuid4().hex[:8]}"
    registry = ConfluentRegistry({"url": charter.url})
    rules = encrypting_rules(f"kek-{topic}", "AES256_GCM")
    registry.register_schema(
        f"{topic}-value", ConfluentSchema(json.dumps(PERSON_JSON), "JSON", [], None, rules)
    )
    serialize = JSONSerializer(
        json.dumps(PERSON_JSON), registry,
        conf={"auto.register.schemas": False, "use.latest.version": True},
        rule_conf=SECRET, rule_registry=executors(),
    )  # fmt: skip
    context = SerializationContext(topic, MessageField.VALUE)
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    raw.produce(topic, serialize(person(0), context))
    assert raw.flush(30) == 0

    # confluent's record: the SDK decrypts every tagged string...
    assert consume(charter, topic, 1, rule_config=SECRET)[0].value == person(0)
    # ...and the SDK's record: confluent's deserializer decrypts it.
    with Producer(charter.bootstrap, charter.url, auto_register=False, rule_config=SECRET) as sdk:
        sdk.produce(topic, person(1))
    written = raw_records(charter, topic, 2)
    assert all(b"Main St" not in m.value() and b"example.com" not in m.value() for m in written)
    deserialize = JSONDeserializer(
        None, schema_registry_client=registry, rule_conf=SECRET, rule_registry=executors()
    )
    assert deserialize(written[1].value(), context) == person(1)


def test_rotated_deks_interoperate_with_confluent(charter):
    topic = f"rotated-{uuid.uuid4().hex[:8]}"
    kek = f"kek-{topic}"
    registry = ConfluentRegistry({"url": charter.url})
    rules = encrypting_rules(kek, "AES256_GCM", **{"encrypt.dek.expiry.days": "1"})
    registry.register_schema(
        f"{topic}-value", ConfluentSchema(json.dumps(CUSTOMER), "AVRO", [], None, rules)
    )
    context = SerializationContext(topic, MessageField.VALUE)

    def confluent_serializer(clock: Clock) -> AvroSerializer:
        return AvroSerializer(
            registry, schema_str=None,
            conf={"auto.register.schemas": False, "use.latest.version": True},
            rule_conf=SECRET, rule_registry=executors(clock),
        )  # fmt: skip

    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    raw.produce(topic, confluent_serializer(Clock())({"id": 0, "ssn": "v1"}, context))
    # two days on, version 1 has expired: confluent's executor registers version 2
    raw.produce(topic, confluent_serializer(_Later(2))({"id": 1, "ssn": "v2"}, context))
    assert raw.flush(30) == 0
    versions = requests.get(
        f"{charter.url}/dek-registry/v1/keks/{kek}/deks/{topic}-value/versions", timeout=10
    ).json()
    assert versions == [1, 2]

    # The SDK reads both versions and writes with the latest, prefixed as Confluent does.
    read = consume(charter, topic, 2, rule_config=SECRET)
    assert [m.value for m in read] == [{"id": 0, "ssn": "v1"}, {"id": 1, "ssn": "v2"}]
    with Producer(charter.bootstrap, charter.url, auto_register=False, rule_config=SECRET) as sdk:
        sdk.produce(topic, {"id": 2, "ssn": "sdk"})
    sdk_written = raw_records(charter, topic, 3)[2]
    deserialize = AvroDeserializer(registry, rule_conf=SECRET, rule_registry=executors())
    assert deserialize(sdk_written.value(), context) == {"id": 2, "ssn": "sdk"}
