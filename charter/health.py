"""``GET /health`` for load balancers and orchestrators: is this HTTP worker able to serve?

The HTTP tier is stateless, so it is healthy exactly when its database answers; the
route runs one trivial query (``SELECT 1``) and answers 200 ``{"status": "UP", ...}``
or 503 ``{"status": "DOWN", ...}``. It never raises: a database that is down is the
answer, not an error. The reason is logged, not sent, since the route is meant to be
reachable without credentials.
"""

from __future__ import annotations

import contextlib
import logging

import peewee
from flask import Blueprint, Response, jsonify

__all__ = ["create_health_blueprint"]

log = logging.getLogger("charter.health")

UP = "UP"
DOWN = "DOWN"


def database_answers(database: peewee.Database) -> bool:
    """Whether ``database`` runs ``SELECT 1`` now (a lost connection is reopened first)."""
    try:
        database.execute_sql("SELECT 1").fetchone()
    except Exception as exc:  # any driver error means "cannot serve", never a 500
        log.warning("health check: the database does not answer: %s", exc)
        if not database.is_closed():
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                database.close()  # this thread's next query connects afresh
        return False
    return True


def create_health_blueprint(database: peewee.Database) -> Blueprint:
    """``GET /health`` over ``database``."""
    bp = Blueprint("health", __name__)

    @bp.get("/health")
    def health() -> Response:
        database_status = UP if database_answers(database) else DOWN
        response = jsonify(
            {"status": database_status, "checks": [{"name": "database", "status": database_status}]}
        )
        response.status_code = 200 if database_status == UP else 503
        response.headers["Cache-Control"] = "no-store"
        return response

    return bp
