"""``avro_from_json``: the text ``charter consume`` prints for bytes, datetimes and decimals read
back into the values the Avro encoder takes."""

from __future__ import annotations

import datetime
import decimal
import json

from charter.cli_client import to_json
from charter.sdk.codecs import AvroCodec
from charter.sdk.json_values import avro_from_json, needs_conversion

SCHEMA = {
    "type": "record",
    "name": "Payment",
    "namespace": "shop",
    "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 8, "scale": 2},
        },
        {"name": "raw", "type": "bytes"},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 2}},
        {"name": "maybe", "type": ["null", "bytes"], "default": None},
        {"name": "text", "type": ["null", "string", "bytes"], "default": None},
        {"name": "again", "type": ["null", "shop.Digest"], "default": None},
        {
            "name": "lines",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Line",
                    "fields": [{"name": "note", "type": {"type": "map", "values": "bytes"}}],
                },
            },
        },
    ],
}
VALUE = {
    "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=datetime.UTC),
    "day": datetime.date(2024, 1, 2),
    "amount": decimal.Decimal("12.34"),
    "raw": b"\x00\x01",
    "digest": b"\xff\x00",
    "maybe": b"\x02",
    "text": "eA==",
    "again": b"\x01\x02",
    "lines": [{"note": {"k": b"v"}}],
}


def test_what_consume_prints_reads_back_to_the_same_record():
    codec = AvroCodec(1, SCHEMA)
    printed = json.loads(to_json(codec.decode(codec.encode(VALUE)[5:])))
    assert printed["raw"] == "AAE=" and printed["at"].startswith("2024-01-02T03:04:05.123")
    assert codec.encode(avro_from_json(SCHEMA, printed)) == codec.encode(VALUE)


def test_text_that_does_not_parse_is_left_for_the_encoder_to_name():
    value = dict(VALUE, raw="not base64!", day="tomorrow")
    converted = avro_from_json(SCHEMA, json.loads(to_json(value)))
    assert converted["raw"] == "not base64!" and converted["day"] == "tomorrow"


def test_plain_schemas_need_no_conversion():
    plain = {"type": "record", "name": "P", "fields": [{"name": "n", "type": "long"}]}
    assert not needs_conversion(plain)
    assert needs_conversion(SCHEMA)
