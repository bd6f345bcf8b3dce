"""``/dek-registry/v1``: the DEK registry's routes (a Flask blueprint: parse, call, format).

``GET|POST /keks``, ``GET|PUT /keks/<name>``, ``GET|POST /keks/<name>/deks``,
``POST /keks/<name>/deks/<subject>``, ``GET /keks/<name>/deks/<subject>``
(the latest version), ``GET /keks/<name>/deks/<subject>/versions[/<version>]``
(``-1`` or ``latest``: the latest); ``?deleted=true`` includes soft-deleted
keys, ``?algorithm=`` picks the DEK algorithm (AES256_GCM by default). Errors
are ``{"error_code", "message"}`` with Confluent's DEK registry codes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from registry import payloads
from registry.deks.service import LATEST, DekService
from registry.errors import InvalidRequestBody, RegistryError

__all__ = ["create_blueprint"]

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def _reply(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=_CONTENT_TYPE)


def _error(error: RegistryError) -> Response:
    return _reply({"error_code": error.error_code, "message": error.message}, error.http_status)


def _deleted() -> bool:
    return payloads.parse_bool(request.args, "deleted")


def _body() -> dict[str, Any]:
    return payloads.parse_json_body(request.content_type, request.get_data(cache=False))


def _version(text: str) -> int:
    if text.lower() == "latest":
        return LATEST
    try:
        version = int(text)
    except ValueError:
        raise InvalidRequestBody(f"Invalid version {text!r}") from None
    if version != LATEST and version < 1:
        raise InvalidRequestBody(f"Invalid version {text!r}")
    return version


def create_blueprint(service: DekService) -> Blueprint:
    bp = Blueprint("dek_registry", __name__, url_prefix="/dek-registry/v1")
    bp.register_error_handler(RegistryError, _error)

    @bp.get("/keks")
    def list_keks() -> Response:
        return _reply(service.kek_names(deleted=_deleted()))

    @bp.post("/keks")
    def create_kek() -> Response:
        return _reply(service.create_kek(_body()).to_json())

    @bp.get("/keks/<name>")
    def get_kek(name: str) -> Response:
        return _reply(service.kek(name, deleted=_deleted()).to_json())

    @bp.put("/keks/<name>")
    def update_kek(name: str) -> Response:
        return _reply(service.update_kek(name, _body()).to_json())

    @bp.get("/keks/<name>/deks")
    def list_dek_subjects(name: str) -> Response:
        return _reply(service.dek_subjects(name, deleted=_deleted()))

    @bp.post("/keks/<name>/deks")
    def create_dek(name: str) -> Response:
        return _reply(service.create_dek(name, _body()).to_json())

    @bp.post("/keks/<name>/deks/<path:subject>")
    def create_subject_dek(name: str, subject: str) -> Response:
        body = _body()
        if body.get("subject") not in (None, subject):
            raise InvalidRequestBody("the subject in the body differs from the one in the path")
        return _reply(service.create_dek(name, {**body, "subject": subject}).to_json())

    @bp.get("/keks/<name>/deks/<path:subject>/versions")
    def list_dek_versions(name: str, subject: str) -> Response:
        algorithm = request.args.get("algorithm")
        return _reply(service.dek_versions(name, subject, algorithm, deleted=_deleted()))

    @bp.get("/keks/<name>/deks/<path:subject>/versions/<version>")
    def get_dek_version(name: str, subject: str, version: str) -> Response:
        found = service.dek(
            name, subject, _version(version), request.args.get("algorithm"), deleted=_deleted()
        )
        return _reply(found.to_json())

    @bp.get("/keks/<name>/deks/<path:subject>")
    def get_dek(name: str, subject: str) -> Response:
        found = service.dek(
            name, subject, LATEST, request.args.get("algorithm"), deleted=_deleted()
        )
        return _reply(found.to_json())

    return bp
