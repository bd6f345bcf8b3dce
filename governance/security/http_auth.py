"""HTTP authentication and authorization: one check the app runs before every route.

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
once, what a route needs is worked out once per endpoint (``_Route``), verified
credentials come from the service's cache (a keyed MAC of the header, no parse,
no database read, no scrypt), and what they were allowed is remembered in that
cache entry (``VerifiedCredentials.grants``, keyed by route, resource name and
client address), so a repeated allowed request does not ask the authorizer; it
lives and dies with the entry (a change voids it). A denial is asked, and
audited, every time. ``charter.app`` runs the check in the same Flask hook as
its request checks (a hook of its own costs each request Flask's dispatch).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
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
    ROUTE_NEEDS,
    WEB_UI_PREFIX,
    EntityNeed,
    Need,
    entity_resource,
    need_for,
)
from governance.security.service import SecurityService, VerifiedCredentials
from governance.security.sessions import COOKIE_NAME, WEB_SESSION_ENVIRON_KEY, WebSessions
from registry.hooks import PRINCIPAL_ENVIRON_KEY

__all__ = [
    "CERTIFICATE_PRINCIPAL_ENVIRON_KEY",
    "http_auth_check",
    "install_http_auth",
    "security_error_response",
]

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
    if "%2" not in raw_uri:  # the common case, one lookup (``%2F`` or ``%2f``)
        return endpoint, req.view_args or {}
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


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class _Route:
    """What the hook needs to know of an endpoint and method, worked out once (``_route``);
    compared and hashed by identity (a cheap key)."""

    public: bool
    web: bool
    asks: Need | EntityNeed | None
    """The route's need when the authorizer is asked about it, else None (public or any
    authenticated principal)."""
    arg: str | None
    """The argument naming the resource (None: "some resource", no argument)."""
    query: bool
    """``arg`` is a query-string argument, not a view argument."""
    listed: ResourceType | None
    """The resource type of a list answer filtered to what the principal may read."""

    def target_name(self, req: Request, view_args: Mapping[str, Any]) -> str | None:
        """The request's argument that names the resource (None: none is named)."""
        if self.arg is None:
            return None
        return str((req.args if self.query else view_args).get(self.arg, ""))


def _plan(endpoint: str | None, method: str) -> _Route:
    need = need_for(endpoint, method)
    asks = need if isinstance(need, Need | EntityNeed) else None
    return _Route(
        public=isinstance(need, str) and need == PUBLIC,
        web=endpoint is not None and endpoint.startswith(WEB_UI_PREFIX),
        asks=asks,
        arg=asks.arg if asks is not None else None,
        query=asks.query if asks is not None else False,
        listed=FILTERED_LISTS.get(endpoint) if endpoint is not None else None,
    )


_ROUTES: dict[str, _Route] = {endpoint: _plan(endpoint, "GET") for endpoint in ROUTE_NEEDS}
"""The routes whose need does not depend on the method: one dict lookup a request."""


@functools.lru_cache(maxsize=1024)
def _route_by_method(endpoint: str | None, method: str) -> _Route:
    return _plan(endpoint, method)


def _route(endpoint: str | None, method: str) -> _Route:
    route = _ROUTES.get(endpoint) if endpoint is not None else None
    return route if route is not None else _route_by_method(endpoint, method)


def _target(need: Need | EntityNeed, raw: str | None) -> tuple[Action, ResourceType, str | None]:
    """What ``need`` asks for given the request's argument ``raw`` (``_Route.target_name``):
    (action, resource type, name or None for "some resource of that type")."""
    if isinstance(need, EntityNeed):
        kind, name = entity_resource(str(raw))
        return need.action, kind, name
    return need.action, need.kind, raw


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


def http_auth_check(
    service: SecurityService,
    authorizer: Authorizer,
    sessions: WebSessions | None = None,
    limiter: RequestRateLimiter | None = None,
    tokens: JwtValidator | None = None,
) -> Callable[[], Response | None]:
    """The check to run before every route, as a Flask ``before_request`` function (it answers
    a refusal, or None to go on); ``install_http_auth`` registers it on its own."""

    def _principal(
        req: Request, web: bool, header: str, address: str | None
    ) -> tuple[str, VerifiedCredentials | None]:
        """Who sent ``req`` when its credentials are not remembered (or there is no header),
        with the cache entry made for them."""
        environ = req.environ
        cookie = req.cookies.get(COOKIE_NAME) if web and sessions is not None else None
        if cookie and not header and sessions is not None:
            session = sessions.find(cookie)
            if session is None:
                raise AuthenticationFailed("the session has ended: sign in again")
            environ[WEB_SESSION_ENVIRON_KEY] = session
            return session.principal, None
        certificate_principal = environ.get(CERTIFICATE_PRINCIPAL_ENVIRON_KEY)
        if not header and certificate_principal:
            return str(certificate_principal), None
        generation = service.authorizer_generation()  # before the check: see ``remember``
        principal = _authenticate(service, header, address, tokens)
        if looks_like_jwt(header.partition(" ")[2].strip()):
            return principal, None  # a JWT is checked each time (expiry)
        return principal, service.remember(header, principal, generation)

    def _denial(
        req: Request, principal: str, need: Need | EntityNeed, raw: str | None, web: bool
    ) -> Response | None:
        """None when the authorizer allows ``need``, else the (audited) 403 answer."""
        action, kind, name = _target(need, raw)
        host = client_address(req.remote_addr)
        if name is None:
            allowed = authorizer.allows_some(principal, action, kind, host=host)
            name = CLUSTER_NAME if kind is ResourceType.CLUSTER else "*"
        else:
            allowed = authorizer.allows(principal, action, kind, name, host=host)
        if allowed:
            return None
        # ask again through ``authorize``, which audits the denial
        authorizer.authorize(principal, action, kind, name, f"{req.method} {req.path}", host=host)
        error = Forbidden(f"{principal} is not allowed to {action} {kind}:{name}")
        return _web_error_response(error) if web else security_error_response(error)

    def _refusal(req: Request, error: SecurityError, web: bool) -> Response:
        browser = web and sessions is not None and "HTTP_AUTHORIZATION" not in req.environ
        if browser and error.http_status == 401 and req.method in ("GET", "HEAD"):
            target = req.full_path.rstrip("?")
            return redirect(url_for(LOGIN_ENDPOINT, next=target), code=303)
        return _web_error_response(error) if web else security_error_response(error)

    def authenticate_and_authorize() -> Response | None:
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        rule = req.url_rule
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        if rule is not None and "%2" not in raw_uri:  # the common case, inline
            endpoint, view_args = rule.endpoint, req.view_args
        else:
            endpoint, view_args = _effective_route(req)
        route = _route(endpoint, req.method)
        if route.public:
            return None
        header = environ.get("HTTP_AUTHORIZATION", "")
        address = environ.get("REMOTE_ADDR")
        try:
            # a header wins over a session cookie and a client certificate
            verified = service.verified(header, address) if header else None
            if verified is not None:
                principal = verified.principal
            else:
                principal, verified = _principal(req, route.web, header, address)
        except SecurityError as error:
            return _refusal(req, error, route.web)
        environ[PRINCIPAL_ENVIRON_KEY] = principal
        if limiter is not None:
            wait_s = limiter.try_acquire(principal)
            if wait_s > 0:
                return security_error_response(
                    RateLimited(
                        f"{principal} sent more than {limiter.rate:g} requests a second",
                        retry_after_s=wait_s,
                    )
                )
        if route.asks is not None:
            raw = route.target_name(req, view_args)
            # what these credentials were allowed in this authorizer generation: asked once
            grant = (route, raw, address)
            if verified is None or grant not in verified.grants:
                denial = _denial(req, principal, route.asks, raw, route.web)
                if denial is not None:
                    return denial
                if verified is not None:
                    verified.grant(grant)
        if route.listed is not None:  # only these requests pay for a response hook
            host = client_address(address)
            after_this_request(
                functools.partial(_filter_list, authorizer, principal, route.listed, host)
            )
        return None

    return authenticate_and_authorize


def install_http_auth(
    app: Flask,
    service: SecurityService,
    authorizer: Authorizer,
    sessions: WebSessions | None = None,
    limiter: RequestRateLimiter | None = None,
    tokens: JwtValidator | None = None,
) -> Callable[[], Response | None]:
    """Register ``http_auth_check`` as a ``before_request`` hook of ``app``."""
    return app.before_request(http_auth_check(service, authorizer, sessions, limiter, tokens))
