"""Typed records (dataclass, marshmallow -> Avro), schema detection, client-side contract rules."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json

import fastavro
import marshmallow
import pytest

from charter.sdk.codecs import AvroCodec, JsonCodec, unframe
from charter.sdk.errors import ValidationError
from charter.sdk.rules import compile_write_rules
from charter.sdk.schemas import as_schema
from charter.sdk.typed import avro_schema_of, to_plain


class Status(enum.Enum):
    NEW = 1
    PAID = 2


@dataclasses.dataclass
class Address:
    street: str
    zip: str


@dataclasses.dataclass
class Order:
    id: int
    customer: str
    amount: float
    status: Status
    address: Address
    tags: list[str]
    created: datetime.datetime
    note: str | None = None


def test_dataclass_to_avro_and_back():
    schema = avro_schema_of(Order)
    fastavro.parse_schema(schema)
    fields = {field["name"]: field for field in schema["fields"]}
    assert fields["id"]["type"] == "long"
    assert fields["note"] == {"name": "note", "type": ["null", "string"], "default": None}
    assert fields["status"]["type"] == {
        "type": "enum",
        "name": "Status",
        "symbols": ["NEW", "PAID"],
    }
    assert fields["address"]["type"]["type"] == "record"
    order = Order(
        1, "a", 2.5, Status.PAID, Address("s", "z"), ["t"], datetime.datetime.now(datetime.UTC)
    )
    codec = AvroCodec(1, schema)
    decoded = codec.decode(unframe(codec.encode(to_plain(order)))[1])
    assert decoded["status"] == "PAID" and decoded["address"] == {"street": "s", "zip": "z"}


class AddressSchema(marshmallow.Schema):
    street = marshmallow.fields.String(required=True)


class CustomerSchema(marshmallow.Schema):
    name = marshmallow.fields.String(required=True)
    age = marshmallow.fields.Integer()
    vip = marshmallow.fields.Boolean(required=True)
    address = marshmallow.fields.Nested(AddressSchema, required=True)
    emails = marshmallow.fields.List(marshmallow.fields.Email(), required=True)


def test_marshmallow_to_avro():
    schema = avro_schema_of(CustomerSchema)
    fastavro.parse_schema(schema)
    assert schema["name"] == "Customer"
    fields = {field["name"]: field["type"] for field in schema["fields"]}
    assert fields["age"] == ["null", "long"]
    assert fields["address"]["name"] == "Address"
    assert fields["emails"] == {"type": "array", "items": "string"}


def test_schema_detection():
    assert as_schema({"type": "record", "name": "R", "fields": []}).schema_type == "AVRO"
    assert as_schema('{"type": "object", "properties": {}}').schema_type == "JSON"
    assert as_schema({"$schema": "http://json-schema.org/draft-07/schema#"}).schema_type == "JSON"
    assert as_schema(Order).schema_type == "AVRO"
    with pytest.raises(ValidationError, match="not JSON"):
        as_schema("{nope")


def test_json_schema_codec_paths():
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["id"],
    }
    codec = JsonCodec(5, json.dumps(schema))
    framed = codec.encode({"id": 1, "items": ["a"]})
    assert unframe(framed) == (5, b'{"id":1,"items":["a"]}')
    assert codec.decode(unframe(framed)[1]) == {"id": 1, "items": ["a"]}
    with pytest.raises(ValidationError) as raised:
        codec.encode({"id": 1, "items": ["a", 3]})
    assert raised.value.path == "#/items/1"


RULES = {
    "domainRules": [
        {
            "name": "positive-amount",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.amount > 0.0",
        },
        {
            "name": "eu-only",
            "kind": "CONDITION",
            "mode": "WRITEREAD",
            "type": "CEL",
            "expr": "message.region == 'eu' ; message.amount < 1000.0",
            "onFailure": "DLQ",
            "params": {"dlq.topic": "orders-dlq"},
        },
        {"name": "read-only", "kind": "CONDITION", "mode": "READ", "type": "CEL", "expr": "false"},
        {
            "name": "off",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "false",
            "disabled": True,
        },
    ]
}


def test_condition_rules_run_client_side():
    rules = compile_write_rules("AVRO", {}, RULES, None)
    assert rules.check({"amount": 5.0, "region": "eu"}) == []
    (violation,) = rules.check({"amount": -1.0, "region": "us"})
    assert violation.rule == "positive-amount" and violation.action == "ERROR"
    (violation,) = rules.check({"amount": 5000.0, "region": "eu"})
    assert (violation.rule, violation.action, violation.dlq_topic) == (
        "eu-only",
        "DLQ",
        "orders-dlq",
    )
    assert rules.check({"amount": 5000.0, "region": "us"}) == []  # the guard is false


def test_rules_that_cannot_run_client_side_fail_closed():
    encrypt = {"name": "encrypt-pii", "kind": "TRANSFORM", "mode": "WRITEREAD", "type": "ENCRYPT"}
    rules = compile_write_rules("AVRO", {}, {"domainRules": [encrypt]}, None)
    (violation,) = rules.check({"ssn": "1"})
    assert violation.rule == "encrypt-pii" and "planned" in violation.reason


def test_a_rule_that_does_not_compile_is_refused():
    broken = {
        "name": "broken",
        "kind": "CONDITION",
        "mode": "WRITE",
        "type": "CEL",
        "expr": "message.(",
    }
    with pytest.raises(ValueError, match="broken"):
        compile_write_rules("AVRO", {}, {"domainRules": [broken]}, None)


def test_no_rules_is_cheap():
    assert compile_write_rules("AVRO", {}, None, None).check({}) == []
