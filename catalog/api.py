"""The catalog's REST API at ``/catalog/v1`` (a Flask blueprint: parse, call, format).

Routes: ``GET /search``; ``GET /entities/<qualifiedName>``; curated edits
``PUT /entities/<qn>/description``, ``POST|PUT /entities/<qn>/{tags,owners,domains,terms}``,
``DELETE /entities/<qn>/{tags,owners,domains,terms}/<value>``; glossary
``GET /glossary``, ``PUT|DELETE /glossary/<name>``; ``GET /lineage?entity=``;
``GET|POST /impact?subject=`` with a proposed schema as the body. Every catalog
error becomes ``{"error_code", "message"}`` in ``_error`` below. With auth on,
search, lineage and impact answer only what the principal may read
(``CatalogService.visibility_for``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, jsonify, request

from catalog.errors import CatalogError, EntityNotFound, InvalidRequest
from catalog.impact import analyse_impact
from catalog.model import Entity, Visibility
from catalog.params import parse_search
from catalog.service import EDITABLE_KINDS, CatalogService
from registry import payloads
from registry.errors import RegistryError
from registry.hooks import PRINCIPAL_ENVIRON_KEY

__all__ = ["create_blueprint", "entity_json"]


def entity_json(entity: Entity, *, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": entity.type,
        "name": entity.name,
        "qualifiedName": entity.qualified_name,
        "description": entity.description,
        "tags": entity.tags,
        "owners": entity.owners,
        "domains": entity.domains,
        "terms": entity.terms,
    }
    if entity.type == "field":
        body.update(
            subject=entity.subject,
            version=entity.version,
            path=entity.path,
            fieldType=entity.attrs.get("fieldType"),
        )
    elif entity.type == "subject":
        body.update(version=entity.version, schemaType=entity.attrs.get("schemaType"))
    if full:
        body["attributes"] = entity.attrs
        body["schema"] = {"description": entity.schema_description, **_plural(entity.schema_labels)}
        body["curated"] = {
            "description": entity.curated_description,
            **_plural(entity.curated_labels),
        }
    return body


_PLURAL = {kind: word for word, kind in EDITABLE_KINDS.items()}


def _plural(labels: dict[str, list[str]]) -> dict[str, list[str]]:
    return {_PLURAL.get(kind, kind): values for kind, values in labels.items()}


def _label_kind(word: str) -> str:
    if word not in EDITABLE_KINDS:
        raise EntityNotFound(
            f"No editable collection {word!r}; use one of {', '.join(EDITABLE_KINDS)}"
        )
    return EDITABLE_KINDS[word]


def _actor() -> str:
    return str(request.environ.get(PRINCIPAL_ENVIRON_KEY) or "User:ANONYMOUS")


def _visibility(service: CatalogService) -> Visibility:
    """What the authenticated principal may see (everything with auth off)."""
    return service.visibility_for(request.environ.get(PRINCIPAL_ENVIRON_KEY))


def _json_body() -> Any:
    return payloads.parse_json_body(request.content_type, request.get_data(cache=False))


def create_blueprint(service: CatalogService) -> Blueprint:
    bp = Blueprint("catalog_api", __name__, url_prefix="/catalog/v1")

    @bp.errorhandler(CatalogError)
    def _error(error: CatalogError) -> Response:
        response = jsonify({"error_code": error.error_code, "message": error.message})
        response.status_code = error.http_status
        return response

    @bp.errorhandler(RegistryError)
    def _registry_error(error: RegistryError) -> Response:
        response = jsonify({"error_code": error.error_code, "message": str(error)})
        response.status_code = error.http_status
        return response

    @bp.get("/search")
    def search() -> Any:
        query = dataclasses.replace(parse_search(request.args), visibility=_visibility(service))
        page = service.search(query)
        return {
            "total": page.total,
            "results": [entity_json(entity) for entity in page.results],
            "facets": page.facets,
        }

    @bp.get("/entities/<path:qualified_name>")
    def entity(qualified_name: str) -> Any:
        return entity_json(service.entity(qualified_name), full=True)

    @bp.put("/entities/<path:qualified_name>/description")
    def put_description(qualified_name: str) -> Any:
        document = _json_body()
        text = document.get("description") if isinstance(document, dict) else None
        if text is not None and not isinstance(text, str):
            raise InvalidRequest('the body must be {"description": "<text>"} (or null to remove)')
        return entity_json(service.set_description(qualified_name, text, actor=_actor()), full=True)

    @bp.route(
        "/entities/<path:qualified_name>/<kind>",
        methods=["POST", "PUT"],
    )
    def edit_labels(qualified_name: str, kind: str) -> Any:
        label_kind = _label_kind(kind)
        document = _json_body()
        if request.method == "PUT":
            values = document.get(kind) if isinstance(document, dict) else None
            if not isinstance(values, list):
                raise InvalidRequest(f'the body must be {{"{kind}": ["…"]}}')
            updated = service.set_labels(qualified_name, label_kind, values, actor=_actor())
        else:
            value = document.get("value") if isinstance(document, dict) else None
            updated = service.add_label(qualified_name, label_kind, value, actor=_actor())
        return entity_json(updated, full=True)

    @bp.delete("/entities/<path:qualified_name>/<kind>/<value>")
    def remove_label(qualified_name: str, kind: str, value: str) -> Any:
        updated = service.remove_label(qualified_name, _label_kind(kind), value, actor=_actor())
        return entity_json(updated, full=True)

    @bp.get("/glossary")
    def glossary() -> Any:
        return {"terms": service.terms()}

    @bp.put("/glossary/<name>")
    def put_term(name: str) -> Any:
        document = _json_body()
        definition = document.get("definition", "") if isinstance(document, dict) else None
        if not isinstance(definition, str):
            raise InvalidRequest('the body must be {"definition": "<text>"}')
        return service.put_term(name, definition, actor=_actor())

    @bp.delete("/glossary/<name>")
    def delete_term(name: str) -> Any:
        service.delete_term(name, actor=_actor())
        return Response(status=204)

    @bp.get("/lineage")
    def lineage() -> Any:
        entity_name = request.args.get("entity", "")
        return service.lineage(entity_name, _visibility(service))

    @bp.route("/impact", methods=["GET", "POST"])
    def impact() -> Any:
        subject = request.args.get("subject", "")
        if not subject:
            raise InvalidRequest("subject is required: /catalog/v1/impact?subject=<name>")
        proposal = payloads.parse_schema_request(_json_body())
        return analyse_impact(service, subject, proposal, _visibility(service))

    return bp
