"""The application factory: one Flask app serving the registry, governance, security and the catalog.

``create_app(settings)`` is what ``charter up``, ``charter serve http``, the WSGI
entry point and the tests call; nothing happens at import time. What the app is
built from (database, registry service, its events and hooks) is decided by the
composition root, ``charter.compose``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import peewee
from flask import Flask, jsonify, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

import charter
from broker.cluster_id import load_or_create_cluster_id
from catalog import api as catalog_api
from catalog import ui as catalog_ui
from charter import compose, security
from charter.catalog_access import catalog_visibility
from charter.compose import migrate
from charter.config import Settings, load_settings
from charter.events import start_http_events
from charter.health import create_health_blueprint
from governance import api as governance_api
from governance.security.buckets import BucketStore
from registry import api as registry_api
from registry.deks import api as dek_api
from registry.deks.service import DekService
from registry.deks.store import DekStore

__all__ = ["create_app", "migrate"]


def create_app(
    settings: Settings | None = None,
    *,
    database: peewee.Database | None = None,
    rate_buckets: BucketStore | None = None,
) -> Flask:
    """Build the HTTP app over ``settings`` (or an already opened ``database``).

    ``rate_buckets``: where the per-principal request rate is counted (gunicorn's master
    passes ``SharedBuckets``, so its workers count together); this process's by default.
    """
    settings = settings or load_settings()
    if database is None:
        database = compose.open_migrated_database(settings)
    else:
        migrate(database)

    app = Flask("charter")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.sort_keys = False
    app.extensions["charter.settings"] = settings
    app.extensions["charter.database"] = database

    registry_service = compose.build_registry(settings, database)
    app.extensions["charter.registry"] = registry_service
    governance = compose.governance_for(database, settings)
    app.extensions["charter.governance"] = governance
    catalog = compose.build_catalog(settings, database, registry_service, governance)
    app.extensions["charter.catalog"] = catalog
    # This process follows the outboxes (``stop()`` it to end its thread).
    app.extensions["charter.events"] = start_http_events(
        database,
        registry_service,
        durable=[catalog.indexer],
        retention_s=settings.event_retention_hours * 3600,
        governance=governance,
    )
    app.register_blueprint(
        registry_api.create_blueprint(
            registry_service,
            kafka_cluster_id=functools.partial(load_or_create_cluster_id, settings.data_dir),
            server_version=charter.__version__,
        )
    )
    app.register_blueprint(dek_api.create_blueprint(DekService(DekStore(database))))
    app.register_blueprint(create_health_blueprint(database))
    app.register_blueprint(governance_api.create_blueprint(governance.service))
    app.register_blueprint(catalog_api.create_blueprint(catalog))
    security_service = security.security_service(settings, database)
    if settings.auth:  # search, lineage and impact answer per principal
        catalog.visibility = catalog_visibility(security_service.authorizer)
    sessions = security.web_sessions(settings, database, security_service)
    app.register_blueprint(
        catalog_ui.create_blueprint(catalog, governance=governance.service, sessions=sessions)
    )
    # /security/v1; with auth on, its check of every route, right after the request checks
    authenticate = security.install_http(
        app,
        settings,
        database,
        service=security_service,
        sessions=sessions,
        rate_buckets=rate_buckets,
    )
    _install_request_checks(app, settings.max_request_bytes, then=authenticate)

    _install_connection_handling(app, database)
    _install_http_error_handler(app)
    return app


def _install_request_checks(
    app: Flask, max_request_bytes: int, then: Callable[[], Any] | None = None
) -> None:
    """Refusals every route shares, made before authentication (``then``, when auth is on)
    and before any route runs; one ``before_request`` hook, as Flask's dispatch of each
    costs every request.

    - A body over ``max_request_bytes`` is 413 on every route, those that ignore their
      body too. A body of unknown length (chunked) is read here, up to the limit, and kept
      for the route (``get_data`` returns it): werkzeug would cut it at the limit silently.
    - A NUL byte (``%00``) in the path or query string is 400: no name or filter Charter
      stores can hold one (PostgreSQL text cannot at all), so it is refused once here
      rather than failing deep in a store.
    """

    def _refuse_malformed_requests() -> None:
        if (request.content_length or 0) > max_request_bytes:
            raise RequestEntityTooLarge()
        if request.content_length is None and request.environ.get("wsgi.input_terminated"):
            request.get_data(cache=True)
            stream = request.stream
            if isinstance(stream, LimitedStream) and stream.is_exhausted:
                stream.read(1)  # raises RequestEntityTooLarge if anything is left
        arguments = request.args.items(multi=True)
        if "\x00" in request.path or any("\x00" in key + value for key, value in arguments):
            raise BadRequest("NUL bytes (%00) are not allowed in URLs")

    if then is None:
        app.before_request(_refuse_malformed_requests)
        return

    @app.before_request
    def _refuse_malformed_requests_then_authenticate() -> Any:
        _refuse_malformed_requests()
        return then()


def _install_connection_handling(app: Flask, database: peewee.Database) -> None:
    """Each thread opens its connection on first use (peewee's autoconnect) and keeps it.

    Routes that never touch the database pay nothing, and a PostgreSQL read is
    one round trip instead of a connect, a query and a disconnect. A connection
    left unusable (server restart, network failure) or after an unhandled error
    is closed, so the thread's next request connects afresh.
    """

    @app.teardown_request
    def _drop_broken_connection(exc: BaseException | None) -> None:
        if database.is_closed() or isinstance(database, peewee.SqliteDatabase):
            return
        connection = database.connection()
        if exc is not None or getattr(connection, "broken", False) or connection.closed:
            with contextlib.suppress(peewee.OperationalError):  # still in a transaction
                database.close()


def _install_http_error_handler(app: Flask) -> None:
    """Every HTTP-level error (404 route, 405 method, 413 body too large) as Confluent-style JSON
    (``application/json`` under ``/catalog/`` and ``/ui/``)."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        messages = {
            404: "HTTP 404 Not Found",
            405: "HTTP 405 Method Not Allowed",
            413: "Request body too large",
        }
        message = messages.get(status, error.description or error.name)
        response = jsonify({"error_code": status, "message": message})
        response.status_code = status
        # The catalog answers plain JSON (its own errors too); the registry negotiates.
        if request.path.startswith(("/catalog/", "/ui/")):
            response.content_type = "application/json"
        else:
            response.content_type = registry_api.response_content_type()
        return response
