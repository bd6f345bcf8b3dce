"""Protobuf subjects in the catalog: nested fields with dotted paths through messages, repeated,
map, oneof and imported types; leading comments as descriptions; ``confluent.field_meta`` tags."""

from __future__ import annotations

from typing import Any

from tests.catalog.conftest import Catalog

CUSTOMER = """syntax = "proto3";
package acme.common;
import "confluent/meta.proto";

// Someone who buys.
message Customer {
  // Full name as printed on invoices.
  string name = 1;
  string email = 2 [(confluent.field_meta) = { doc: "Where receipts go", tags: ["PII"] }];
}
"""
ORDER = """syntax = "proto3";
package acme;
import "acme/customer.proto";
import "confluent/meta.proto";

// An order placed in the web shop.
message Order {
  option (confluent.message_meta) = { tags: ["SALES"] };
  int64 order_id = 1;
  // Who placed it.
  acme.common.Customer customer = 2;
  repeated Line lines = 3;
  map<string, Address> addresses = 4;
  oneof payment {
    // Card number, masked.
    string card = 5 [(confluent.field_meta) = { tags: ["PCI"], params: { key: "masking", value: "last4" } }];
    string voucher = 6;
  }
  message Line {
    string sku = 1;
    int32 qty = 2;
  }
  message Address {
    string city = 1;
  }
  Order parent = 7;
}

message Refund {
  int64 order_id = 1;
}
"""


def _register(cat: Catalog) -> None:
    cat.register("acme/customer.proto", CUSTOMER, schema_type="PROTOBUF")
    cat.register(
        "orders-value",
        ORDER,
        schema_type="PROTOBUF",
        references=[
            {"name": "acme/customer.proto", "subject": "acme/customer.proto", "version": 1}
        ],
    )


def _field(cat: Catalog, path: str) -> dict[str, Any]:
    response = cat.client.get(f"/catalog/v1/entities/field:orders-value:{path}")
    assert response.status_code == 200, (path, response.json)
    return response.json


def test_nested_fields_through_messages_collections_oneofs_and_imports(cat: Catalog) -> None:
    _register(cat)
    fields = cat.search(type="field", limit=100, subject="orders-value")["results"]
    paths = sorted(hit["path"] for hit in fields if hit["subject"] == "orders-value")
    assert paths == [
        "Refund.order_id",
        "addresses",
        "addresses.city",
        "card",
        "customer",
        "customer.email",
        "customer.name",
        "lines",
        "lines.qty",
        "lines.sku",
        "order_id",
        "parent",  # a recursive type stops where it repeats
        "voucher",
    ]


def test_comments_field_meta_and_message_meta(cat: Catalog) -> None:
    _register(cat)
    subject = cat.client.get("/catalog/v1/entities/subject:orders-value").json
    assert subject["description"] == "An order placed in the web shop."
    assert subject["tags"] == ["SALES"]
    assert _field(cat, "customer")["description"] == "Who placed it."
    assert _field(cat, "customer.name")["description"] == "Full name as printed on invoices."
    email = _field(cat, "customer.email")
    assert email["description"] == "Where receipts go" and email["tags"] == ["PII"]
    card = _field(cat, "card")
    assert card["tags"] == ["PCI"]
    assert card["description"] == "Card number, masked. (masking=last4)"
    assert _field(cat, "lines")["fieldType"] == "repeated acme.Order.Line"
    assert _field(cat, "addresses")["fieldType"] == "map<string, acme.Order.Address>"
    assert _field(cat, "customer")["fieldType"] == "acme.common.Customer"


def test_search_finds_protobuf_fields_by_tag_and_path(cat: Catalog) -> None:
    _register(cat)
    assert "field:orders-value:customer.email" in cat.names("", tag="PII")
    assert cat.names("customer.email")[0] == "field:orders-value:customer.email"
    assert "field:orders-value:card" in cat.names("masking")


def test_metadata_tags_apply_to_protobuf_paths(cat: Catalog) -> None:
    cat.register("acme/customer.proto", CUSTOMER, schema_type="PROTOBUF")
    cat.register(
        "tagged-value",
        ORDER,
        schema_type="PROTOBUF",
        references=[
            {"name": "acme/customer.proto", "subject": "acme/customer.proto", "version": 1}
        ],
        metadata={"tags": {"lines.*": ["LINE"]}},
    )
    assert sorted(cat.names("", tag="LINE")) == [
        "field:tagged-value:lines.qty",
        "field:tagged-value:lines.sku",
    ]
