"""UI flows in Chromium: search with facets, field page, curation, subject diff, topic lineage."""

from __future__ import annotations

from typing import Any

import pytest

# The first test may install Debian's chromium (tests/ui/conftest.py): allow for apt-get.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_search_facets_and_field_page(page: Any, live_catalog: str) -> None:
    page.goto(f"{live_catalog}/ui/")
    page.get_by_label("Search", exact=True).fill("email")
    page.locator("aside form button[type=submit]").click()
    assert page.locator("h1").inner_text() == "Results for “email”"
    hits = page.locator("ol.hits > li")
    assert hits.count() == 2
    assert "customer.customerEmail" in hits.first.inner_text() or "email" in hits.first.inner_text()
    # The PII facet narrows the results.
    page.locator("section.facet a", has_text="PII").click()
    assert page.locator("p.total").inner_text() == "2 results"
    page.get_by_role("link", name="customer.customerEmail").click()
    assert page.locator("h1").inner_text().endswith("customer.customerEmail")
    assert "Where receipts go" in page.locator("p.lead").inner_text()


def test_curating_a_field_from_its_page(page: Any, live_catalog: str) -> None:
    page.goto(f"{live_catalog}/ui/fields/orders-value/lines.sku")
    page.locator("#add-value").fill("inventory")
    page.get_by_role("button", name="Add").click()
    assert "inventory" in page.locator("dl.labels").inner_text()
    page.locator("#describe").fill("Stock keeping unit, as the warehouse prints it")
    page.get_by_role("button", name="Save description").click()
    assert page.locator("p.lead").inner_text() == "Stock keeping unit, as the warehouse prints it"
    page.goto(f"{live_catalog}/ui/?tag=inventory")
    assert page.locator("ol.hits > li").count() == 1
    page.goto(f"{live_catalog}/ui/fields/orders-value/lines.sku")
    page.get_by_role("button", name="Remove tag inventory").click()
    assert "inventory" not in page.locator("dl.labels").inner_text()


def test_subject_page_versions_and_diff(page: Any, live_catalog: str) -> None:
    page.goto(f"{live_catalog}/ui/subjects/orders-value")
    assert "BACKWARD" in page.locator("dl.kv").first.inner_text()
    page.locator("#left").select_option("1")
    page.locator("#right").select_option("2")
    page.get_by_role("button", name="Show diff").click()
    inserted = page.locator("table.diff ins")
    assert inserted.count() >= 1
    assert any('"note"' in text for text in inserted.all_inner_texts())
    assert page.locator("table.fields a", has_text="customer.customerEmail").count() == 1


def test_topic_page_shows_lineage(page: Any, live_catalog: str) -> None:
    page.goto(f"{live_catalog}/ui/?q=orders&type=topic")
    page.get_by_role("link", name="orders", exact=True).click()
    svg = page.locator("svg.lineage")
    assert svg.is_visible()
    labels = svg.locator("text").all_text_contents()
    assert {"orders", "checkout-service", "backfill-job", "billing", "analytics"} <= set(labels)
    assert "p0: 420" in page.locator("table").nth(1).inner_text()
    page.get_by_role("link", name="orders-value").click()
    assert page.locator("h1").inner_text().endswith("orders-value")


def test_pages_read_without_javascript(browser: Any, live_catalog: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_catalog}/ui/?q=customer")
        assert page.locator("ol.hits > li").count() >= 3
        page.goto(f"{live_catalog}/ui/topics/orders")
        assert page.locator("svg.lineage title").text_content() == "Lineage of orders"
        response = page.goto(f"{live_catalog}/ui/subjects/nope")
        assert response is not None and response.status == 404
        assert "not found" in page.locator("[role=alert]").inner_text()
    finally:
        context.close()


def test_topic_page_shows_its_schema_and_lag(page: Any, live_catalog: str) -> None:
    page.goto(f"{live_catalog}/ui/topics/orders")
    schema = page.locator("section.topic-schema")
    assert schema.locator("h3").inner_text() == "orders-value"
    assert "2 of 2" in schema.locator("dl.kv").inner_text()
    assert '"note"' in schema.locator("pre.schema").inner_text()
    groups = page.locator("table", has=page.locator("th", has_text="Lag")).first
    billing = groups.locator("tr", has_text="billing")
    assert billing.locator("td.lag").inner_text() == "80"  # log end 500 - committed 420
    details = page.locator("details", has_text="Lag of billing by partition")
    details.locator("summary").click()
    assert "0\t420\t500\t80" in details.locator("tbody").inner_text()


def test_governance_page_lists_policies_and_filters_the_audit_log(
    page: Any, live_catalog: str
) -> None:
    page.goto(f"{live_catalog}/ui/")
    page.get_by_role("link", name="Governance").click()
    assert page.locator("h1").inner_text() == "Governance"
    policy = page.locator("table.policies tr", has_text="max-record-bytes")
    assert "enabled" in policy.inner_text()
    assert page.locator("table.policies tr", has_text="owner-required").locator(".off").count()
    page.get_by_label("Resource").fill("policy:max-record-bytes")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 1 and "policy.change" in rows.first.inner_text()
    page.get_by_label("Action").fill("no.such.action")
    page.get_by_role("button", name="Filter").click()
    assert "No audit entry matches" in page.locator("#main").inner_text()


def test_governance_page_reads_without_javascript(browser: Any, live_catalog: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_catalog}/ui/governance?action=policy.change")
        assert page.locator("table.audit tbody tr").count() == 1
        page.goto(f"{live_catalog}/ui/topics/orders")
        assert page.locator("section.topic-schema pre").is_visible()
    finally:
        context.close()
