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
from confluent_kafka.schema_registry.rule_registry import RuleRegistry  # noqa: E402
from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import (  # noqa: E402
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


def encrypting_rules(kek: str, algorithm: str) -> RuleSet:
    params = RuleParams(
        {
            "encrypt.kek.name": kek,
            "encrypt.kms.type": "local-kms",
            "encrypt.kms.key.id": "local-kms://charter-test",
            "encrypt.dek.algorithm": algorithm,
        }
    )
    rule = Rule(
        "encryptPII", "", RuleKind.TRANSFORM, RuleMode.WRITEREAD, "ENCRYPT", ["PII"], params,
        None, None, "ERROR,NONE", False,
    )  # fmt: skip
    return RuleSet(None, [rule])


def executors() -> RuleRegistry:
    """A private rule registry: each serializer configures its own executor."""
    registry = RuleRegistry()
    registry.register_executor(FieldEncryptionExecutor())
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
