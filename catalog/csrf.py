"""CSRF protection of the web UI's forms: a token in every form, checked before any POST runs.

The token is the login session's (``governance.security.sessions``) when the
request has one; otherwise (the login form itself, and the UI without auth) a
random token also kept in an HttpOnly, SameSite=Strict cookie, which another
site can neither read nor set (double submit). A refused form is answered 403
(``CsrfRefused``, 40302) and audited as ``ui.csrf`` with outcome ``denied``.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, Response, g, render_template, request

from catalog.errors import CsrfRefused
from catalog.model import AuditSink
from governance.security.sessions import WEB_SESSION_ENVIRON_KEY
from registry.hooks import PRINCIPAL_ENVIRON_KEY

__all__ = ["CSRF_COOKIE", "csrf_token", "protect"]

CSRF_COOKIE = "charter_csrf"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MIN_TOKEN_LENGTH = 32


def csrf_token() -> str:
    """The token this request's forms carry (a template global: ``{{ csrf_token() }}``)."""
    session = request.environ.get(WEB_SESSION_ENVIRON_KEY)
    if session is not None:
        return str(session.csrf_token)
    token = g.get("csrf_token") or request.cookies.get(CSRF_COOKIE, "")
    if len(token) < _MIN_TOKEN_LENGTH:
        token = g.new_csrf_token = secrets.token_urlsafe(32)
    g.csrf_token = token
    return token


def _valid() -> bool:
    presented = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    session = request.environ.get(WEB_SESSION_ENVIRON_KEY)
    expected = session.csrf_token if session is not None else request.cookies.get(CSRF_COOKIE)
    return bool(expected and presented) and hmac.compare_digest(
        str(expected).encode(), presented.encode()
    )


def protect(bp: Blueprint, audit: AuditSink) -> None:
    """Check every unsafe request to ``bp`` and give its templates ``csrf_token()``."""
    bp.add_app_template_global(csrf_token, "csrf_token")

    @bp.before_request
    def _check() -> Any:
        if request.method not in _UNSAFE_METHODS or _valid():
            return None
        actor = str(request.environ.get(PRINCIPAL_ENVIRON_KEY) or "User:ANONYMOUS")
        audit.record(actor, "ui.csrf", request.path, "denied", "form without a valid CSRF token")
        error = CsrfRefused("The form was refused: its CSRF token is missing or invalid.")
        return render_template("catalog/error.html", error=error), error.http_status

    @bp.after_request
    def _set_cookie(response: Response) -> Response:
        token = g.get("new_csrf_token")
        if token:
            response.set_cookie(
                CSRF_COOKIE,
                token,
                httponly=True,
                samesite="Strict",
                secure=request.is_secure,
                path="/ui/",
            )
        return response
