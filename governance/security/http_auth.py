"""HTTP authentication and authorization, installed on the Flask app as one ``before_request``.

Every request but ``/health`` (and the UI's login page and styles) must carry
``Authorization: Basic`` (user and password, or an API key's id and secret) or
``Authorization: Bearer <api key>`` (or a JWT signed by the configured JWKS,
``oauth.JwtValidator``), or come over HTTPS with a client certificate that the
mapping rules turn into a principal (``CERTIFICATE_PRINCIPAL_ENVIRON_KEY``, set by
``charter.tls``; a header, when present, wins); web UI pages also take the login session
cookie (``governance.security.sessions``; only they, so the JSON APIs never
act on a cookie a browser sends by itself), and send a browser without one to
the login page. The principal is put in the WSGI environ under
``registry.hooks.PRINCIPAL_ENVIRON_KEY`` so the registry's hooks and the audit
see who asked. Then the route's need (``routes.ROUTE_NEEDS``) is asked of the
authorizer. Answers: 401 (40101, with ``WWW-Authenticate``), 403 (40301), 429
(42901) after too many failures, 429 (42902, with ``Retry-After``) over the
per-principal request rate (``http_request_rate``); each failure or denial is
audited by the service/authorizer.

This runs on every request, so it stays lean: the request object is looked up
once, verified credentials come from the service's cache (no parse, no database
read, no scrypt), an allowed request only asks the authorizer's memo, and the
audit detail is built for denials alone.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from flask import (
    Flask,
    Request,
    Response,
    after_this_request,
    current_app,
    redirect,
    request,
    url_for,
)
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from governance.security.acl_entries import client_address
from governance.security.authorizer import Authorizer
from governance.security.errors import (
    AuthenticationFailed,
    Forbidden,
    RateLimited,
    SecurityError,
)
from governance.security.model import CLUSTER_NAME, Action, ResourceType
from governance.security.oauth import InvalidToken, JwtValidator, looks_like_jwt
from governance.security.principal_mapping import CERTIFICATE_PRINCIPAL_ENVIRON_KEY
from governance.security.ratelimit import RequestRateLimiter
from governance.security.routes import (
    FILTERED_LISTS,
    LOGIN_ENDPOINT,
    PUBLIC,
    WEB_UI_PREFIX,
    EntityNeed,
    Need,
    entity_resource,
    need_for,
)
from governance.security.service import SecurityService
from governance.security.sessions import COOKIE_NAME, WEB_SESSION_ENVIRON_KEY, WebSessions
from registry.hooks import PRINCIPAL_ENVIRON_KEY

__all__ = ["CERTIFICATE_PRINCIPAL_ENVIRON_KEY", "install_http_auth", "security_error_response"]

"""The WSGI environ key of the mTLS principal of the request's client certificate."""

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_API_KEY_ID_LENGTH = 16


def security_error_response(error: SecurityError) -> Response:
    response = Response(
        json.dumps({"error_code": error.error_code, "message": error.message}),
        status=error.http_status,
        content_type=CONTENT_TYPE,
    )
    if error.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="charter", Bearer realm="charter"'
    if error.http_status == 429:
        retry_after = getattr(error, "retry_after_s", 60.0)
        response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


def _authenticate_jwt(
    service: SecurityService, tokens: JwtValidator, token: str, address: str | None
) -> str:
    service.refuse_if_blocked(None, address, "Bearer JWT")
    try:
        return tokens.validate(token).principal
    except InvalidToken as exc:
        service.record_failure(None, address, "Bearer JWT", exc.message)
        raise


def _authenticate(
    service: SecurityService, header: str, address: str | None, tokens: JwtValidator | None
) -> str:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        if tokens is not None and looks_like_jwt(value):
            return _authenticate_jwt(service, tokens, value, address)
        return service.authenticate_api_key(value, address)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise AuthenticationFailed("malformed Basic credentials") from None
        user, colon, password = decoded.partition(":")
        if not colon or not user:
            raise AuthenticationFailed("malformed Basic credentials")
        if len(user) == _API_KEY_ID_LENGTH and service.store.api_key(user) is not None:
            return service.authenticate_api_key(f"{user}.{password}", address)
        return service.authenticate_password(user, password, address)
    raise AuthenticationFailed("authentication required: Basic or Bearer credentials")


def _effective_route(req: Request) -> tuple[str | None, Mapping[str, Any]]:
    """The endpoint and view arguments that will serve ``req``, also when a subject holds
    ``%2F`` (the registry re-routes on the raw path then; authorize what it will run)."""
    rule = req.url_rule
    endpoint = rule.endpoint if rule is not None else None
    environ = req.environ
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    raw_path = raw_uri.split("?", 1)[0]
    if "%2f" not in raw_path.lower():
        return endpoint, req.view_args or {}
    marked = raw_path.replace("%2F", "\x00").replace("%2f", "\x00")
    try:
        path = unquote(marked, errors="strict")
        adapter = current_app.url_map.bind_to_environ(environ)
        rule, args = adapter.match(path, method=req.method, return_rule=True)
    except (UnicodeDecodeError, HTTPException):
        return endpoint, req.view_args or {}
    return rule.endpoint, {
        k: v.replace("\x00", "/") if isinstance(v, str) else v for k, v in args.items()
    }


def _web_error_response(error: SecurityError) -> Response:
    """A denial on a UI page, as a small HTML page."""
    title = {401: "Sign in required", 403: "Not allowed", 429: "Too many attempts"}.get(
        error.http_status, "Refused"
    )
    body = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title}</title>'
        f'<h1>{title}</h1><p role="alert">{escape(error.message)}</p></html>'
    )
    response = Response(body, status=error.http_status, content_type="text/html; charset=utf-8")
    if error.http_status == 429:
        response.headers["Retry-After"] = "60"
    return response


def _target(
    req: Request, need: Need | EntityNeed, view_args: Mapping[str, Any]
) -> tuple[Action, ResourceType, str | None]:
    """What ``need`` asks for on this request: (action, resource type, name or None for
    "some resource of that type")."""
    if isinstance(need, Need) and need.arg is None:
        return need.action, need.kind, None
    arg = str(need.arg)
    raw = req.args.get(arg, "") if need.query else view_args.get(arg, "")
    if isinstance(need, EntityNeed):
        kind, name = entity_resource(str(raw))
        return need.action, kind, name
    return need.action, need.kind, str(raw)


def _filter_list(
    authorizer: Authorizer,
    principal: str,
    kind: ResourceType,
    host: str | None,
    response: Response,
) -> Response:
    """Keep only the names ``principal`` may read in a JSON array answer."""
    if response.status_code != 200:
        return response
    try:
        names = json.loads(response.get_data())
    except ValueError:
        return response
    if isinstance(names, list):
        kept = [
            n for n in names if authorizer.allows(principal, Action.READ, kind, str(n), host=host)
        ]
        response.set_data(json.dumps(kept))
    return response


def install_http_auth(
    app: Flask,
    service: SecurityService,
    authorizer: Authorizer,
    sessions: WebSessions | None = None,
    limiter: RequestRateLimiter | None = None,
    tokens: JwtValidator | None = None,
) -> Callable[[], Response | None]:
    def _principal(req: Request, web: bool) -> str:
        header = req.environ.get("HTTP_AUTHORIZATION", "")
        cookie = req.cookies.get(COOKIE_NAME) if web and sessions is not None else None
        if cookie and not header and sessions is not None:
            session = sessions.find(cookie)
            if session is None:
                raise AuthenticationFailed("the session has ended: sign in again")
            req.environ[WEB_SESSION_ENVIRON_KEY] = session
            return session.principal
        certificate_principal = req.environ.get(CERTIFICATE_PRINCIPAL_ENVIRON_KEY)
        if not header and certificate_principal:
            return str(certificate_principal)
        address = req.remote_addr
        principal = service.remembered(header, address) if header else None
        if principal is None:
            generation = service.authorizer_generation()  # before the check: see ``remember``
            principal = _authenticate(service, header, address, tokens)
            if not looks_like_jwt(header.partition(" ")[2].strip()):
                # a JWT is checked each time (expiry)
                service.remember(header, principal, generation)
        return principal

    @app.before_request
    def _authenticate_and_authorize() -> Response | None:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        endpoint, view_args = _effective_route(req)
        need = need_for(endpoint, req.method)
        if isinstance(need, str) and need == PUBLIC:
            return None
        web = endpoint is not None and endpoint.startswith(WEB_UI_PREFIX)
        try:
            principal = _principal(req, web)
        except SecurityError as error:
            browser = web and sessions is not None and "HTTP_AUTHORIZATION" not in req.environ
            if browser and error.http_status == 401 and req.method in ("GET", "HEAD"):
                target = req.full_path.rstrip("?")
                return redirect(url_for(LOGIN_ENDPOINT, next=target), code=303)
            return _web_error_response(error) if web else security_error_response(error)
        req.environ[PRINCIPAL_ENVIRON_KEY] = principal
        if limiter is not None:
            wait_s = limiter.try_acquire(principal)
            if wait_s > 0:
                return security_error_response(
                    RateLimited(
                        f"{principal} sent more than {limiter.rate:g} requests a second",
                        retry_after_s=wait_s,
                    )
                )
        if isinstance(need, Need | EntityNeed):
            action, kind, name = _target(req, need, view_args)
            host = client_address(req.remote_addr)
            if name is None:
                allowed = authorizer.allows_some(principal, action, kind, host=host)
                name = CLUSTER_NAME if kind is ResourceType.CLUSTER else "*"
            else:
                allowed = authorizer.allows(principal, action, kind, name, host=host)
            if not allowed:  # ask again through ``authorize``, which audits the denial
                detail = f"{req.method} {req.path}"
                authorizer.authorize(principal, action, kind, name, detail, host=host)
                error = Forbidden(f"{principal} is not allowed to {action} {kind}:{name}")
                return _web_error_response(error) if web else security_error_response(error)
        listed = FILTERED_LISTS.get(endpoint) if endpoint is not None else None
        if listed is not None:  # only these requests pay for a response hook
            host = client_address(req.remote_addr)
            after_this_request(functools.partial(_filter_list, authorizer, principal, listed, host))
        return None

    return _authenticate_and_authorize
