"""The Accept header → response content type choice, as plain strings (``registry.negotiation``).

Expectations follow Jersey's ``CombinedMediaType`` ranking over Confluent's
``@Produces`` (v1+json qs=1, schemaregistry+json qs=0.9, json qs=0.5): the
client's q decides, the server's qs breaks ties.
"""

from __future__ import annotations

import pytest

from registry.negotiation import DEFAULT_MEDIA_TYPE, PRODUCED_MEDIA_TYPES, negotiate

V1 = "application/vnd.schemaregistry.v1+json"
DEFAULT = "application/vnd.schemaregistry+json"
JSON = "application/json"

CASES = [
    # no preference: the server's first choice
    (None, V1),
    ("", V1),
    ("  ", V1),
    ("*/*", V1),
    ("*", V1),  # HttpURLConnection's bare "*"
    ("application/*", V1),
    ("*/json", V1),  # a wildcard type matches every subtype
    # one type named
    (V1, V1),
    (DEFAULT, DEFAULT),
    (JSON, JSON),
    ("APPLICATION/JSON", JSON),
    ("application/json; charset=utf-8", JSON),
    # what the clients send
    (f"{V1}, {DEFAULT}, {JSON}", V1),  # confluent-kafka-python
    (f"{V1}, {DEFAULT}; qs=0.9, {JSON}; qs=0.5", V1),  # Java RestService (qs is not q)
    ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", V1),  # HttpURLConnection
    # axios: json and */* both at q=1, so qs decides, as in Jersey
    ("application/json, text/plain, */*", V1),
    # equal q: the server's preference breaks the tie
    (f"{JSON}, {DEFAULT}", DEFAULT),
    (f"{JSON}, {V1}", V1),
    (f"{JSON};q=0.7, {DEFAULT};q=0.7", DEFAULT),
    # the client's weights decide
    (f"{JSON};q=0.9, {DEFAULT};q=0.5", JSON),
    (f"{V1};q=0.1, {JSON}", JSON),
    (f"{JSON}; q=0.5, */*; q=0.1", JSON),
    (f"{DEFAULT};q=0.8, {JSON};q=0.9, {V1};q=0.2", JSON),
    ("text/html, */*;q=0.8", V1),
    (f"{JSON};q=1.000, {V1};q=0.999", JSON),
    # nothing acceptable: 406
    ("text/plain", None),
    ("application/xml, text/html", None),
    ("application/vnd.schemaregistry.v2+json", None),
    (f"{JSON};q=0", None),  # q=0 is "not acceptable"
    (f"{JSON};q=0.000, text/plain", None),
    # entries that are not media ranges match nothing, the others still count
    ("foo", None),
    (f"foo, {JSON}", JSON),
    (f"{JSON};q=abc", None),
    (f"{JSON};q=2", None),
    (f"{JSON};q=-1", None),
    (f"{JSON};q=nan, {DEFAULT};q=0.1", DEFAULT),
    ("/json", None),
    ("application/", None),
]


@pytest.mark.parametrize(("accept", "expected"), CASES)
def test_choice_matches_jersey(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_the_default_is_the_preferred_produced_type() -> None:
    assert PRODUCED_MEDIA_TYPES[0][0] == DEFAULT_MEDIA_TYPE == V1
    assert [quality for _, quality in PRODUCED_MEDIA_TYPES] == [1000, 900, 500]
