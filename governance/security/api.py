"""``/security/v1``: users, API keys, role bindings and Kafka ACL entries over REST (DESIGN.md).

Parse the request, call ``SecurityService``, format the answer; the permission
each route needs is in ``routes`` (SystemAdmin's ``manage`` on the cluster,
``whoami`` for anyone authenticated). ``GET /security/v1/audit`` is the view
of security's entries in the governance audit log (``/governance/v1/audit``
shows them with the rest).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from governance.security.audit import security_entries
from governance.security.errors import InvalidSecurityRequest, SecurityError
from governance.security.http_auth import security_error_response
from governance.security.service import SecurityService
from registry.hooks import PRINCIPAL_ENVIRON_KEY

__all__ = ["create_blueprint"]

_ANONYMOUS = "User:ANONYMOUS"


def _body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise InvalidSecurityRequest("the body must be a JSON object")
    return body


def _string(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidSecurityRequest(f"{key!r} must be a string")
    return value


def _actor() -> str:
    return str(request.environ.get(PRINCIPAL_ENVIRON_KEY, _ANONYMOUS))


def create_blueprint(service: SecurityService) -> Blueprint:
    bp = Blueprint("security", __name__, url_prefix="/security/v1")
    bp.register_error_handler(SecurityError, security_error_response)

    @bp.get("/whoami")
    def whoami() -> Response:
        return jsonify({"principal": _actor()})

    @bp.post("/users")
    def create_user() -> Response:
        body = _body()
        name, password = _string(body, "name"), _string(body, "password")
        assert name is not None and password is not None
        service.create_user(name, password, actor=_actor())
        return jsonify({"name": name})

    @bp.get("/users")
    def list_users() -> Response:
        return jsonify(service.users())

    @bp.delete("/users/<name>")
    def delete_user(name: str) -> Response:
        service.delete_user(name, actor=_actor())
        return jsonify({"name": name})

    @bp.post("/apikeys")
    def create_api_key() -> Response:
        body = _body()
        user = _string(body, "user")
        assert user is not None
        description = _string(body, "description", required=False) or ""
        return jsonify(service.create_api_key(user, description, actor=_actor()))

    @bp.get("/apikeys")
    def list_api_keys() -> Response:
        return jsonify(service.api_keys(request.args.get("user")))

    @bp.delete("/apikeys/<key_id>")
    def delete_api_key(key_id: str) -> Response:
        service.delete_api_key(key_id, actor=_actor())
        return jsonify({"key": key_id})

    @bp.post("/rolebindings")
    def create_binding() -> Response:
        body = _body()
        binding = service.create_binding(
            _string(body, "principal") or "",
            _string(body, "role") or "",
            _string(body, "resource", required=False),
            actor=_actor(),
        )
        return jsonify(binding.to_json())

    @bp.get("/rolebindings")
    def list_bindings() -> Response:
        principal = request.args.get("principal")
        return jsonify([binding.to_json() for binding in service.bindings(principal)])

    @bp.delete("/rolebindings/<int:binding_id>")
    def delete_binding(binding_id: int) -> Response:
        service.delete_binding(binding_id, actor=_actor())
        return jsonify({"id": binding_id})

    @bp.get("/acls")
    def list_acl_entries() -> Response:
        """The Kafka ACLs no role binding expresses (made with CreateAcls)."""
        principal = request.args.get("principal")
        return jsonify([entry.to_json() for entry in service.acl_entries(principal)])

    @bp.delete("/acls/<int:entry_id>")
    def delete_acl_entry(entry_id: int) -> Response:
        service.delete_acl_entry(entry_id, actor=_actor(), via="REST")
        return jsonify({"id": entry_id})

    @bp.get("/audit")
    def audit() -> Response:
        try:
            limit = min(max(int(request.args.get("limit", "100")), 1), 1000)
        except ValueError:
            raise InvalidSecurityRequest("limit must be an integer") from None
        entries = security_entries(
            service.store.database, limit=limit, outcome=request.args.get("outcome") or None
        )
        # ``time_ms`` is what this route answered before the logs were joined
        return jsonify([{**entry.to_json(), "time_ms": entry.time_ms} for entry in entries])

    return bp
