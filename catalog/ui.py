"""The catalog's web UI at ``/ui/``: server-rendered pages (Jinja), readable without JavaScript.

Pages: search with facets (``/ui/``), topic (configs, lineage picture, producers,
consumer groups), subject (versions, side-by-side diff, compatibility, rules,
fields), field, glossary term. Curated tags and descriptions are edited with
plain HTML forms that post and redirect back. Views only parse the request, call
the service (or ``catalog.pages``) and render.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from catalog.errors import CatalogError
from catalog.model import ENTITY_TYPES, Entity
from catalog.pages import diff_versions, lineage_picture, subject_page
from catalog.params import parse_search
from catalog.service import EDITABLE_KINDS, CatalogService
from registry.hooks import PRINCIPAL_ENVIRON_KEY

__all__ = ["create_blueprint", "entity_url"]


def entity_url(entity: Entity) -> str:
    """The page of an entity."""
    if entity.type == "topic":
        return url_for("catalog_ui.topic", name=entity.name)
    if entity.type == "subject":
        return url_for("catalog_ui.subject", name=entity.name)
    if entity.type == "field":
        return url_for("catalog_ui.field", subject=entity.subject, path=entity.path)
    return url_for("catalog_ui.entity", qualified_name=entity.qualified_name)


def _actor() -> str:
    return str(request.environ.get(PRINCIPAL_ENVIRON_KEY) or "User:ANONYMOUS")


def create_blueprint(service: CatalogService) -> Blueprint:
    bp = Blueprint(
        "catalog_ui",
        __name__,
        url_prefix="/ui",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )

    @bp.app_template_global()
    def page_of(entity: Entity) -> str:
        return entity_url(entity)

    @bp.app_template_filter("q")
    def _quote(value: str) -> str:
        return quote(value, safe="")

    @bp.errorhandler(CatalogError)
    def _error(error: CatalogError) -> tuple[str, int]:
        return render_template("catalog/error.html", error=error), error.http_status

    @bp.get("/")
    def search() -> str:
        query = parse_search(request.args)
        page = service.search(query)
        args = request.args.to_dict(flat=False)
        return render_template(
            "catalog/search.html",
            query=query,
            page=page,
            types=ENTITY_TYPES,
            args=args,
            glossary=service.terms() if not query.text else [],
        )

    @bp.get("/topics/<path:name>")
    def topic(name: str) -> str:
        entity = service.entity(f"topic:{name}")
        lineage = service.lineage(f"topic:{name}")
        return render_template(
            "catalog/topic.html",
            entity=entity,
            lineage=lineage,
            picture=lineage_picture(name, lineage),
        )

    @bp.get("/subjects/<path:name>")
    def subject(name: str) -> str:
        entity = service.entity(f"subject:{name}")
        view = subject_page(service, name)
        left = request.args.get("left", type=int)
        right = request.args.get("right", type=int)
        diff = None
        if left is not None and right is not None:
            diff = diff_versions(service, name, left, right)
        return render_template(
            "catalog/subject.html",
            entity=entity,
            view=view,
            fields=service.fields_of(name),
            lineage=service.lineage(f"subject:{name}"),
            diff=diff,
            left=left,
            right=right,
        )

    @bp.get("/fields/<subject>/<path:path>")
    def field(subject: str, path: str) -> str:
        entity = service.entity(f"field:{subject}:{path}")
        return render_template("catalog/field.html", entity=entity)

    @bp.get("/entities/<path:qualified_name>")
    def entity(qualified_name: str) -> Any:
        found = service.entity(qualified_name)
        if found.type != "term":
            return redirect(entity_url(found))
        return render_template(
            "catalog/term.html", entity=found, tagged=service.tagged("term", found.name)
        )

    @bp.post("/entities/<path:qualified_name>/edit")
    def edit(qualified_name: str) -> Response:
        """Form posts: add/remove a curated label, set the curated description."""
        action = request.form.get("action", "")
        kind = EDITABLE_KINDS.get(request.form.get("kind", ""))
        value = request.form.get("value", "")
        if action == "add" and kind:
            updated = service.add_label(qualified_name, kind, value, actor=_actor())
        elif action == "remove" and kind:
            updated = service.remove_label(qualified_name, kind, value, actor=_actor())
        elif action == "describe":
            updated = service.set_description(qualified_name, value, actor=_actor())
        else:
            abort(400)
        return redirect(entity_url(updated), code=303)

    return bp
