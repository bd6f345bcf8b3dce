"""The catalog's web UI at ``/ui/``: server-rendered pages (Jinja), readable without JavaScript.

Pages: search with facets (``/ui/``), topic (current schema, configs, lineage
picture, producers, consumer groups with lag), subject (versions, side-by-side
diff, compatibility, rules, fields), field, glossary term, governance (policies,
audit log), and with ``auth`` on a login page. Curated tags and descriptions are
edited with plain HTML forms that post and redirect back. Views only parse the
request, call the service (or ``catalog.pages``) and render. With auth on, the
search page, a term's entity list and the lineage on topic and subject pages
show only what the signed-in principal may read (as the API does).

Every form carries a CSRF token, checked on every POST before the view runs
(``catalog.csrf``).
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from catalog import csrf
from catalog.errors import CatalogError
from catalog.model import ENTITY_TYPES, Entity, Visibility
from catalog.pages import diff_versions, lineage_picture, subject_page, topic_schemas
from catalog.params import parse_search
from catalog.service import EDITABLE_KINDS, CatalogService
from governance.errors import GovernanceError
from governance.security.errors import SecurityError
from governance.security.sessions import COOKIE_NAME, WEB_SESSION_ENVIRON_KEY, WebSessions
from governance.service import GovernanceService
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


def _visibility(service: CatalogService) -> Visibility:
    """What the signed-in principal may see (everything with auth off)."""
    return service.visibility_for(request.environ.get(PRINCIPAL_ENVIRON_KEY))


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a UI path of this site only (no open redirect)."""
    if target and target.startswith("/ui/") and "\\" not in target and "//" not in target:
        return target
    return url_for("catalog_ui.search")


def create_blueprint(
    service: CatalogService,
    *,
    governance: GovernanceService | None = None,
    sessions: WebSessions | None = None,
) -> Blueprint:
    """The UI over ``service``; the governance page when ``governance`` is given; the login
    page when ``sessions`` is (auth on)."""
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

    csrf.protect(bp, service.audit)

    @bp.app_context_processor
    def _page_globals() -> dict[str, Any]:
        session = request.environ.get(WEB_SESSION_ENVIRON_KEY)
        return {
            "signed_in_as": session.principal if session is not None else None,
            "has_governance": governance is not None,
            "has_login": sessions is not None,
        }

    @bp.errorhandler(CatalogError)
    def _error(error: CatalogError) -> tuple[str, int]:
        return render_template("catalog/error.html", error=error), error.http_status

    @bp.errorhandler(GovernanceError)
    def _governance_error(error: GovernanceError) -> tuple[str, int]:
        return render_template("catalog/error.html", error=error), error.http_status

    @bp.get("/")
    def search() -> str:
        query = dataclasses.replace(parse_search(request.args), visibility=_visibility(service))
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
        lineage = service.lineage(f"topic:{name}", _visibility(service))
        return render_template(
            "catalog/topic.html",
            entity=entity,
            lineage=lineage,
            picture=lineage_picture(name, lineage),
            schemas=topic_schemas(service, lineage["subjects"]),
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
            lineage=service.lineage(f"subject:{name}", _visibility(service)),
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
            "catalog/term.html",
            entity=found,
            tagged=service.tagged("term", found.name, _visibility(service)),
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

    @bp.get("/governance")
    def governance_page() -> str:
        if governance is None:
            abort(404)
        filters = {
            "action": request.args.get("action", "").strip(),
            "resource": request.args.get("resource", "").strip(),
        }
        limit = request.args.get("limit", 50, type=int) or 50
        entries = governance.audit(
            limit=limit,
            action=filters["action"] or None,
            resource=filters["resource"] or None,
        )
        return render_template(
            "catalog/governance.html",
            policies=governance.policies(),
            entries=entries,
            filters=filters,
            limit=limit,
        )

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        target = _safe_next(request.values.get("next"))
        if sessions is None:
            return redirect(target, code=303)  # auth is off: nobody signs in
        if request.method == "GET":
            return render_template("catalog/login.html", next=target, error=None, name="")
        name = request.form.get("name", "")
        try:
            session = sessions.sign_in(name, request.form.get("password", ""), request.remote_addr)
        except SecurityError as error:
            page = render_template("catalog/login.html", next=target, error=error, name=name)
            return page, error.http_status
        response = redirect(target, code=303)
        response.set_cookie(
            COOKIE_NAME,
            session.cookie,
            max_age=sessions.lifetime_s,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
            path="/ui/",
        )
        response.delete_cookie(csrf.CSRF_COOKIE, path="/ui/")
        return response

    @bp.post("/logout")
    def logout() -> Response:
        session = request.environ.get(WEB_SESSION_ENVIRON_KEY)
        if sessions is not None and session is not None:
            sessions.sign_out(session)
        response = redirect(url_for("catalog_ui.login"), code=303)
        response.delete_cookie(COOKIE_NAME, path="/ui/")
        return response

    return bp
