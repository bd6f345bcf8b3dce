"""Search relevance, filters, facets, paging, deletion and curation on both backends."""

from __future__ import annotations

import copy
import json

from tests.catalog.conftest import ORDER, Catalog

MENTIONS_EMAIL = {
    "type": "record",
    "name": "Newsletter",
    "doc": "Sent by email to every subscriber; mentions email twice: email.",
    "fields": [{"name": "subscriber_id", "type": "string"}],
}
EMAIL_FIELD = {
    "type": "record",
    "name": "Contact",
    "fields": [{"name": "email", "type": "string"}],
}


def test_nested_fields_are_listed_with_dotted_paths(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    paths = sorted(hit["path"] for hit in cat.search(type="field", limit=50)["results"])
    assert paths == [
        "attributes",
        "customer",
        "customer.customerEmail",
        "customer.name",
        "lines",
        "lines.qty",
        "lines.sku",
        "order_id",
    ]
    field = cat.client.get("/catalog/v1/entities/field:orders-value:customer.customerEmail").json
    assert field["subject"] == "orders-value" and field["version"] == 1
    assert field["tags"] == ["PII"] and field["description"] == "Where receipts go"


def test_exact_name_beats_a_doc_mention(cat: Catalog) -> None:
    cat.register("newsletter-value", MENTIONS_EMAIL)
    cat.register("contacts-value", EMAIL_FIELD)
    names = cat.names("email")
    assert names[0] == "field:contacts-value:email"
    assert "subject:newsletter-value" in names


def test_camel_case_and_snake_case_are_split(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    assert cat.names("email")[0] == "field:orders-value:customer.customerEmail"
    assert "field:orders-value:customer.customerEmail" in cat.names("customer_email")
    assert "field:orders-value:customer.customerEmail" in cat.names("customerEmail")
    assert "field:orders-value:order_id" in cat.names("orderId")


def test_nested_path_query_and_prefix(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    assert cat.names("customer.customerEmail")[0] == "field:orders-value:customer.customerEmail"
    assert cat.names("lines.sku")[0] == "field:orders-value:lines.sku"
    assert "field:orders-value:customer.customerEmail" in cat.names("custom")


def test_filters_by_type_tag_owner_and_facets(cat: Catalog) -> None:
    cat.register(
        "orders-value", ORDER, metadata={"properties": {"owner": "team-orders", "domain": "sales"}}
    )
    cat.register("contacts-value", EMAIL_FIELD)
    assert cat.names("", tag="pii") == ["field:orders-value:customer.customerEmail"]
    assert cat.names("", tag="PII", type="field") == ["field:orders-value:customer.customerEmail"]
    assert cat.names("email", tag="nope") == []
    owned = cat.search(owner="team-orders", type="subject")
    assert [hit["qualifiedName"] for hit in owned["results"]] == ["subject:orders-value"]
    assert cat.search(domain="sales")["total"] == 9  # the subject and its 8 fields
    facets = cat.search("email")["facets"]
    assert facets["type"] == {"field": 2}
    assert facets["tag"] == {"PII": 1}
    assert facets["owner"] == {"team-orders": 1}


def test_pagination(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    everything = cat.names("", limit=100)
    assert len(everything) == cat.search()["total"] == 9
    pages = [cat.names("", limit=4, offset=offset) for offset in (0, 4, 8)]
    assert [name for page in pages for name in page] == everything
    assert cat.search("", limit=4, offset=100) == {
        "total": 9,
        "results": [],
        "facets": cat.search("", limit=4, offset=100)["facets"],
    }


def test_metadata_tags_and_json_schema(cat: Catalog) -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Payment",
        "description": "A card payment",
        "type": "object",
        "definitions": {
            "Card": {
                "type": "object",
                "properties": {"cardNumber": {"type": "string", "description": "PAN"}},
            }
        },
        "properties": {
            "amount": {"type": "number", "description": "In cents"},
            "card": {"$ref": "#/definitions/Card"},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            },
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    cat.register(
        "payments-value",
        schema,
        schema_type="JSON",
        metadata={"tags": {"**.cardNumber": ["PCI"]}},
    )
    subject = cat.client.get("/catalog/v1/entities/subject:payments-value").json
    assert subject["description"] == "A card payment"
    assert subject["schemaType"] == "JSON"
    assert cat.names("", tag="PCI") == ["field:payments-value:card.cardNumber"]
    assert cat.names("pan")[0] == "field:payments-value:card.cardNumber"
    assert "field:payments-value:items.sku" in cat.names("sku")


def test_avro_references_are_followed(cat: Catalog) -> None:
    customer = {
        "type": "record",
        "name": "Customer",
        "namespace": "com.acme",
        "fields": [{"name": "loyaltyTier", "type": "string"}],
    }
    cat.register("customer", customer)
    order = {
        "type": "record",
        "name": "Order",
        "namespace": "com.acme",
        "fields": [{"name": "buyer", "type": "com.acme.Customer"}],
    }
    cat.register(
        "orders-value",
        order,
        references=[{"name": "com.acme.Customer", "subject": "customer", "version": 1}],
    )
    assert "field:orders-value:buyer.loyaltyTier" in cat.names("loyalty")


def test_recursive_schema_stops(cat: Catalog) -> None:
    tree = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "label", "type": "string"},
            {"name": "children", "type": {"type": "array", "items": "Node"}},
        ],
    }
    cat.register("tree-value", tree)
    assert sorted(h["path"] for h in cat.search(type="field")["results"]) == ["children", "label"]


def test_deleting_removes_entries_and_new_versions_replace_fields(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    newer = copy.deepcopy(ORDER)
    newer["fields"] = [f for f in newer["fields"] if f["name"] != "lines"]
    newer["fields"].append({"name": "note", "type": "string", "default": ""})
    cat.register("orders-value", newer)
    assert cat.names("sku") == []
    assert cat.search("note", type="field")["results"][0]["version"] == 2
    assert cat.client.delete("/subjects/orders-value").status_code == 200
    cat.sync()
    assert cat.search("")["total"] == 0
    assert cat.client.get("/catalog/v1/entities/subject:orders-value").status_code == 404


def test_soft_deleting_the_latest_version_falls_back(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    newer = copy.deepcopy(ORDER)
    newer["fields"].append({"name": "note", "type": "string", "default": ""})
    cat.register("orders-value", newer)
    assert cat.client.delete("/subjects/orders-value/versions/2").status_code == 200
    cat.sync()
    assert cat.names("note", type="field") == []
    assert cat.client.get("/catalog/v1/entities/subject:orders-value").json["version"] == 1


def test_curation_is_kept_apart_and_survives_new_versions(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    qn = "field:orders-value:customer.customerEmail"
    client = cat.client
    assert client.post(f"/catalog/v1/entities/{qn}/tags", json={"value": "gdpr"}).status_code == 200
    assert (
        client.post(f"/catalog/v1/entities/{qn}/owners", json={"value": "alice"}).status_code == 200
    )
    response = client.put(
        f"/catalog/v1/entities/{qn}/description", json={"description": "Receipts and invoices"}
    )
    assert response.status_code == 200
    entity = response.json
    assert entity["tags"] == ["gdpr", "PII"]
    assert entity["schema"]["tags"] == ["PII"] and entity["curated"]["tags"] == ["gdpr"]
    assert entity["description"] == "Receipts and invoices"
    assert entity["schema"]["description"] == "Where receipts go"
    assert cat.names("invoices") == [qn]
    assert cat.names("", tag="gdpr") == [qn]

    newer = copy.deepcopy(ORDER)
    newer["fields"].append({"name": "note", "type": "string", "default": ""})
    cat.register("orders-value", newer)
    after = client.get(f"/catalog/v1/entities/{qn}").json
    assert after["version"] == 2
    assert after["curated"]["tags"] == ["gdpr"] and after["curated"]["owners"] == ["alice"]
    assert after["description"] == "Receipts and invoices"

    assert client.delete(f"/catalog/v1/entities/{qn}/tags/gdpr").status_code == 200
    assert client.delete(f"/catalog/v1/entities/{qn}/tags/PII").status_code == 404  # schema-derived
    assert cat.names("", tag="gdpr") == []
    replaced = client.put(f"/catalog/v1/entities/{qn}/owners", json={"owners": ["bob", "carol"]})
    assert replaced.json["owners"] == ["bob", "carol"]


def test_glossary_terms(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    client = cat.client
    response = client.put("/catalog/v1/glossary/Customer", json={"definition": "Someone who buys"})
    assert response.status_code == 200
    assert client.get("/catalog/v1/glossary").json == {
        "terms": [{"name": "Customer", "definition": "Someone who buys"}]
    }
    assert cat.names("buys") == ["term:Customer"]
    qn = "subject:orders-value"
    client.post(f"/catalog/v1/entities/{qn}/terms", json={"value": "Customer"})
    assert client.get(f"/catalog/v1/entities/{qn}").json["terms"] == ["Customer"]
    assert client.delete("/catalog/v1/glossary/Customer").status_code == 204
    assert cat.names("buys") == []


def test_topics_from_broker_events(cat: Catalog) -> None:
    from broker.topics.store import broker_outbox

    database = cat.app.extensions["charter.database"]
    with database.atomic():
        broker_outbox(database).append(
            "topic_created",
            {
                "name": "orders",
                "topic_id": "x",
                "partitions": 3,
                "is_internal": False,
                "configs": {"retention.ms": "1000"},
            },
        )
    cat.sync()
    topic = cat.client.get("/catalog/v1/entities/topic:orders").json
    assert topic["attributes"]["partitions"] == 3
    assert cat.names("orders", type="topic") == ["topic:orders"]
    with database.atomic():
        broker_outbox(database).append(
            "topic_deleted",
            {
                "name": "orders",
                "topic_id": "x",
                "partitions": 3,
                "is_internal": False,
                "configs": {},
            },
        )
    cat.sync()
    assert cat.names("orders", type="topic") == []


def test_bad_parameters_are_400_not_500(cat: Catalog) -> None:
    client = cat.client
    assert client.get("/catalog/v1/search?limit=abc").status_code == 400
    assert client.get("/catalog/v1/search?limit=100000").status_code == 400
    assert client.get("/catalog/v1/search?type=widget").status_code == 400
    assert client.get("/catalog/v1/entities/topic:nope").status_code == 404
    body = client.post("/catalog/v1/entities/topic:nope/tags", json={"value": "x"})
    assert body.status_code == 404 and body.json["error_code"] == 40401
    assert client.put(
        "/catalog/v1/glossary/x", data="{", content_type="application/json"
    ).status_code in (400, 422)
    assert json.loads(client.get("/catalog/v1/lineage?entity=bogus").data)["error_code"] == 40001


def test_edits_are_audited(cat: Catalog) -> None:
    from catalog.audit import MemoryAuditSink

    cat.register("orders-value", ORDER)
    sink = MemoryAuditSink()
    cat.service.audit = sink
    qn = "subject:orders-value"
    cat.client.post(f"/catalog/v1/entities/{qn}/tags", json={"value": "gold"})
    cat.client.post(f"/catalog/v1/entities/{qn}/tags", json={"value": "gold"})  # no change
    cat.client.put(f"/catalog/v1/entities/{qn}/description", json={"description": "Orders"})
    cat.client.delete(f"/catalog/v1/entities/{qn}/tags/gold")
    cat.client.put("/catalog/v1/glossary/Order", json={"definition": "A purchase"})
    assert [(e["action"], e["resource"]) for e in sink.entries] == [
        ("catalog.tag.add", qn),
        ("catalog.description.set", qn),
        ("catalog.tag.remove", qn),
        ("catalog.term.put", "term:Order"),
    ]
    assert all(e["actor"] == "User:ANONYMOUS" for e in sink.entries)
    assert all(e["outcome"] == "success" for e in sink.entries)
    assert sink.entries[0]["detail"] == '{"value": "gold"}'


def test_raw_match_is_the_bare_full_text_query(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    cat.register("contacts-value", EMAIL_FIELD)
    index = cat.service.indexer.index
    store = cat.service.store
    ids = index.raw_match("email", 10)
    names = [store.entities([i])[i]["qualified_name"] for i in ids]
    assert names[0] == "field:contacts-value:email"
    assert set(names) == {"field:contacts-value:email", "field:orders-value:customer.customerEmail"}
    assert index.raw_match("((", 10) == []
