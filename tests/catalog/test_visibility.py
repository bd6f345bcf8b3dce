"""Search, glossary, lineage and impact answer per principal with auth on (SQLite and
PostgreSQL): only what the principal may read is listed, counted and faceted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalog.model import SearchQuery, Visibility, VisibleNames
from charter.app import create_app
from charter.config import Settings
from governance.security.service import SecurityService
from tests.security.test_http import basic
from tests.ui.seed import seed_catalog

ADMIN = basic("admin", "admin-password")
READER = basic("reader", "reader-password")  # DeveloperRead on Subject:orders-*
TOPICS = basic("topics", "topics-password")  # DeveloperRead on Topic:orders, Subject:orders-value
ODD = basic("odd", "odd-password")  # bindings whose names hold quotes, %, _ and *
NOBODY = basic("nobody", "nobody-password")  # no binding at all
SMALL = json.dumps({"type": "record", "name": "Odd", "fields": [{"name": "oddity", "type": "int"}]})
ODD_SUBJECTS = ("it's_50%-value", "its_50x-value", "a*b", "axb", "a_c", "abc")


def _close(application: Flask) -> None:
    application.extensions["charter.events"].stop()
    security = application.extensions["charter.security"]
    security.authorizer.stop()
    security.audit.stop()
    database = application.extensions["charter.database"]
    if not database.is_closed():
        database.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def secured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    application = create_app(Settings(data_dir=tmp_path, auth=True, database_url=url))
    security: SecurityService = application.extensions["charter.security"]
    security.bootstrap_admin("admin-password")
    bindings = {
        "reader": [("DeveloperRead", "Subject:orders-*")],
        "topics": [("DeveloperRead", "Topic:orders"), ("DeveloperRead", "Subject:orders-value")],
        "odd": [("DeveloperRead", "Subject:it's_50%*"), ("DeveloperRead", "Subject:a*b")]
        + [("DeveloperRead", "Subject:a_c")],
        "nobody": [],
    }
    for name, roles in bindings.items():
        security.create_user(name, f"{name}-password", actor="test")
        for role, resource in roles:
            security.create_binding(f"User:{name}", role, resource, actor="test")
    seed_catalog(application, ADMIN)
    client = application.test_client()
    for subject in ODD_SUBJECTS:
        response = client.post(
            f"/subjects/{quote(subject, safe='')}/versions", json={"schema": SMALL}, headers=ADMIN
        )
        assert response.status_code == 200, response.json
    application.extensions["charter.catalog"].indexer.catch_up()
    yield application
    _close(application)


@pytest.fixture
def client(secured: Flask) -> FlaskClient:
    return secured.test_client()


def _search(client: FlaskClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/catalog/v1/search", query_string=params, headers=headers)
    assert response.status_code == 200, response.data
    return response.json


def _subject_of(hit: dict[str, Any]) -> str:
    return hit["subject"] if hit["type"] == "field" else hit["name"]


def test_a_prefix_reader_sees_only_its_subjects_and_their_counts(client: FlaskClient) -> None:
    everything = _search(client, ADMIN, q="email", limit=200)
    mine = _search(client, READER, q="email", limit=200)
    assert {_subject_of(hit) for hit in everything["results"]} >= {"orders-value", "contacts-value"}
    assert mine["results"] and all(_subject_of(h).startswith("orders-") for h in mine["results"])
    assert all(hit["type"] in ("subject", "field") for hit in mine["results"])  # no Topic binding
    assert mine["total"] == len(mine["results"]) < everything["total"]
    assert sum(mine["facets"]["type"].values()) == mine["total"]
    assert mine["facets"]["tag"] == {"PII": 1}  # contacts-value's PII email is not counted
    assert everything["facets"]["tag"]["PII"] == 2
    # with no text, the whole visible catalog: orders' subject and fields, and glossary terms
    listed = _search(client, READER, limit=200)
    assert {hit["type"] for hit in listed["results"]} == {"subject", "field", "term"}
    assert {_subject_of(h) for h in listed["results"] if h["type"] != "term"} == {"orders-value"}


def test_system_admin_sees_everything(client: FlaskClient) -> None:
    listed = _search(client, ADMIN, limit=200)
    subjects = {_subject_of(h) for h in listed["results"] if h["type"] in ("subject", "field")}
    assert subjects == {"orders-value", "contacts-value", *ODD_SUBJECTS}
    assert {h["name"] for h in listed["results"] if h["type"] == "topic"} == {"orders", "contacts"}
    assert listed["total"] == len(listed["results"])


def test_nobody_is_refused_as_before(client: FlaskClient) -> None:
    response = client.get("/catalog/v1/search?q=email", headers=NOBODY)
    assert response.status_code == 403 and response.json["error_code"] == 40301
    assert client.get("/ui/?q=email", headers=NOBODY).status_code == 403


def test_pages_walk_the_visible_set_once(client: FlaskClient) -> None:
    whole = _search(client, READER, limit=200)
    seen: list[str] = []
    for offset in range(0, whole["total"] + 3, 3):
        page = _search(client, READER, limit=3, offset=offset)
        assert page["total"] == whole["total"]
        seen += [hit["qualifiedName"] for hit in page["results"]]
    assert seen == [hit["qualifiedName"] for hit in whole["results"]]


def test_binding_patterns_are_compared_as_text(client: FlaskClient) -> None:
    listed = _search(client, ODD, limit=200, type="subject")
    # "it's_50%*" is a prefix of "it's_50%-value" only; "a*b" and "a_c" are literal names
    assert sorted(hit["name"] for hit in listed["results"]) == ["a*b", "a_c", "it's_50%-value"]
    assert listed["total"] == 3
    fields = _search(client, ODD, q="oddity", limit=200)
    assert sorted(hit["subject"] for hit in fields["results"] if hit["type"] == "field") == [
        "a*b",
        "a_c",
        "it's_50%-value",
    ]


def test_lineage_and_impact_leave_out_what_cannot_be_read(client: FlaskClient) -> None:
    full = client.get("/catalog/v1/lineage?entity=topic:orders", headers=ADMIN).json
    assert {g["groupId"] for g in full["consumerGroups"]} == {"billing", "analytics"}
    topic = client.get("/catalog/v1/lineage?entity=topic:orders", headers=TOPICS)
    assert topic.status_code == 200, topic.data
    assert topic.json["consumerGroups"] == []  # no Group binding
    assert topic.json["subjects"] == ["orders-value"]
    assert {p["clientId"] for p in topic.json["producers"]} == {"checkout-service", "backfill-job"}
    subject = client.get("/catalog/v1/lineage?entity=subject:orders-value", headers=READER).json
    assert subject["known"] and subject["topics"] == []  # no Topic binding
    with_topics = client.get("/catalog/v1/lineage?entity=subject:orders-value", headers=TOPICS)
    [orders] = with_topics.json["topics"]
    assert orders["entity"] == "topic:orders" and orders["consumerGroups"] == []
    impact = client.post(
        "/catalog/v1/impact?subject=orders-value", json={"schema": SMALL}, headers=READER
    )
    assert impact.status_code == 200 and impact.json["topics"] == []
    impact = client.post(
        "/catalog/v1/impact?subject=orders-value", json={"schema": SMALL}, headers=ADMIN
    )
    assert [t["name"] for t in impact.json["topics"]] == ["orders"]
    assert {g["groupId"] for g in impact.json["topics"][0]["consumerGroups"]} == {
        "billing",
        "analytics",
    }


def test_ui_search_term_and_topic_pages_show_only_what_can_be_read(
    secured: Flask, client: FlaskClient
) -> None:
    client.post(
        "/catalog/v1/entities/field:contacts-value:email/terms",
        json={"value": "Customer"},
        headers=ADMIN,
    )
    client.post(
        "/catalog/v1/entities/field:orders-value:customer.customerEmail/terms",
        json={"value": "Customer"},
        headers=ADMIN,
    )
    secured.extensions["charter.catalog"].indexer.catch_up()
    search = client.get("/ui/?q=email", headers=READER).data.decode()
    assert "customer.customerEmail" in search and "contacts-value" not in search
    term = client.get("/ui/entities/term:Customer", headers=READER)
    assert term.status_code == 200
    assert "customer.customerEmail" in term.data.decode()
    assert "contacts-value" not in term.data.decode()
    admin_term = client.get("/ui/entities/term:Customer", headers=ADMIN).data.decode()
    assert "contacts-value" in admin_term
    page = client.get("/ui/topics/orders", headers=TOPICS)
    assert page.status_code == 200
    assert "billing" not in page.data.decode() and "analytics" not in page.data.decode()
    assert client.get("/ui/topics/contacts", headers=TOPICS).status_code == 403
    assert client.get("/ui/subjects/contacts-value", headers=READER).status_code == 403
    assert (
        client.get("/catalog/v1/entities/subject:contacts-value", headers=READER).status_code == 403
    )


def test_an_inexact_visibility_is_checked_candidate_by_candidate(secured: Flask) -> None:
    """The path for authorizers with DENY entries: patterns are an upper bound, ``check`` has
    the last word, and total, facets and the page agree."""
    service = secured.extensions["charter.catalog"]
    denied = "orders-value"
    visibility = Visibility(
        topics=VisibleNames(),
        subjects=VisibleNames(prefixes=("orders-", "contacts-")),
        groups=VisibleNames(),
        exact=False,
        check=lambda kind, name: name != denied,
    )
    page = service.search(SearchQuery(text="email", limit=200, visibility=visibility))
    assert page.results and {e.subject for e in page.results} == {"contacts-value"}
    assert page.total == len(page.results) and page.facets["tag"] == {"PII": 1}
    assert service.search(SearchQuery(text="email", limit=1, visibility=visibility)).total == (
        page.total
    )
