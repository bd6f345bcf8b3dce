"""Field encryption of JSON Schema values (walked as confluent-kafka's JSON serde walks them) and
DEK rotation (``encrypt.dek.expiry.days``: versioned ciphertexts, old versions still readable)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from charter.sdk.encryption import compile_encryption
from charter.sdk.encryption_keys import split_version
from charter.sdk.errors import ValidationError
from charter.sdk.rules import READ_MODES, WRITE_MODES
from tests.charter.sdk.test_encryption import CUSTOMER, METADATA, FakeDekRegistry, rule_set

PII = {"type": "string", "confluent:tags": ["PII"]}
PERSON = {
    "type": "object",
    "definitions": {"Address": {"type": "object", "properties": {"street": PII}}},
    "properties": {
        "id": {"type": "integer"},
        "ssn": PII,
        "email": {"type": ["string", "null"]},
        "home": {"$ref": "#/definitions/Address"},
        "aliases": {"type": "array", "items": {"type": "string"}, "confluent:tags": ["PII"]},
        "contacts": {"type": "array", "items": {"$ref": "#/definitions/Address"}},
        "card": {"oneOf": [{"type": "null"}, {"type": "string"}], "confluent:tags": ["PII"]},
    },
}
JSON_METADATA = {"tags": {"$.email": ["PII"]}}
VALUE = {
    "id": 7, "ssn": "123", "email": "a@b.c", "home": {"street": "Main"},
    "aliases": ["x", "y"], "contacts": [{"street": "Side"}], "card": "4111",
}  # fmt: skip


def json_encryption(registry: FakeDekRegistry, document: Any = PERSON, modes=WRITE_MODES, **params):
    return compile_encryption(
        "JSON", document, rule_set(**params), JSON_METADATA, modes=modes, subject="p-value",
        rest=registry, rule_config={"secret": "s"},  # type: ignore[arg-type]
    )  # fmt: skip


def test_tagged_json_strings_are_encrypted_through_refs_arrays_and_combinators():
    registry = FakeDekRegistry()
    encrypted = json_encryption(registry).encrypt(VALUE)
    assert encrypted["id"] == 7 and VALUE["ssn"] == "123"  # the input is left as it was
    changed = [
        encrypted["ssn"], encrypted["email"], encrypted["home"]["street"],
        *encrypted["aliases"], encrypted["contacts"][0]["street"], encrypted["card"],
    ]  # fmt: skip
    plain = ["123", "a@b.c", "Main", "x", "y", "Side", "4111"]
    for ciphertext, plaintext in zip(changed, plain, strict=True):
        assert ciphertext != plaintext
        base64.b64decode(ciphertext, validate=True)
    reader = json_encryption(registry, modes=READ_MODES)
    assert reader.decrypt(encrypted) == VALUE
    assert reader.decrypt({**encrypted, "card": None, "email": None})["card"] is None


@pytest.mark.parametrize(
    ("document", "value", "words"),
    [
        ({"properties": {"n": {"type": "integer", "confluent:tags": ["PII"]}}}, {"n": 1}, "int"),
        ({"properties": {"r": {"$ref": "other.json", "confluent:tags": ["PII"]}}}, {"r": "x"},
         "other documents"),
    ],
)  # fmt: skip
def test_tagged_json_values_the_sdk_cannot_encrypt_are_refused(document, value, words):
    with pytest.raises(ValidationError, match=words):
        json_encryption(FakeDekRegistry(), {"type": "object", **document}).encrypt(value)


def test_protobuf_encryption_is_still_refused():
    with pytest.raises(ValidationError, match="not PROTOBUF"):
        compile_encryption(
            "PROTOBUF", {}, rule_set(), None, modes=WRITE_MODES, subject="s",
            rest=FakeDekRegistry(), rule_config={"secret": "s"},  # type: ignore[arg-type]
        )  # fmt: skip


def avro_encryption(registry: FakeDekRegistry, modes=WRITE_MODES, **params):
    return compile_encryption(
        "AVRO", CUSTOMER, rule_set(**params), METADATA, modes=modes, subject="c-value",
        rest=registry, rule_config={"secret": "s"},  # type: ignore[arg-type]
    )  # fmt: skip


def customer(ssn: str) -> dict[str, Any]:
    return {
        "id": 1,
        "ssn": ssn,
        "email": None,
        "photo": b"p",
        "home": {"street": "M"},
        "work": None,
    }


def test_an_expired_dek_is_rotated_and_old_versions_stay_readable():
    registry = FakeDekRegistry()
    day_ms = 86_400_000
    registry.now_ms = int(time.time() * 1000) - 10 * day_ms  # version 1 made 10 days ago
    rotate = {"encrypt.dek.expiry.days": "30"}
    old = avro_encryption(registry, **rotate).encrypt(customer("old"))
    assert split_version(base64.b64decode(old["ssn"]))[0] == 1
    assert split_version(old["photo"])[0] == 1

    registry.now_ms = int(time.time() * 1000)
    week = {"encrypt.dek.expiry.days": "7"}  # version 1 is now older than the expiry
    new = avro_encryption(registry, **week).encrypt(customer("new"))
    assert split_version(base64.b64decode(new["ssn"]))[0] == 2
    assert sorted(registry.deks["c-value"]) == [1, 2]
    again = avro_encryption(registry, **week).encrypt(customer("again"))  # v2 is fresh: kept
    assert split_version(base64.b64decode(again["ssn"]))[0] == 2

    reader = avro_encryption(registry, READ_MODES, **week)
    assert reader.decrypt(old)["ssn"] == "old" and reader.decrypt(new)["ssn"] == "new"


def test_without_expiry_ciphertexts_have_no_version_prefix():
    registry = FakeDekRegistry()
    registry.now_ms = int(time.time() * 1000)
    plain = avro_encryption(registry, **{"encrypt.dek.algorithm": "AES256_SIV"})
    rotated = avro_encryption(
        registry, **{"encrypt.dek.algorithm": "AES256_SIV", "encrypt.dek.expiry.days": "1"}
    )
    unversioned = base64.b64decode(plain.encrypt(customer("x"))["ssn"])
    versioned = base64.b64decode(rotated.encrypt(customer("x"))["ssn"])
    assert versioned == b"\x00\x00\x00\x00\x01" + unversioned  # same DEK v1, deterministic
