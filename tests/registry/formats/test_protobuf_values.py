"""Protobuf messages as Python values (both views), back, and the field walk the catalog and
CEL_FIELD rules share."""

from __future__ import annotations

import datetime

import pytest

from registry.formats.base import ResolvedReference
from registry.formats.protobuf import PROTOBUF
from registry.formats.protobuf_fields import first_message, message_info, walk_fields
from registry.formats.protobuf_values import (
    MessageView,
    ValueMismatch,
    View,
    from_python,
    rule_view,
    to_python,
)

COMMON = """syntax = "proto3";
package acme.common;
message Money { string currency = 1; int64 units = 2; }
"""
SCHEMA = PROTOBUF.parse(
    """syntax = "proto3";
package acme;
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "acme/common.proto";

enum Kind { KIND_UNKNOWN = 0; RETAIL = 1; }

// A sale.
message Sale {
  int64 id = 1;
  Kind kind = 2;
  google.protobuf.Timestamp at = 3;
  google.protobuf.Duration took = 4;
  google.protobuf.Int32Value quantity = 5;
  acme.common.Money total = 6;
  map<string, acme.common.Money> by_currency = 7;
  optional string note = 8;
  repeated Sale related = 9;
}
""",
    (ResolvedReference("acme/common.proto", "common", 1, COMMON),),
)
SALE = SCHEMA.payload_validator.message_class([0])


def _sale() -> object:
    return from_python(
        SALE,
        {
            "id": 7,
            "kind": "RETAIL",
            "at": datetime.datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=datetime.UTC),
            "took": datetime.timedelta(seconds=-1, microseconds=500000),
            "quantity": 3,
            "total": {"currency": "EUR", "units": 12},
            "by_currency": {"EUR": {"currency": "EUR", "units": 12}},
        },
    )


def test_python_view_round_trips_well_known_types() -> None:
    value = to_python(_sale())
    assert value["kind"] == "RETAIL" and value["quantity"] == 3
    assert value["at"] == datetime.datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=datetime.UTC)
    assert value["took"] == datetime.timedelta(seconds=-1, microseconds=500000)
    assert value["by_currency"] == {"EUR": {"currency": "EUR", "units": 12}}
    assert "note" not in value and value["related"] == []
    assert from_python(SALE, value) == _sale()


def test_rule_view_follows_presence_and_confluent_binding() -> None:
    view = rule_view(_sale())
    assert isinstance(view, MessageView)
    assert view["kind"] == 1  # enums as numbers
    assert view["at"].seconds == 1_709_294_400  # a Timestamp stays a message (a CEL timestamp)
    assert "note" not in view and "total" in view and "related" in view
    with pytest.raises(KeyError):
        view["note"]
    assert set(view) == {"id", "kind", "at", "took", "quantity", "total", "by_currency", "related"}
    assert dict(view)["total"] == {"currency": "EUR", "units": 12}
    assert len(to_python(SALE(), View.RULES)) == 4  # id, kind, by_currency, related


def test_unknown_enum_numbers_stay_numbers() -> None:
    assert to_python(SALE(kind=5))["kind"] == 5


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"total": {"units": "12.5"}}, "#/total/units"),
        ({"by_currency": {"EUR": {"currency": 1}}}, "#/by_currency/EUR/currency"),
        ({"related": [{"id": 1}, {"kind": "NOPE"}]}, "#/related/1/kind"),
        ({"quantity": "3"}, "#/quantity"),
        ({"at": "2024-03-01"}, "#/at"),
        ({"id": 2**63}, "#/id"),
    ],
)
def test_mismatches_name_the_field(value: dict[str, object], path: str) -> None:
    with pytest.raises(ValueMismatch) as error:
        from_python(SALE, value)
    assert error.value.path == path


def test_field_walk_through_maps_imports_and_recursion() -> None:
    assert first_message(SCHEMA) == "acme.Sale"
    info = message_info(SCHEMA)
    assert info is not None and info.description == "A sale."
    fields = {".".join(f.path): f for f in walk_fields(SCHEMA)}
    assert fields["total.units"].full_name == "acme.common.Money.units"
    assert fields["total.units"].kind == "LONG" and fields["total.units"].singular
    assert fields["by_currency"].type_label == "map<string, acme.common.Money>"
    assert not fields["by_currency.currency"].singular
    assert fields["kind"].kind == "ENUM" and fields["at"].kind == "RECORD"
    assert "related.id" not in fields  # Sale inside Sale stops where it repeats
