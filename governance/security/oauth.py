"""JWTs checked against a JWKS: the credential of SASL/OAUTHBEARER and of HTTP ``Bearer`` tokens.

An identity provider signs tokens with keys it publishes as a JWKS (RFC 7517);
``JwtValidator`` verifies a compact JWT (RFC 7519) against those keys with
joserfc (docs/decisions.md): the signature with an allowed asymmetric algorithm
(RS*/PS*/ES*; never ``none`` or HMAC), ``exp`` required, ``nbf``/``iat`` when
present, ``iss`` and ``aud`` when configured, all with a clock-skew leeway as
Kafka's ``sasl.oauthbearer.clock.skew.seconds``. The principal is
``User:<claim>`` of the configured claim (default ``sub``).

The JWKS (a file path or an http(s) URL) is loaded on first use and cached for
``refresh_ms``; a token whose ``kid`` is not among the cached keys refreshes
them at once (key rotation), at most once every ``min_refetch_s`` so unknown
kids cannot make the broker hammer the provider.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet

from governance.security.errors import AuthenticationFailed

__all__ = ["DEFAULT_ALGORITHMS", "InvalidToken", "JwtValidator", "ValidatedToken", "looks_like_jwt"]

log = logging.getLogger(__name__)

DEFAULT_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
_MAX_TOKEN_BYTES = 16 * 1024
_FETCH_TIMEOUT_S = 10.0


class InvalidToken(AuthenticationFailed):
    """The token is malformed, not signed by a JWKS key, expired, or for someone else."""


@dataclasses.dataclass(frozen=True, slots=True)
class ValidatedToken:
    principal: str
    expires_ms: int
    """The token's ``exp`` in milliseconds (KIP-368 caps the session at it)."""


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts, the first a JSON object (``eyJ``): not an API key."""
    return token.count(".") == 2 and token.startswith("eyJ")


def _read_jwks(location: str) -> dict[str, Any]:
    if location.startswith(("https://", "http://")):
        with urllib.request.urlopen(location, timeout=_FETCH_TIMEOUT_S) as response:
            return json.loads(response.read(1024 * 1024))
    return json.loads(Path(location).read_text(encoding="utf-8"))


class JwtValidator:
    """Verifies JWTs against a JWKS; thread-safe (SASL steps run on worker threads)."""

    def __init__(
        self,
        jwks: str,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        principal_claim: str = "sub",
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        refresh_ms: int = 3_600_000,
        clock_skew_s: int = 30,
        min_refetch_s: float = 2.0,
        clock: Callable[[], float] = time.time,
        read_jwks: Callable[[str], dict[str, Any]] = _read_jwks,
    ) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.principal_claim = principal_claim
        self.algorithms = list(algorithms)
        self.refresh_s = refresh_ms / 1000
        self.clock_skew_s = clock_skew_s
        self.min_refetch_s = min_refetch_s
        self._clock = clock
        self._read_jwks = read_jwks
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")
        self._load_error: str | None = None

    # ------------------------------------------------------------------ keys

    def _load(self) -> None:
        try:
            document = self._read_jwks(self.jwks)
            keys = KeySet.import_key_set(document)
        except (OSError, ValueError, JoseError, TypeError, KeyError) as exc:
            self._loaded_at = self._clock()  # back off before the next attempt too
            self._load_error = str(exc) or type(exc).__name__
            log.warning("cannot load the JWKS from %s: %s", self.jwks, self._load_error)
            if self._keys is None:
                raise InvalidToken(
                    f"the token keys (JWKS) cannot be loaded: {self._load_error}"
                ) from None
            return
        self._load_error = None
        self._keys = keys
        self._kids = frozenset(str(key.kid) for key in keys.keys if key.kid)
        self._loaded_at = self._clock()

    def _keys_for(self, kid: str | None) -> KeySet:
        with self._lock:
            age = self._clock() - self._loaded_at
            stale = self._keys is None or age >= self.refresh_s
            unknown_kid = kid is not None and kid not in self._kids
            if self._keys is None and self._load_error and age < self.min_refetch_s:
                raise InvalidToken(f"the token keys (JWKS) cannot be loaded: {self._load_error}")
            if stale or (unknown_kid and age >= self.min_refetch_s):
                self._load()
            assert self._keys is not None
            return self._keys

    # ------------------------------------------------------------------ tokens

    def validate(self, token: str) -> ValidatedToken:
        """The token's principal and expiry; ``InvalidToken`` saying what is wrong."""
        if not token or len(token) > _MAX_TOKEN_BYTES:
            raise InvalidToken("the token is empty or too long")
        try:
            header = jws.extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeEncodeError):
            raise InvalidToken("the token is not a well-formed JWT") from None
        kid = header.get("kid")
        keys = self._keys_for(str(kid) if kid is not None else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=self.algorithms)
        except UnsupportedAlgorithmError:
            raise InvalidToken(
                f"the token's algorithm {header.get('alg')!r} is not allowed "
                f"(allowed: {', '.join(self.algorithms)})"
            ) from None
        except InvalidKeyIdError:
            raise InvalidToken(f"no key in the JWKS has the token's kid {kid!r}") from None
        except BadSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except (JoseError, ValueError, TypeError):
            raise InvalidToken("the token is not a well-formed signed JWT") from None
        return self._check_claims(decoded.claims)

    def _check_claims(self, claims: dict[str, Any]) -> ValidatedToken:
        requests: dict[str, Any] = {"exp": {"essential": True}}
        if self.issuer:
            requests["iss"] = {"essential": True, "value": self.issuer}
        if self.audience:
            requests["aud"] = {"essential": True, "value": self.audience}
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()), leeway=self.clock_skew_s, **requests
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("the token has expired") from None
        except MissingClaimError as exc:
            raise InvalidToken(f"the token lacks the claim {exc.claim!r}") from None
        except InvalidClaimError as exc:
            raise InvalidToken(f"the token's {exc.claim!r} claim is not accepted") from None
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken(f"the token's claims are not accepted: {exc}") from None
        name = claims.get(self.principal_claim)
        if not isinstance(name, str) or not name:
            raise InvalidToken(f"the token has no {self.principal_claim!r} claim to name its user")
        if name == "ANONYMOUS":
            raise InvalidToken("the token names the reserved principal User:ANONYMOUS")
        return ValidatedToken(principal=f"User:{name}", expires_ms=int(float(claims["exp"]) * 1000))
