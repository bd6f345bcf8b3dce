"""Login sessions for the web UI: a signed cookie naming a session row, with a CSRF token.

Browsers get a session from the UI's login form (user and password, checked,
rate-limited and audited like Basic auth). The cookie holds a random session id
signed with a server secret (``itsdangerous``), so a forged or altered cookie
is refused before any lookup; the database keeps only the SHA-256 of the id,
the principal, the session's CSRF token and its expiry, so every HTTP worker
and server sees the same sessions and logging out ends the session everywhere.
A session also ends when its user is deleted. Tables (migration series
``security.sessions``)::

    security_web_secret    id 1 → secret (random, created by the first process)
    security_web_sessions  id_sha256 primary key, principal, csrf_token,
                           created_at_ms, expires_at_ms
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

import peewee
from itsdangerous import BadSignature, Signer

from governance.security.service import SecurityService

__all__ = [
    "COOKIE_NAME",
    "MIGRATIONS",
    "MIGRATION_KEY",
    "WEB_SESSION_ENVIRON_KEY",
    "WebSession",
    "WebSessions",
]

MIGRATION_KEY = "security.sessions"
COOKIE_NAME = "charter_session"
WEB_SESSION_ENVIRON_KEY = "charter.web_session"
"""Where ``http_auth`` puts the request's ``WebSession`` (absent without one)."""


def _create_tables(database: peewee.Database) -> None:
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS security_web_secret (id INTEGER PRIMARY KEY, "
        "secret TEXT NOT NULL)"
    )
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS security_web_sessions (id_sha256 TEXT PRIMARY KEY, "
        "principal TEXT NOT NULL, csrf_token TEXT NOT NULL, created_at_ms BIGINT NOT NULL, "
        "expires_at_ms BIGINT NOT NULL)"
    )


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_tables]


@dataclasses.dataclass(frozen=True, slots=True)
class WebSession:
    principal: str
    csrf_token: str
    expires_at_ms: int
    cookie: str
    """The signed cookie value that names this session."""

    def csrf_matches(self, presented: str | None) -> bool:
        """Constant-time comparison with the token a form or header presented."""
        return bool(presented) and hmac.compare_digest(
            self.csrf_token.encode(), str(presented).encode()
        )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class WebSessions:
    """Signs users in and out of the UI; ``find`` answers the session a cookie names."""

    def __init__(
        self,
        database: peewee.Database,
        service: SecurityService,
        *,
        lifetime_s: int = 8 * 3600,
    ) -> None:
        self.database = database
        self.service = service
        self.lifetime_s = lifetime_s
        self._signer: Signer | None = None

    def _sql(self, text: str, params: tuple[object, ...] = ()) -> peewee.Cursor:
        return self.database.execute_sql(text.replace("?", self.database.param), params)

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._sql(
                "INSERT INTO security_web_secret (id, secret) VALUES (1, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (secrets.token_urlsafe(48),),
            )
            secret = self._sql("SELECT secret FROM security_web_secret WHERE id = 1").fetchone()[0]
            self._signer = Signer(secret, salt="charter.web-session")
        return self._signer

    def sign_in(self, name: str, password: str, address: str | None) -> WebSession:
        """Check the password (``AuthenticationFailed``/``TooManyFailures``) and open a session."""
        principal = self.service.authenticate_password(name, password, address)
        session_id = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = _now_ms()
        expires = now + self.lifetime_s * 1000
        with self.database.atomic():
            self._sql("DELETE FROM security_web_sessions WHERE expires_at_ms <= ?", (now,))
            self._sql(
                "INSERT INTO security_web_sessions (id_sha256, principal, csrf_token, "
                "created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?)",
                (_digest(session_id), principal, csrf_token, now, expires),
            )
        self.service.audit.record(principal, "login", "ui", "success", "web session opened")
        cookie = self.signer.sign(session_id).decode()
        return WebSession(principal, csrf_token, expires, cookie)

    def find(self, cookie: str) -> WebSession | None:
        """The live session ``cookie`` names, or None (bad signature, expired, signed out,
        or its user deleted)."""
        try:
            session_id = self.signer.unsign(cookie).decode()
        except (BadSignature, UnicodeDecodeError):
            return None
        row = self._sql(
            "SELECT principal, csrf_token, expires_at_ms FROM security_web_sessions "
            "WHERE id_sha256 = ?",
            (_digest(session_id),),
        ).fetchone()
        if row is None or int(row[2]) <= _now_ms():
            return None
        principal = str(row[0])
        if self.service.store.user(principal.partition(":")[2]) is None:
            return None
        return WebSession(principal, str(row[1]), int(row[2]), cookie)

    def sign_out(self, session: WebSession) -> None:
        session_id = self.signer.unsign(session.cookie).decode()
        self._sql("DELETE FROM security_web_sessions WHERE id_sha256 = ?", (_digest(session_id),))
        self.service.audit.record(session.principal, "logout", "ui", "success", "")
