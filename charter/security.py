"""Security wired into Charter: one ``SecurityService`` per process, at both doors.

- ``security_service``: the store, its audit sink and the role-binding
  authorizer over the opened database. The audit sink is the governance audit
  log's buffer, marking security's entries (``governance.security.audit``).
- ``SaslAuthenticator``: the broker's ``Authenticator`` plug over
  ``governance.security.sasl`` (PLAIN, SCRAM-SHA-256/512) and
  ``sasl_oauthbearer`` (OAUTHBEARER, when ``oauth_jwks`` is set); KIP-368
  session lifetimes capped at a token's expiry.
- ``install_http``: ``/security/v1`` always; when ``auth`` is on, the check of
  authentication and authorization the app runs before every route but ``/health``.
- ``web_sessions``: the UI's login sessions (signed cookie, CSRF token) when
  ``auth`` is on.
- ``bootstrap_admin``: the first start with auth creates ``admin``
  (SystemAdmin) with ``CHARTER_ADMIN_PASSWORD`` or a generated password,
  printed once on the terminal (never logged).
- ``check_exposure``: without auth only loopback addresses may be bound (HTTP and
  every Kafka listener); TLS settings are loaded once to fail before starting.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import peewee
from flask import Flask

from broker.auth import Authenticator, NoMechanisms, SaslStep
from broker.connection import ConnectionState
from charter.config import Settings, super_user_principals
from charter.exposure import check_exposure
from governance.security import api as security_api
from governance.security.audit import security_audit
from governance.security.authorizer import RoleBindingAuthorizer
from governance.security.buckets import BucketStore
from governance.security.http_auth import http_auth_check
from governance.security.oauth import JwtValidator
from governance.security.ratelimit import FailureLimiter, RequestRateLimiter
from governance.security.sasl import MECHANISMS, start_exchange
from governance.security.sasl_oauthbearer import MECHANISM as OAUTHBEARER
from governance.security.sasl_oauthbearer import OAuthBearerExchange
from governance.security.service import ADMIN_USER, SecurityService
from governance.security.sessions import WebSessions
from governance.security.store import SecurityStore

__all__ = [
    "SaslAuthenticator",
    "bootstrap_admin",
    "check_exposure",
    "install_http",
    "kafka_authenticator",
    "kafka_request_limiter",
    "security_service",
    "web_sessions",
]

ADMIN_PASSWORD_ENV = "CHARTER_ADMIN_PASSWORD"


def security_service(settings: Settings, database: peewee.Database) -> SecurityService:
    store = SecurityStore(database)
    audit = security_audit(database)
    return SecurityService(
        store,
        audit,
        authorizer=RoleBindingAuthorizer(
            store, audit, super_users=super_user_principals(settings.super_users)
        ),
        limiter=FailureLimiter(settings.auth_failure_limit, settings.auth_failure_window_s),
    )


class SaslAuthenticator:
    """SASL/PLAIN, SCRAM-SHA-256/512 against the security store, and OAUTHBEARER against a
    JWKS when a ``JwtValidator`` is given."""

    def __init__(
        self,
        service: SecurityService,
        session_lifetime_ms: int = 0,
        tokens: JwtValidator | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.session_lifetime_ms = session_lifetime_ms
        self.tokens = tokens
        self._clock = clock

    def mechanisms(self) -> tuple[str, ...]:
        return (*MECHANISMS, OAUTHBEARER) if self.tokens is not None else MECHANISMS

    def _start(self, mechanism: str, address: str) -> Any:
        if mechanism == OAUTHBEARER and self.tokens is not None:
            return OAuthBearerExchange(self.tokens, self.service, address)
        return start_exchange(mechanism, self.service, address)

    def authenticate(self, connection: ConnectionState, auth_bytes: bytes) -> SaslStep:
        mechanism = connection.sasl_mechanism or ""
        exchange = connection.sasl_exchange
        if exchange is None or getattr(exchange, "mechanism", "PLAIN") != mechanism:
            address = connection.peer.rsplit(":", 1)[0]
            exchange = connection.sasl_exchange = self._start(mechanism, address)
        outcome = exchange.step(auth_bytes)
        if outcome.principal is not None or outcome.error is not None:
            connection.sasl_exchange = None  # done: a re-authentication starts a new one
        return SaslStep(
            challenge=outcome.challenge,
            principal=outcome.principal,
            error_message=outcome.error,
            session_lifetime_ms=self._lifetime(outcome.expires_ms) if outcome.principal else 0,
        )

    def _lifetime(self, credential_expires_ms: int | None) -> int:
        """KIP-368 as Kafka: ``connections.max.reauth.ms``, capped at a token's expiry;
        0 (no re-authentication) when it is not configured, token or not."""
        if self.session_lifetime_ms <= 0:
            return 0
        if credential_expires_ms is None:
            return self.session_lifetime_ms
        remaining = credential_expires_ms - int(self._clock() * 1000)
        return max(1, min(self.session_lifetime_ms, remaining))


def token_validator(settings: Settings) -> JwtValidator | None:
    """The JWT validator of ``oauth_jwks`` (SASL/OAUTHBEARER and HTTP Bearer JWTs), if set."""
    if not settings.oauth_jwks:
        return None
    return JwtValidator(
        settings.oauth_jwks,
        issuer=settings.oauth_issuer,
        audience=settings.oauth_audience,
        principal_claim=settings.oauth_principal_claim,
        refresh_ms=settings.oauth_jwks_refresh_ms,
        clock_skew_s=settings.oauth_clock_skew_s,
    )


def kafka_request_limiter(settings: Settings) -> RequestRateLimiter | None:
    """The Kafka listener's per-principal request rate limit, or None when not configured."""
    if not settings.kafka_request_rate:
        return None
    return RequestRateLimiter(settings.kafka_request_rate, settings.kafka_request_burst)


def kafka_authenticator(settings: Settings, service: SecurityService | None) -> Authenticator:
    if service is None or not settings.auth:
        return NoMechanisms()
    return SaslAuthenticator(
        service, settings.sasl_session_lifetime_ms, tokens=token_validator(settings)
    )


def web_sessions(
    settings: Settings, database: peewee.Database, service: SecurityService
) -> WebSessions | None:
    """The UI's login sessions when auth is on (None otherwise: the UI needs no login)."""
    if not settings.auth:
        return None
    return WebSessions(database, service, lifetime_s=settings.ui_session_lifetime_s)


def install_http(
    app: Flask,
    settings: Settings,
    database: peewee.Database,
    *,
    service: SecurityService | None = None,
    sessions: WebSessions | None = None,
    rate_buckets: BucketStore | None = None,
) -> Callable[[], Any] | None:
    """Register ``/security/v1``; with ``auth`` on, answer the request check (a Flask
    ``before_request`` function, which the caller registers: ``http_auth_check``)."""
    service = service or security_service(settings, database)
    app.extensions["charter.security"] = service
    app.register_blueprint(security_api.create_blueprint(service))
    if not settings.auth:
        return None
    limiter = RequestRateLimiter(
        settings.http_request_rate, settings.http_request_burst, buckets=rate_buckets
    )
    return http_auth_check(
        service,
        service.authorizer,
        sessions,
        limiter if limiter.enabled else None,
        tokens=token_validator(settings),
    )


def bootstrap_admin(settings: Settings, database: peewee.Database) -> None:
    """With auth on and no users yet, create ``admin``; print a generated password once."""
    if not settings.auth:
        return
    service = security_service(settings, database)
    generated = service.bootstrap_admin(os.environ.get(ADMIN_PASSWORD_ENV) or None)
    service.audit.stop()
    if generated is not None:
        print(
            f"charter: created the user {ADMIN_USER!r} (SystemAdmin) with the password "
            f"{generated}\ncharter: it is shown only this once; set {ADMIN_PASSWORD_ENV} on the "
            "first start to choose it instead",
            file=sys.stderr,
            flush=True,
        )
