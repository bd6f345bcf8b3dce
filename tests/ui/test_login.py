"""With auth on, in Chromium: the login page, an edit through a form, a forged POST refused,
signing out; pages answer per role."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.seed import seed_catalog

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def secured_catalog(tmp_path: Path) -> Iterator[str]:
    """A seeded catalog with auth on: admin, steward (DataSteward), reader (DeveloperRead on
    orders-*)."""
    from werkzeug.serving import make_server

    from charter.app import create_app
    from charter.config import Settings

    app = create_app(Settings(data_dir=tmp_path, auth=True))
    security = app.extensions["charter.security"]
    security.bootstrap_admin("admin-password")
    security.create_user("steward", "steward-password", actor="test")
    security.create_binding("User:steward", "DataSteward", None, actor="test")
    security.create_user("reader", "reader-password", actor="test")
    security.create_binding("User:reader", "DeveloperRead", "Subject:orders-*", actor="test")
    seed_catalog(app, _basic("admin", "admin-password"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["charter.events"].stop()
        security.audit.stop()
        app.extensions["charter.database"].close()


def _sign_in(page: Any, name: str, password: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_login_with_wrong_then_right_password(page: Any, secured_catalog: str) -> None:
    page.goto(f"{secured_catalog}/ui/subjects/orders-value")
    assert page.locator("h1").inner_text() == "Sign in"  # sent to the login page
    _sign_in(page, "steward", "not-the-password")
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    assert page.context.cookies() == [] or all(
        c["name"] != "charter_session" for c in page.context.cookies()
    )
    _sign_in(page, "steward", "steward-password")
    assert page.url == f"{secured_catalog}/ui/subjects/orders-value"  # back where it started
    assert page.locator(".who").inner_text() == "Signed in as User:steward"
    [session] = [c for c in page.context.cookies() if c["name"] == "charter_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"


def test_edit_through_a_form_and_a_forged_post_is_refused(page: Any, secured_catalog: str) -> None:
    page.goto(f"{secured_catalog}/ui/login")
    _sign_in(page, "steward", "steward-password")
    page.goto(f"{secured_catalog}/ui/fields/orders-value/customer.customerEmail")
    page.locator("#add-value").fill("gdpr")
    page.get_by_role("button", name="Add").click()
    assert "gdpr" in page.locator("dl.labels").inner_text()
    # The same post with the session cookie but without the form's token: refused.
    edit = f"{secured_catalog}/ui/entities/field:orders-value:customer.customerEmail/edit"
    forged = page.request.post(edit, form={"action": "add", "kind": "tags", "value": "forged"})
    assert forged.status == 403
    assert "CSRF" in forged.text()
    page.reload()
    assert "forged" not in page.locator("dl.labels").inner_text()
    # The governance page shows the refusal in the audit log, filtered by action.
    page.get_by_role("link", name="Governance").click()
    page.get_by_label("Action").fill("ui.csrf")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 1 and "denied" in rows.first.inner_text()


def test_roles_and_signing_out(page: Any, secured_catalog: str) -> None:
    page.goto(f"{secured_catalog}/ui/login")
    _sign_in(page, "reader", "reader-password")
    page.goto(f"{secured_catalog}/ui/topics/orders")
    assert page.get_by_role("alert").inner_text().startswith("User:reader is not allowed")
    response = page.goto(f"{secured_catalog}/ui/governance")
    assert response is not None and response.status == 403
    page.goto(f"{secured_catalog}/ui/subjects/orders-value")
    assert page.locator("h1").inner_text().endswith("orders-value")
    page.get_by_role("button", name="Sign out").click()
    assert page.locator("h1").inner_text() == "Sign in"
    page.goto(f"{secured_catalog}/ui/subjects/orders-value")
    assert page.locator("h1").inner_text() == "Sign in"


def test_search_shows_a_limited_user_only_what_it_may_read(page: Any, secured_catalog: str) -> None:
    page.goto(f"{secured_catalog}/ui/login")
    _sign_in(page, "steward", "steward-password")
    page.goto(f"{secured_catalog}/ui/?q=email")
    everything = page.locator("ol.hits > li").all_inner_texts()
    assert any("contacts-value" in hit for hit in everything)
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, "reader", "reader-password")  # DeveloperRead on Subject:orders-*
    page.goto(f"{secured_catalog}/ui/?q=email")
    hits = page.locator("ol.hits > li").all_inner_texts()
    assert hits and all("contacts-value" not in hit for hit in hits)
    assert any("customer.customerEmail" in hit for hit in hits)
    assert page.locator("p.total").inner_text() == f"{len(hits)} result{'s' * (len(hits) != 1)}"
    pii = page.locator("section.facet li", has_text="PII")
    assert pii.locator(".count").inner_text() == "1"  # contacts-value's email is not counted
    page.locator("section.facet a", has_text="PII").click()
    assert page.locator("ol.hits > li").count() == 1
    assert page.locator("p.total").inner_text() == "1 result"
