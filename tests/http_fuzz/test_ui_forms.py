"""The web UI's POST forms with random fields: a valid session and CSRF token, anything else
in the form, and the answer is a page or a redirect, never a 500; auth on and off."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.http_fuzz.stack import DERANDOMIZE, examples, seeded_app

ENTITIES = [
    "subject:orders-value",
    "field:orders-value:email",
    "topic:orders",
    "term:customer",
    "subject:no-such-subject",
]
FIELD_NAMES = ["action", "kind", "value", "next", "name", "password", "csrf_token", "x"]
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
field_values = (
    st.sampled_from(
        ["add", "remove", "describe", "tags", "owners", "domains", "terms", "", "\x00", "a" * 5000]
    )
    | texts
)
forms = st.lists(st.tuples(st.sampled_from(FIELD_NAMES) | texts, field_values), max_size=8)
entities = st.sampled_from(ENTITIES) | texts.filter(lambda text: text.strip("./") != "")


def _csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


@pytest.fixture(scope="module", params=["auth", "no-auth"])
def ui(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FlaskClient, str]]:
    """A client holding a session (an admin's with auth on) and its forms' CSRF token."""
    auth = request.param == "auth"
    with seeded_app(tmp_path_factory.mktemp(request.param), auth=auth) as app:
        client = app.test_client()
        if auth:
            token = _csrf(client.get("/ui/login").data)
            signed_in = client.post(
                "/ui/login",
                data={"name": "admin", "password": "admin-password", "csrf_token": token},
            )
            assert signed_in.status_code == 303, signed_in.data[:300]
        yield client, _csrf(client.get("/ui/subjects/orders-value").data)


def _assert_answered(response, path: str) -> None:
    assert response.status_code < 500, (path, response.status_code, response.data[:300])
    if response.status_code in (301, 302, 303):
        location = urlsplit(response.location)
        assert not location.netloc or location.netloc == "localhost", response.location


FORMS = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@FORMS
@given(entity=entities, form=forms)
def test_edit_form_never_fails(ui: tuple[FlaskClient, str], entity: str, form: list) -> None:
    client, token = ui
    path = f"/ui/entities/{quote(entity, safe=':')}/edit"
    response = client.post(path, data=MultiDict([*form, ("csrf_token", token)]))
    _assert_answered(response, path)
    if response.status_code == 303:
        assert client.get(response.location).status_code < 500


@FORMS
@given(form=forms)
def test_login_form_never_fails_and_never_redirects_off_site(
    ui: tuple[FlaskClient, str], form: list
) -> None:
    client, _ = ui
    fresh = client.application.test_client()  # no session: the login form's own token
    page = fresh.get("/ui/login")
    if page.status_code == 303:
        pytest.skip("auth is off: there is no login form")
    token = _csrf(page.data)
    response = fresh.post("/ui/login", data=MultiDict([*form, ("csrf_token", token)]))
    _assert_answered(response, "/ui/login")


@FORMS
@given(form=forms)
def test_forms_without_the_token_are_refused(ui: tuple[FlaskClient, str], form: list) -> None:
    client, token = ui
    form = [(name, value) for name, value in form if name != "csrf_token" or value == token]
    response = client.post("/ui/entities/subject:orders-value/edit", data=MultiDict(form))
    if not any(name == "csrf_token" for name, _ in form):
        assert response.status_code == 403, response.data[:300]
    else:
        _assert_answered(response, "edit")


def test_logout_with_random_fields_then_sign_in_again(ui: tuple[FlaskClient, str]) -> None:
    client, token = ui
    response = client.post("/ui/logout", data={"csrf_token": token, "x": "\x00" * 10})
    _assert_answered(response, "/ui/logout")
