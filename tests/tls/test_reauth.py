"""KIP-368 with OAUTHBEARER: the session lifetime is connections.max.reauth.ms capped at the
token's expiry, as Kafka; without a configured lifetime no re-authentication is asked."""

from __future__ import annotations

import json
import time
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import RSAKey

from broker.connection import ConnectionState
from charter.security import SaslAuthenticator
from governance.security.oauth import JwtValidator
from governance.security.service import SecurityService


def _setup(tmp_path: Path) -> tuple[JwtValidator, RSAKey]:
    key = RSAKey.generate_key(2048, parameters={"kid": "k"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return JwtValidator(str(path)), key


def _authenticate(authenticator: SaslAuthenticator, token: str) -> int:
    connection = ConnectionState(peer="127.0.0.1:1", sasl_mechanism="OAUTHBEARER")
    step = authenticator.authenticate(connection, f"n,,\x01auth=Bearer {token}\x01\x01".encode())
    assert step.error_message is None and step.principal == "User:alice"
    return step.session_lifetime_ms


def _token(key: RSAKey, expires_in_s: int) -> str:
    claims = {"sub": "alice", "exp": int(time.time()) + expires_in_s}
    return jwt.encode({"alg": "RS256", "kid": "k"}, claims, key)


def test_lifetime_is_capped_at_the_token_expiry(tmp_path: Path, service: SecurityService) -> None:
    validator, key = _setup(tmp_path)
    authenticator = SaslAuthenticator(service, 3_600_000, tokens=validator)
    assert "OAUTHBEARER" in authenticator.mechanisms()
    lifetime = _authenticate(authenticator, _token(key, 120))
    assert 100_000 < lifetime <= 120_000
    short = SaslAuthenticator(service, 5_000, tokens=validator)
    assert _authenticate(short, _token(key, 120)) == 5_000


def test_no_configured_lifetime_means_no_reauthentication(
    tmp_path: Path, service: SecurityService
) -> None:
    validator, key = _setup(tmp_path)
    assert _authenticate(SaslAuthenticator(service, 0, tokens=validator), _token(key, 120)) == 0


def test_without_a_jwks_oauthbearer_is_not_offered(service: SecurityService) -> None:
    assert "OAUTHBEARER" not in SaslAuthenticator(service).mechanisms()
