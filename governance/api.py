"""The governance REST API (``/governance/v1``): policies and the audit log.

Parses requests, calls ``GovernanceService``, formats responses; errors are
``{"error_code", "message"}`` like the registry's (docs/openapi.yaml).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from governance.errors import GovernanceError, InvalidPolicyRequest
from governance.service import GovernanceService
from registry.hooks import ANONYMOUS, PRINCIPAL_ENVIRON_KEY

__all__ = ["create_blueprint"]


def create_blueprint(service: GovernanceService) -> Blueprint:
    blueprint = Blueprint("governance", __name__, url_prefix="/governance/v1")

    @blueprint.errorhandler(GovernanceError)
    def _error(error: GovernanceError) -> Any:
        response = jsonify({"error_code": error.error_code, "message": error.message})
        response.status_code = error.http_status
        return response

    @blueprint.get("/policies")
    def list_policies() -> Any:
        return jsonify([state.to_json() for state in service.policies()])

    @blueprint.get("/policies/<name>")
    def get_policy(name: str) -> Any:
        return jsonify(service.policy(name).to_json())

    @blueprint.put("/policies/<name>")
    def put_policy(name: str) -> Any:
        body = request.get_json(silent=True)
        if body is None:
            raise InvalidPolicyRequest("the body must be JSON")
        actor = request.environ.get(PRINCIPAL_ENVIRON_KEY, ANONYMOUS.principal)
        return jsonify(service.update(name, body, actor=actor).to_json())

    @blueprint.get("/audit")
    def audit() -> Any:
        try:
            limit = int(request.args.get("limit", "100"))
        except ValueError:
            raise InvalidPolicyRequest("limit must be an integer") from None
        entries = service.audit(
            limit=limit,
            action=request.args.get("action") or None,
            resource=request.args.get("resource") or None,
            outcome=request.args.get("outcome") or None,
        )
        return jsonify([entry.to_json() for entry in entries])

    return blueprint
