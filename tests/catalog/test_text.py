"""Tokenisation, and hostile query text never becoming FTS or SQL syntax (both backends)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.text import index_text, query_terms
from tests.catalog.conftest import ORDER, Catalog

ODD_QUERIES = [
    '"',
    "'",
    '"unterminated',
    "email OR 1=1; DROP TABLE catalog_entity; --",
    "NEAR(email customer)",
    "email*",
    "*",
    "^email",
    "customer:email",
    "-email",
    "email AND NOT name",
    "(((",
    "%",
    "_",
    "\\",
    "é",
    "💥",
    "a & b | !c <-> d",
    "'; SELECT pg_sleep(1); --",
    "{}[]",
    " ",
]


def test_identifiers_split_into_words() -> None:
    assert index_text("customerEmail").split() == ["customeremail", "customer", "email"]
    assert set(index_text("customer_email").split()) == {"customer", "email", "customeremail"}
    assert query_terms("HTTPStatus2xx") == ["http", "status", "2", "xx"]
    assert query_terms('"customer.email" OR *') == ["customer", "email", "or"]
    assert query_terms("Straße") == ["straße"]


def test_odd_queries_are_searched_as_text(cat: Catalog) -> None:
    cat.register("orders-value", ORDER)
    for query in ODD_QUERIES:
        response = cat.client.get("/catalog/v1/search", query_string={"q": query})
        assert response.status_code == 200, (query, response.json)
        assert set(response.json) == {"total", "results", "facets"}
    assert cat.names("customer:email")[0] == "field:orders-value:customer.customerEmail"
    assert cat.search("%")["total"] == 0
    assert cat.names("_") == ["field:orders-value:order_id"]  # a plain substring
    for table in ("catalog_entity", "registry_schema"):
        database = cat.app.extensions["charter.database"]
        assert database.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # NUL is refused before any route runs (400; tests/http_fuzz/test_hostile_strings.py)
    query=st.text(max_size=60).filter(lambda text: "\x00" not in text),
    tag=st.text(max_size=12).filter(lambda text: "\x00" not in text),
    type_=st.sampled_from(["", "topic", "subject", "field", "term"]),
)
def test_hostile_queries_never_fail(cat: Catalog, query: str, tag: str, type_: str) -> None:
    params = {"q": query, "tag": tag, "type": type_}
    response = cat.client.get("/catalog/v1/search", query_string=params)
    assert response.status_code == 200, (params, response.data)
