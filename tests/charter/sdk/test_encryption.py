"""Field encryption in the SDK without a registry: which fields, the key formats, the refusals.

The local KMS and the DEK format must be byte-compatible with confluent-kafka's
(Tink's) so either side reads the other's keys; the e2e test
``tests/e2e/test_dek_registry_confluent.py`` runs both against a platform.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from charter.sdk.encryption import compile_encryption
from charter.sdk.encryption_keys import FieldCipher, LocalKms, raw_key, tink_key
from charter.sdk.errors import RegistryClientError, ValidationError
from charter.sdk.rules import READ_MODES, WRITE_MODES

ADDRESS = {
    "type": "record",
    "name": "Address",
    "fields": [{"name": "street", "type": "string", "confluent:tags": ["PII"]}],
}
CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "namespace": "acme",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "photo", "type": "bytes", "confluent:tags": ["PII"]},
        {"name": "home", "type": ADDRESS},
        {"name": "work", "type": ["null", "acme.Address"], "default": None},
    ],
}
METADATA = {"tags": {"acme.Customer.email": ["PII"]}}


def rule_set(**params: Any) -> dict:
    return {
        "domainRules": [
            {
                "name": "encryptPII",
                "kind": "TRANSFORM",
                "type": "ENCRYPT",
                "mode": "WRITEREAD",
                "tags": ["PII"],
                "params": {"encrypt.kek.name": "k", "encrypt.kms.type": "local-kms", **params},
            }
        ]
    }


class FakeDekRegistry:
    """The DEK registry routes ``KeyRing`` calls, in memory: DEK versions with their ``ts``."""

    def __init__(self) -> None:
        self.keks: dict[str, Any] = {}
        self.deks: dict[str, dict[int, Any]] = {}
        self.now_ms = 1_700_000_000_000

    def call(self, method: str, path: str, body: Any = None) -> Any:
        path = path.split("?")[0]
        if path.startswith("/dek-registry/v1/keks") and "/deks/" not in path:
            if method == "POST":
                self.keks[body["name"]] = body
                return body
            name = path.rsplit("/", 1)[1]
            if name not in self.keks:
                raise RegistryClientError("Key not found", 404, 40470)
            return self.keks[name]
        subject = path.split("/deks/")[1].split("/versions")[0]
        versions = self.deks.setdefault(subject, {})
        if method == "POST":
            if body["version"] in versions:
                raise RegistryClientError("Key exists", 409, 40972)
            versions[body["version"]] = {**body, "ts": self.now_ms}
            return versions[body["version"]]
        wanted = path.rsplit("/versions/", 1)[1]
        version = max(versions, default=0) if wanted == "latest" else int(wanted)
        if version not in versions:
            raise RegistryClientError("Key not found", 404, 40470)
        return versions[version]


def encryption(registry: FakeDekRegistry, modes=WRITE_MODES, secret: str | None = "s", **params):
    return compile_encryption(
        "AVRO", CUSTOMER, rule_set(**params), METADATA, modes=modes, subject="c-value",
        rest=registry, rule_config={"secret": secret} if secret else {},  # type: ignore[arg-type]
    )  # fmt: skip


def customer() -> dict[str, Any]:
    return {
        "id": 7, "ssn": "123", "email": "a@b.c", "photo": b"\x00\x01",
        "home": {"street": "Main"}, "work": {"street": "Side"},
    }  # fmt: skip


def test_tagged_fields_are_encrypted_through_nested_records_and_unions():
    registry = FakeDekRegistry()
    writer = encryption(registry)
    encrypted = writer.encrypt(customer())
    assert encrypted["id"] == 7
    for field in ("ssn", "email"):
        assert encrypted[field] != customer()[field]
        base64.b64decode(encrypted[field], validate=True)
    assert encrypted["photo"] != b"\x00\x01" and isinstance(encrypted["photo"], bytes)
    assert encrypted["home"]["street"] != "Main" and encrypted["work"]["street"] != "Side"
    assert encrypted["ssn"] != writer.encrypt(customer())["ssn"]  # a fresh IV each time
    assert list(registry.keks) == ["k"] and list(registry.deks) == ["c-value"]

    reader = encryption(registry, READ_MODES)  # another key ring: the DEK comes from the registry
    assert reader.decrypt(encrypted) == customer()
    assert reader.decrypt({**encrypted, "email": None, "work": None})["work"] is None
    other_secret = encryption(registry, READ_MODES, secret="other")
    with pytest.raises(Exception):  # noqa: B017 - the KEK does not open the DEK
        other_secret.decrypt(encrypted)


def test_a_tampered_field_is_a_validation_error():
    registry = FakeDekRegistry()
    encrypted = encryption(registry).encrypt(customer())
    tampered = base64.b64decode(encrypted["ssn"])
    tampered = base64.b64encode(tampered[:-1] + bytes([tampered[-1] ^ 1])).decode()
    with pytest.raises(ValidationError, match="encryptPII"):
        encryption(registry, READ_MODES).decrypt({**encrypted, "ssn": tampered})


@pytest.mark.parametrize(
    ("params", "secret", "message"),
    [
        ({}, None, "needs a secret"),
        ({"encrypt.kms.type": "aws-kms"}, "s", "local-kms only"),
        ({"encrypt.dek.algorithm": "ROT13"}, "s", "AES128_GCM, AES256_GCM, AES256_SIV"),
        ({"encrypt.dek.expiry.days": "soon"}, "s", "whole number of days"),
        ({"encrypt.dek.expiry.days": "-1"}, "s", "whole number of days"),
    ],
)
def test_rules_the_sdk_cannot_run_are_refused(params, secret, message):
    with pytest.raises(ValidationError, match=message):
        encryption(FakeDekRegistry(), secret=secret, **params)


def test_a_rule_without_tags_is_refused():
    untagged = rule_set()
    del untagged["domainRules"][0]["tags"]
    with pytest.raises(ValidationError, match="no tags"):
        compile_encryption(
            "AVRO", CUSTOMER, untagged, None, modes=WRITE_MODES, subject="s",
            rest=FakeDekRegistry(), rule_config={"secret": "s"},  # type: ignore[arg-type]
        )  # fmt: skip


def test_no_rules_in_the_mode_means_no_encryption():
    assert encryption(FakeDekRegistry(), modes=frozenset({"UPGRADE"})) is None


def test_keys_are_byte_compatible_with_tink_and_confluents_local_kms():
    pytest.importorskip("tink")
    from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
        DekAlgorithm,
    )
    from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import Cryptor
    from confluent_kafka.schema_registry.rules.encryption.localkms.local_client import (
        LocalKmsClient,
    )

    confluent_kms = LocalKmsClient("s3cret").get_aead("local-kms://x")
    ours = LocalKms("s3cret")
    assert ours.decrypt(confluent_kms.encrypt(b"dek", b"")) == b"dek"
    assert confluent_kms.decrypt(ours.encrypt(b"dek"), b"") == b"dek"
    cryptor = Cryptor(DekAlgorithm.AES256_GCM)
    dek = cryptor.generate_key()
    assert tink_key(raw_key(dek)) == dek
    registry = FakeDekRegistry()
    registry.keks["k"] = {"name": "k"}
    registry.deks["c-value"] = {
        1: {"version": 1, "encryptedKeyMaterial": base64.b64encode(ours.encrypt(dek))}
    }
    field = encryption(registry, READ_MODES, secret="s3cret")

    def sealed(plaintext: bytes) -> str:
        return base64.b64encode(cryptor.encrypt(dek, plaintext, b"")).decode()

    written = {
        "id": 1, "ssn": sealed(b"123"), "email": None, "photo": cryptor.encrypt(dek, b"p", b""),
        "home": {"street": sealed(b"Main")}, "work": None,
    }  # fmt: skip
    assert field.decrypt(written) == {
        "id": 1, "ssn": "123", "email": None, "photo": b"p", "home": {"street": "Main"},
        "work": None,
    }  # fmt: skip


def test_the_secret_may_come_from_local_secret(monkeypatch):
    monkeypatch.setenv("LOCAL_SECRET", "from-env")
    registry = FakeDekRegistry()
    encrypted = encryption(registry, secret=None).encrypt(customer())
    monkeypatch.delenv("LOCAL_SECRET")
    assert encryption(registry, READ_MODES, secret="from-env").decrypt(encrypted) == customer()


def test_aes_siv_is_deterministic_and_matches_tink():
    pytest.importorskip("tink")
    from confluent_kafka.schema_registry.rules.encryption.dek_registry.dek_registry_client import (
        DekAlgorithm,
    )
    from confluent_kafka.schema_registry.rules.encryption.encrypt_executor import Cryptor

    cryptor = Cryptor(DekAlgorithm.AES256_SIV)
    dek = cryptor.generate_key()
    raw = raw_key(dek, "AES256_SIV")
    assert tink_key(raw, "AES256_SIV") == dek
    cipher = FieldCipher(raw, "AES256_SIV")
    assert cipher.encrypt(b"123") == cryptor.encrypt(dek, b"123", b"") == cipher.encrypt(b"123")
    assert cipher.decrypt(cryptor.encrypt(dek, b"456", b"")) == b"456"

    registry = FakeDekRegistry()
    siv = encryption(registry, **{"encrypt.dek.algorithm": "AES256_SIV"})
    first, second = siv.encrypt(customer()), siv.encrypt(customer())
    assert first["ssn"] == second["ssn"] != "123"  # deterministic: joinable, still not plaintext
    reader = encryption(registry, READ_MODES, **{"encrypt.dek.algorithm": "AES256_SIV"})
    assert reader.decrypt(first) == customer()


def _compile(document: dict) -> Any:
    return compile_encryption(
        "AVRO", document, rule_set(), None, modes=WRITE_MODES, subject="s",
        rest=FakeDekRegistry(), rule_config={"secret": "s"},  # type: ignore[arg-type]
    )  # fmt: skip


def test_tagged_fields_the_sdk_cannot_reach_are_refused_not_sent_in_plaintext():
    tagged = {"type": "record", "name": "T", "fields": [
        {"name": "secret", "type": "string", "confluent:tags": ["PII"]}]}  # fmt: skip
    in_array = {"type": "record", "name": "R", "fields": [
        {"name": "items", "type": {"type": "array", "items": tagged}}]}  # fmt: skip
    with pytest.raises(ValidationError, match="R.items holds tagged fields inside an array"):
        _compile(in_array)
    in_map = {"type": "record", "name": "R", "fields": [
        {"name": "byKey", "type": {"type": "map", "values": tagged}}]}  # fmt: skip
    with pytest.raises(ValidationError, match="inside a map"):
        _compile(in_map)
    in_union = {"type": "record", "name": "R", "fields": [
        {"name": "either", "type": ["null", "string", tagged]}]}  # fmt: skip
    with pytest.raises(ValidationError, match="union of several types"):
        _compile(in_union)
    not_text = {"type": "record", "name": "R", "fields": [
        {"name": "n", "type": "long", "confluent:tags": ["PII"]}]}  # fmt: skip
    with pytest.raises(ValidationError, match="R.n is long"):
        _compile(not_text)


def test_recursive_schemas():
    untagged = {"type": "record", "name": "Node", "fields": [
        {"name": "label", "type": "string"},
        {"name": "next", "type": ["null", "Node"], "default": None}]}  # fmt: skip
    assert _compile(untagged).plans == []
    tagged = {"type": "record", "name": "Node", "fields": [
        {"name": "label", "type": "string", "confluent:tags": ["PII"]},
        {"name": "next", "type": ["null", "Node"], "default": None}]}  # fmt: skip
    with pytest.raises(ValidationError, match="Node.next is recursive"):
        _compile(tagged)
