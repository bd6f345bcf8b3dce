"""The SASL exchanges, sans-io: RFC 7677's SCRAM-SHA-256 example, client round trips, fuzzing."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.security import sasl
from governance.security.credentials import derive_scram
from governance.security.service import SecurityService


def _scram_client(user: str, password: str, mechanism: str, exchange, nonce: str = "cnonce123"):
    """An RFC 5802 client: returns (server-final, principal, error)."""
    algorithm = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    bare = f"n={user},r={nonce}"
    first = exchange.step(f"n,,{bare}".encode())
    assert first.error is None, first.error
    server_first = first.challenge.decode()
    fields = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(
        algorithm, password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", algorithm)
    stored_key = hashlib.new(algorithm, client_key).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"{bare},{server_first},{without_proof}".encode()
    signature = hmac.digest(stored_key, auth_message, algorithm)
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    final = exchange.step(f"{without_proof},p={base64.b64encode(proof).decode()}".encode())
    if final.error is None:
        server_key = hmac.digest(salted, b"Server Key", algorithm)
        expected = hmac.digest(server_key, auth_message, algorithm)
        assert final.challenge == b"v=" + base64.b64encode(expected)
    return final


def test_rfc_7677_example(service: SecurityService, monkeypatch: pytest.MonkeyPatch) -> None:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    credential = derive_scram("pencil", "SCRAM-SHA-256", salt=salt)
    monkeypatch.setattr(service, "scram_credential", lambda name, mechanism: credential)
    monkeypatch.setattr(sasl.secrets, "token_urlsafe", lambda n: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
    exchange = sasl.start_exchange("SCRAM-SHA-256", service, "127.0.0.1")
    first = exchange.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
    assert first.challenge == (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    final = exchange.step(
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert final.error is None
    assert final.challenge == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert final.principal == "User:user"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_round_trip_and_wrong_password(service: SecurityService, mechanism: str) -> None:
    service.create_user("alice", "alice-password", actor="test")
    ok = _scram_client(
        "alice", "alice-password", mechanism, sasl.start_exchange(mechanism, service, "a")
    )
    assert ok.principal == "User:alice"
    bad = _scram_client(
        "alice", "nope-nope", mechanism, sasl.start_exchange(mechanism, service, "a")
    )
    assert bad.principal is None and "invalid credentials" in bad.error
    ghost = _scram_client(
        "ghost", "whatever", mechanism, sasl.start_exchange(mechanism, service, "b")
    )
    assert ghost.principal is None and "invalid credentials" in ghost.error  # same answer


def test_plain(service: SecurityService) -> None:
    service.create_user("alice", "alice-password", actor="test")
    assert sasl.start_exchange("PLAIN", service, "a").step(b"\0alice\0alice-password").principal
    assert (
        sasl.start_exchange("PLAIN", service, "a").step(b"alice\0alice\0alice-password").principal
    )
    for message in (b"\0alice\0wrong", b"bob\0alice\0alice-password", b"garbage", b"\xff\0a\0b"):
        outcome = sasl.start_exchange("PLAIN", service, "a").step(message)
        assert outcome.principal is None and outcome.error


def test_scram_refuses_channel_binding_and_tokens(service: SecurityService) -> None:
    for first in (b"p=tls-unique,,n=a,r=x", b"n,,n=a,r=x,tokenauth=true", b"n,,r=x", b"n,,"):
        outcome = sasl.start_exchange("SCRAM-SHA-256", service, "a").step(first)
        assert outcome.error is not None and outcome.principal is None


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    mechanism=st.sampled_from(sasl.MECHANISMS),
    messages=st.lists(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from([b"n,,n=alice,r=abc", b"c=biws,r=abc,p=AAAA", b"\0alice\0x"]),
        ),
        max_size=4,
    ),
)
def test_fuzzed_exchanges_answer_never_raise(
    service: SecurityService, mechanism: str, messages: list[bytes]
) -> None:
    exchange = sasl.start_exchange(mechanism, service, "fuzz")
    for message in messages:
        outcome = exchange.step(message)
        assert outcome.principal is None
