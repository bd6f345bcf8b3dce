"""JWTs against a JWKS (governance.security.oauth) and the SASL/OAUTHBEARER exchange."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from governance.security.audit import security_entries
from governance.security.oauth import InvalidToken, JwtValidator, looks_like_jwt
from governance.security.sasl_oauthbearer import OAuthBearerExchange
from governance.security.service import SecurityService

NOW = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def keys() -> dict[str, Any]:
    return {
        "rsa": RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}),
        "ec": ECKey.generate_key("P-256", parameters={"kid": "ec-1"}),
        "rotated": RSAKey.generate_key(2048, parameters={"kid": "rsa-2"}),
    }


def _write_jwks(path: Path, *public: Any) -> None:
    path.write_text(json.dumps({"keys": [key.as_dict(private=False) for key in public]}))


def _token(key: Any, alg: str, **claims: Any) -> str:
    body = {"sub": "alice", "iss": "https://idp", "aud": "charter", "exp": NOW + 600, **claims}
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


@pytest.fixture
def setup(tmp_path: Path, keys: dict[str, Any]) -> Iterator[tuple[JwtValidator, Path, Clock]]:
    path = tmp_path / "jwks.json"
    _write_jwks(path, keys["rsa"], keys["ec"])
    clock = Clock()
    validator = JwtValidator(
        str(path), issuer="https://idp", audience="charter", clock=clock, min_refetch_s=5
    )
    yield validator, path, clock


@pytest.mark.parametrize(("name", "alg"), [("rsa", "RS256"), ("ec", "ES256")])
def test_valid_tokens_give_the_subject(setup, keys, name: str, alg: str) -> None:
    validator, _, _ = setup
    validated = validator.validate(_token(keys[name], alg))
    assert validated.principal == "User:alice"
    assert validated.expires_ms == (NOW + 600) * 1000


def test_principal_claim_is_configurable(tmp_path: Path, keys) -> None:
    path = tmp_path / "jwks.json"
    _write_jwks(path, keys["rsa"])
    validator = JwtValidator(str(path), principal_claim="preferred_username", clock=Clock())
    token = _token(keys["rsa"], "RS256", preferred_username="bob")
    assert validator.validate(token).principal == "User:bob"
    with pytest.raises(InvalidToken, match="no 'preferred_username' claim"):
        validator.validate(_token(keys["rsa"], "RS256"))


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": NOW - 120}, "expired"),
        ({"iss": "https://evil"}, "'iss'"),
        ({"aud": "someone-else"}, "'aud'"),
        ({"exp": None}, "'exp'"),
        ({"nbf": NOW + 600}, "not accepted"),
    ],
)
def test_claims_are_checked(setup, keys, claims: dict[str, Any], message: str) -> None:
    validator, _, _ = setup
    body = {k: v for k, v in claims.items() if v is not None}
    token = _token(keys["rsa"], "RS256", **body)
    if claims.get("exp", 0) is None:
        token = jwt.encode(
            {"alg": "RS256", "kid": "rsa-1"},
            {"sub": "alice", "iss": "https://idp", "aud": "charter"},
            keys["rsa"],
        )
    with pytest.raises(InvalidToken, match=message):
        validator.validate(token)


def test_no_token_may_claim_the_anonymous_principal(setup, keys) -> None:
    validator, _, _ = setup
    with pytest.raises(InvalidToken, match="reserved"):
        validator.validate(_token(keys["rsa"], "RS256", sub="ANONYMOUS"))


def test_expiry_leeway_is_the_clock_skew(setup, keys) -> None:
    validator, _, _ = setup
    assert validator.validate(_token(keys["rsa"], "RS256", exp=NOW - 10)).principal


def test_signature_by_another_key_is_refused(setup, keys) -> None:
    validator, _, _ = setup
    forged = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})  # same kid, wrong key
    with pytest.raises(InvalidToken, match="signature does not verify"):
        validator.validate(_token(forged, "RS256"))


def test_symmetric_and_none_algorithms_are_refused(setup, keys) -> None:
    validator, _, _ = setup
    secret = OctKey.generate_key(256, parameters={"kid": "rsa-1"})
    with pytest.raises(InvalidToken, match="not allowed"):
        validator.validate(_token(secret, "HS256"))
    header = "eyJhbGciOiJub25lIiwia2lkIjoicnNhLTEifQ"  # {"alg":"none","kid":"rsa-1"}
    with pytest.raises(InvalidToken):
        validator.validate(f"{header}.eyJzdWIiOiJhbGljZSJ9.")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJ.eyJ.x", "é" * 10, "x" * 20000])
def test_garbage_tokens_are_refused(setup, garbage: str) -> None:
    validator, _, _ = setup
    with pytest.raises(InvalidToken):
        validator.validate(garbage)


def test_unknown_kid_refreshes_the_jwks_but_not_too_often(setup, keys) -> None:
    validator, path, clock = setup
    validator.validate(_token(keys["rsa"], "RS256"))  # loads the JWKS
    _write_jwks(path, keys["rsa"], keys["rotated"])  # the provider rotates
    with pytest.raises(InvalidToken, match="no key in the JWKS has the token's kid 'rsa-2'"):
        validator.validate(_token(keys["rotated"], "RS256"))  # too soon after the load
    clock.now += 6
    assert validator.validate(_token(keys["rotated"], "RS256")).principal == "User:alice"


def test_unreadable_jwks_refuses_tokens_and_is_not_hammered(tmp_path: Path, keys) -> None:
    reads: list[str] = []

    def read(location: str) -> dict[str, Any]:
        reads.append(location)
        raise OSError("connection refused")

    clock = Clock()
    validator = JwtValidator("https://idp/jwks", clock=clock, read_jwks=read, min_refetch_s=5)
    for _ in range(3):
        with pytest.raises(InvalidToken, match="cannot be loaded: connection refused"):
            validator.validate(_token(keys["rsa"], "RS256"))
    assert len(reads) == 1  # failures back off too
    clock.now += 6
    with pytest.raises(InvalidToken, match="cannot be loaded"):
        validator.validate(_token(keys["rsa"], "RS256"))
    assert len(reads) == 2


def test_a_jwks_that_fails_to_refresh_keeps_its_keys(tmp_path: Path, keys) -> None:
    path = tmp_path / "jwks.json"
    _write_jwks(path, keys["rsa"])
    clock = Clock()
    validator = JwtValidator(str(path), clock=clock, refresh_ms=1000)
    assert validator.validate(_token(keys["rsa"], "RS256")).principal
    path.write_text("{ not json")
    clock.now += 5  # stale: refreshed, the refresh fails, the old keys still verify
    assert validator.validate(_token(keys["rsa"], "RS256")).principal


def test_looks_like_jwt_tells_tokens_from_api_keys(keys) -> None:
    assert looks_like_jwt(_token(keys["rsa"], "RS256"))
    assert not looks_like_jwt("0123456789abcdef.secret")


# -- the SASL exchange ---------------------------------------------------------------------


def _message(token: str, authzid: str = "", extensions: str = "") -> bytes:
    return f"n,{'a=' + authzid if authzid else ''},\x01auth=Bearer {token}\x01{extensions}\x01".encode()


def test_oauthbearer_exchange(setup, keys, service: SecurityService) -> None:
    validator, _, _ = setup
    token = _token(keys["ec"], "ES256")
    outcome = OAuthBearerExchange(validator, service, "10.0.0.1").step(
        _message(token, extensions="traceId=abc\x01")
    )
    assert outcome.principal == "User:alice" and outcome.error is None
    assert outcome.expires_ms == (NOW + 600) * 1000
    assert outcome.challenge == b""
    assert OAuthBearerExchange(validator, service, None).step(_message(token, "alice")).principal


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", "malformed"),
        (b"n,,\x01auth=Bearer\x01\x01", "Bearer <token>"),
        (b"n,,\x01foo=bar\x01\x01", "no auth=Bearer"),
        (b"p=x,,\x01auth=Bearer abc\x01\x01", "GS2"),
        (b"\xff\xfe", "UTF-8"),
        (b"n,,\x01auth=Bearer abc.def.ghi\x01\x01", "well-formed"),
    ],
)
def test_oauthbearer_bad_messages_fail_clearly(
    setup, service: SecurityService, message: bytes, reason: str
) -> None:
    validator, _, _ = setup
    outcome = OAuthBearerExchange(validator, service, "10.0.0.2").step(message)
    assert outcome.principal is None
    assert outcome.error is not None and reason in outcome.error
    assert outcome.error.startswith("Authentication failed during authentication with SASL")


def test_oauthbearer_authzid_must_match(setup, keys, service: SecurityService) -> None:
    validator, _, _ = setup
    outcome = OAuthBearerExchange(validator, service, None).step(
        _message(_token(keys["rsa"], "RS256"), "bob")
    )
    assert outcome.error is not None and "authorization id" in outcome.error


def test_oauthbearer_failures_are_audited(setup, keys, service: SecurityService) -> None:
    validator, _, _ = setup
    OAuthBearerExchange(validator, service, "10.0.0.3").step(
        _message(_token(keys["rsa"], "RS256", exp=NOW - 3600))
    )
    service.audit.flush()
    entries = security_entries(service.store.database, outcome="denied", limit=10)
    assert any("OAUTHBEARER: the token has expired" in entry.detail for entry in entries)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda head, pairs: (head + "\x01" + "\x01".join(pairs) + "\x01\x01").encode(),
            st.sampled_from(["n,,", "y,,", "n,a=alice,", "n,a,", ",,", "n"]),
            st.lists(st.text(max_size=40), max_size=4),
        ),
    )
)
def test_fuzzed_oauthbearer_messages_fail_cleanly(
    setup, service: SecurityService, data: bytes
) -> None:
    validator, _, _ = setup
    outcome = OAuthBearerExchange(validator, service, "10.9.9.9").step(data)
    assert outcome.principal is None and outcome.error


def test_jwks_from_a_url_is_cached_and_refetched_for_a_new_kid(keys) -> None:
    import http.server
    import threading

    served = {"body": b"", "requests": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            served["requests"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args: object) -> None:
            pass

    def publish(*public: Any) -> None:
        served["body"] = json.dumps(
            {"keys": [key.as_dict(private=False) for key in public]}
        ).encode()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        publish(keys["rsa"])
        clock = Clock()
        url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
        validator = JwtValidator(url, clock=clock, min_refetch_s=5)
        for _ in range(3):
            assert validator.validate(_token(keys["rsa"], "RS256")).principal == "User:alice"
        assert served["requests"] == 1  # cached
        publish(keys["rsa"], keys["rotated"])
        clock.now += 10
        assert validator.validate(_token(keys["rotated"], "RS256")).principal == "User:alice"
        assert served["requests"] == 2
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
