"""The Confluent Schema Registry REST API as a Flask blueprint mounted at the root.

Each view parses the request (``registry.payloads``), calls one
``RegistryService`` method and formats the result; registry errors become
``{"error_code", "message"}`` in the one error handler below. Every answer,
errors included, is sent as the content type the ``Accept`` header asks for
(``registry.negotiation``, Confluent's choice), and a request whose ``Accept``
allows none of them is refused with 406 before its view runs. Subjects are
matched with ``<subject:...>`` (a path converter) so names holding ``/`` (sent
percent-encoded) work.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter, Rule

from registry import payloads
from registry.errors import NotAcceptable, RegistryError, StoreError
from registry.hooks import ANONYMOUS, PRINCIPAL_ENVIRON_KEY, Actor
from registry.negotiation import DEFAULT_MEDIA_TYPE, negotiate
from registry.service import RegisteredVersion, RegistryService, qualified_subject
from registry.store import SCHEMA_CACHE_SIZE, StoredSchema

__all__ = [
    "CONTENT_TYPE",
    "SCHEMA_REGISTRY_CLUSTER_ID",
    "create_blueprint",
    "response_content_type",
]

CONTENT_TYPE = DEFAULT_MEDIA_TYPE

# What Confluent's server reports as its own cluster id: its ``schema.registry.group.id``,
# whose default is this.
SCHEMA_REGISTRY_CLUSTER_ID = "schema-registry"


def response_content_type() -> str:
    """The content type this request's answer is sent as: the one its ``Accept`` header
    prefers, or the registry's default when it allows none (the 406 itself, an unknown
    route)."""
    return negotiate(request.headers.get("Accept")) or CONTENT_TYPE


def _encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _reply(body: Any, status: int = 200) -> Response:
    return Response(_encode(body), status=status, content_type=response_content_type())


def _raw(text: str) -> Response:
    """A schema returned as itself (the ``/schema`` routes), not as a JSON string."""
    return Response(text, status=200, content_type=response_content_type())


def _refuse_unacceptable() -> Response | None:
    """406 when the ``Accept`` header allows none of the registry's content types (Jersey
    refuses before the resource method runs, so before the body is read)."""
    if negotiate(request.headers.get("Accept")) is None:
        return _error(NotAcceptable())
    return None


def _body() -> dict[str, Any]:
    return payloads.parse_json_body(request.content_type, request.get_data(cache=False))


def _actor() -> Actor:
    """Who is asking: the principal an authenticator put in the WSGI environ (anonymous without
    one) and the client address."""
    principal = request.environ.get(PRINCIPAL_ENVIRON_KEY, ANONYMOUS.principal)
    return Actor(principal=principal, address=request.remote_addr)


def _flag(*names: str) -> bool:
    return payloads.parse_bool(request.args, *names)


def _error(error: RegistryError) -> Response:
    return _reply({"error_code": error.error_code, "message": error.message}, error.http_status)


# Stands in for an encoded slash while re-matching; control characters are invalid in subjects.
_SLASH_PLACEHOLDER = "\x00"


def _rematch_encoded_slashes() -> Response | None:
    """Route again on the raw path when a subject holds ``%2F``.

    The WSGI path arrives decoded, so ``/subjects/a%2Fversions`` would look like
    the versions of subject ``a``. Matching the raw path with encoded slashes
    kept inside their segment gives the route the client meant. Every registry
    request passes here, so the common case (no ``%2F``) is kept to one lookup.
    """
    environ = request.environ
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if "%2" not in raw_uri or "%2f" not in raw_uri.split("?", 1)[0].lower():
        return None
    raw_path = raw_uri.split("?", 1)[0]
    marked = raw_path.replace("%2F", _SLASH_PLACEHOLDER).replace("%2f", _SLASH_PLACEHOLDER)
    try:
        path = unquote(marked, errors="strict")
    except UnicodeDecodeError:
        return None  # not a subject we could have stored; let the normal match answer
    adapter = current_app.url_map.bind_to_environ(environ)
    try:
        rule, view_args = adapter.match(path, method=request.method, return_rule=True)
    except HTTPException:
        return None
    view_args = {
        name: value.replace(_SLASH_PLACEHOLDER, "/") if isinstance(value, str) else value
        for name, value in view_args.items()
    }
    if request.url_rule is not None and rule.endpoint == request.url_rule.endpoint:
        assert request.view_args is not None
        request.view_args.clear()
        request.view_args.update(view_args)
        return None
    return current_app.view_functions[rule.endpoint](**view_args)


class _SubjectConverter(PathConverter):
    """``<subject:...>``: a subject name, which may hold ``/``; ``:.:name`` (the default
    context, as Confluent writes it) means ``name``; one trailing literal ``/`` is dropped.
    Parsing it here, rather than in a per-request hook, leaves routes without a subject
    untouched."""

    def to_python(self, value: str) -> str:
        # A literal trailing "/" (``/subjects/s/``) is the optional slash Jersey allows after a
        # path; a subject ending in "/" arrives encoded (%2F), which this never sees.
        return qualified_subject(value[:-1] if value.endswith("/") else value)


def _add_subject_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("subject", _SubjectConverter)


def create_blueprint(
    service: RegistryService,
    *,
    kafka_cluster_id: Callable[[], str] | None = None,
    server_version: str | None = None,
) -> Blueprint:
    """The registry's routes over ``service``.

    ``kafka_cluster_id`` answers the id of the Kafka cluster the registry serves
    (``GET /v1/metadata/id``); the caller knows where it is kept. An ``OSError``
    from it is answered as Confluent answers a store failure there (50001).
    ``server_version`` is what ``GET /v1/metadata/version`` reports.
    """
    bp = Blueprint("registry", __name__)
    bp.record_once(_add_subject_converter)  # before any rule uses it
    bp.register_error_handler(RegistryError, _error)
    bp.before_request(_refuse_unacceptable)  # first: Jersey refuses before anything else
    bp.before_request(_rematch_encoded_slashes)

    @bp.get("/")
    def root() -> Response:
        return _reply({})

    @bp.get("/v1/metadata/id")
    def server_metadata() -> Response:
        """Confluent's ``ServerClusterId``: the Kafka cluster and the registry's own cluster id."""
        try:
            kafka_cluster = kafka_cluster_id() if kafka_cluster_id is not None else None
        except OSError as exc:
            raise StoreError(f"Error while reading the Kafka cluster id: {exc}") from None
        clusters = {
            "kafka-cluster": kafka_cluster,
            "schema-registry-cluster": SCHEMA_REGISTRY_CLUSTER_ID,
        }
        return _reply({"scope": {"path": [], "clusters": clusters}})

    @bp.get("/v1/metadata/version")
    def server_version_info() -> Response:
        """Confluent's ``SchemaRegistryServerVersion`` (``commitId`` left out: none is known)."""
        return _reply({"version": server_version} if server_version else {})

    # -- schemas by id ---------------------------------------------------------------

    # The encoded body of GET /schemas/ids/{id} per schema object: the store hands out the same
    # object while its cached answer is valid, so an identity match means the body is current.
    encoded_schemas: dict[int, tuple[StoredSchema, bytes]] = {}

    def _formatted(version: RegisteredVersion) -> RegisteredVersion:
        schema_format = request.args.get("format")
        if not schema_format:
            return version
        return dataclasses.replace(version, schema=service.formatted(version.schema, schema_format))

    @bp.get("/schemas/ids/<schema_id>")
    def schema_by_id(schema_id: str) -> Response:
        stored = service.get_schema(payloads.parse_schema_id(schema_id))
        if request.args.get("format"):
            stored = service.formatted(stored, request.args["format"])
            max_id = service.max_schema_id() if _flag("fetchMaxId") else None
            return _reply(payloads.schema_response(stored, max_id=max_id))
        if request.query_string and _flag("fetchMaxId"):
            return _reply(payloads.schema_response(stored, max_id=service.max_schema_id()))
        encoded = encoded_schemas.get(stored.schema_id)
        if encoded is None or encoded[0] is not stored:
            if len(encoded_schemas) >= SCHEMA_CACHE_SIZE:
                encoded_schemas.clear()
            encoded = (stored, _encode(payloads.schema_response(stored)))
            encoded_schemas[stored.schema_id] = encoded
        return Response(encoded[1], status=200, content_type=response_content_type())

    @bp.get("/schemas/ids/<schema_id>/schema")
    def schema_text_by_id(schema_id: str) -> Response:
        stored = service.get_schema(payloads.parse_schema_id(schema_id))
        return _raw(service.formatted(stored, request.args.get("format")).schema_text)

    @bp.get("/schemas/guids/<guid>")
    def schema_by_guid(guid: str) -> Response:
        stored = service.formatted(service.get_schema_by_guid(guid), request.args.get("format"))
        return _reply(payloads.schema_response(stored))

    @bp.get("/schemas/guids/<guid>/ids")
    def schema_ids_by_guid(guid: str) -> Response:
        """Confluent's ``ContextId`` list; ids are global here, so one id in the default context."""
        stored = service.get_schema_by_guid(guid)
        return _reply([{"context": ".", "id": stored.schema_id}])

    @bp.get("/schemas/ids/<schema_id>/versions")
    def schema_versions(schema_id: str) -> Response:
        pairs = service.schema_versions(
            payloads.parse_schema_id(schema_id),
            subject=request.args.get("subject") or None,
            include_deleted=_flag("deleted"),
            page=payloads.parse_page(request.args),
        )
        return _reply([{"subject": subject, "version": version} for subject, version in pairs])

    @bp.get("/schemas/ids/<schema_id>/subjects")
    def schema_subjects(schema_id: str) -> Response:
        subjects = service.schema_subjects(
            payloads.parse_schema_id(schema_id),
            subject=request.args.get("subject") or None,
            include_deleted=_flag("deleted"),
            page=payloads.parse_page(request.args),
        )
        return _reply(subjects)

    @bp.get("/schemas/types")
    def schema_types() -> Response:
        return _reply(service.schema_types())

    @bp.get("/schemas")
    def list_schemas() -> Response:
        found = service.list_schemas(
            subject_prefix=request.args.get("subjectPrefix", ""),
            include_deleted=_flag("deleted"),
            latest_only=_flag("latestOnly"),
            page=payloads.parse_page(request.args),
        )
        return _reply([payloads.version_response(item) for item in found])

    # -- subjects ----------------------------------------------------------------------

    @bp.get("/subjects")
    def list_subjects() -> Response:
        subjects = service.list_subjects(
            subject_prefix=request.args.get("subjectPrefix", ""),
            include_deleted=_flag("deleted"),
            deleted_only=_flag("deletedOnly", "deleted_only"),
            page=payloads.parse_page(request.args),
        )
        return _reply(subjects)

    @bp.post("/subjects/<subject:subject>/versions")
    def register(subject: str) -> Response:
        schema_request = payloads.parse_schema_request(_body(), allow_empty=True)
        registered = service.register(
            subject, schema_request, normalize=_flag("normalize"), actor=_actor()
        )
        return _reply(payloads.registered_response(registered))

    @bp.get("/subjects/<subject:subject>/versions")
    def list_versions(subject: str) -> Response:
        versions = service.list_versions(
            subject,
            include_deleted=_flag("deleted"),
            deleted_only=_flag("deletedOnly", "deleted_only"),
            page=payloads.parse_page(request.args),
        )
        return _reply(versions)

    @bp.get("/subjects/<subject:subject>/versions/<version>")
    def get_version(subject: str, version: str) -> Response:
        found = service.get_version(
            subject, payloads.parse_version(version), include_deleted=_flag("deleted")
        )
        return _reply(payloads.version_response(_formatted(found)))

    @bp.get("/subjects/<subject:subject>/versions/<version>/schema")
    def get_version_schema(subject: str, version: str) -> Response:
        found = service.get_version(
            subject, payloads.parse_version(version), include_deleted=_flag("deleted")
        )
        return _raw(_formatted(found).schema.schema_text)

    @bp.get("/subjects/<subject:subject>/versions/<version>/referencedby")
    def referenced_by(subject: str, version: str) -> Response:
        ids = service.referenced_by(
            subject,
            payloads.parse_version(version),
            include_deleted=_flag("deleted"),
            page=payloads.parse_page(request.args),
        )
        return _reply(ids)

    @bp.get("/subjects/<subject:subject>/metadata")
    def latest_with_metadata(subject: str) -> Response:
        found = service.latest_with_metadata(
            subject,
            payloads.parse_metadata_filter(request.args),
            include_deleted=_flag("deleted"),
        )
        return _reply(payloads.version_response(_formatted(found)))

    @bp.delete("/subjects/<subject:subject>/versions/<version>")
    def delete_version(subject: str, version: str) -> Response:
        deleted = service.delete_version(
            subject, payloads.parse_version(version), permanent=_flag("permanent"), actor=_actor()
        )
        return _reply(deleted)

    @bp.post("/subjects/<subject:subject>")
    def lookup(subject: str) -> Response:
        schema_request = payloads.parse_schema_request(_body())
        found = service.lookup(
            subject,
            schema_request,
            normalize=_flag("normalize"),
            include_deleted=_flag("deleted"),
        )
        return _reply(payloads.version_response(_formatted(found)))

    @bp.delete("/subjects/<subject:subject>")
    def delete_subject(subject: str) -> Response:
        return _reply(service.delete_subject(subject, permanent=_flag("permanent"), actor=_actor()))

    # -- compatibility -----------------------------------------------------------------

    @bp.post("/compatibility/subjects/<subject:subject>/versions")
    def compatibility_all(subject: str) -> Response:
        schema_request = payloads.parse_schema_request(_body())
        result = service.test_compatibility(
            subject, schema_request, version=None, normalize=_flag("normalize")
        )
        return _reply(payloads.compatibility_response(result, verbose=_flag("verbose")))

    @bp.post("/compatibility/subjects/<subject:subject>/versions/<version>")
    def compatibility_version(subject: str, version: str) -> Response:
        version_number = payloads.parse_version(version)
        schema_request = payloads.parse_schema_request(_body())
        result = service.test_compatibility(
            subject, schema_request, version=version_number, normalize=_flag("normalize")
        )
        return _reply(payloads.compatibility_response(result, verbose=_flag("verbose")))

    # -- config ------------------------------------------------------------------------

    @bp.get("/config")
    def get_global_config() -> Response:
        return _reply(payloads.config_response(service.get_config(None)))

    @bp.put("/config")
    def put_global_config() -> Response:
        update = payloads.parse_config_update(_body())
        service.set_config(None, update, actor=_actor())
        return _reply(payloads.config_update_response(update))

    @bp.delete("/config")
    def delete_global_config() -> Response:
        return _reply(payloads.config_response(service.delete_config(None, actor=_actor())))

    @bp.get("/config/<subject:subject>")
    def get_subject_config(subject: str) -> Response:
        view = service.get_config(subject, default_to_global=_flag("defaultToGlobal"))
        return _reply(payloads.config_response(view))

    @bp.put("/config/<subject:subject>")
    def put_subject_config(subject: str) -> Response:
        update = payloads.parse_config_update(_body())
        service.set_config(subject, update, actor=_actor())
        return _reply(payloads.config_update_response(update))

    @bp.delete("/config/<subject:subject>")
    def delete_subject_config(subject: str) -> Response:
        return _reply(payloads.config_response(service.delete_config(subject, actor=_actor())))

    # -- mode --------------------------------------------------------------------------

    @bp.get("/mode")
    def get_global_mode() -> Response:
        return _reply({"mode": service.get_mode(None).value})

    @bp.put("/mode")
    def put_global_mode() -> Response:
        mode = payloads.parse_mode_update(_body())
        return _reply(
            {"mode": service.set_mode(None, mode, force=_flag("force"), actor=_actor()).value}
        )

    @bp.delete("/mode")
    def delete_global_mode() -> Response:
        return _reply({"mode": service.delete_mode(None, actor=_actor()).value})

    @bp.get("/mode/<subject:subject>")
    def get_subject_mode(subject: str) -> Response:
        mode = service.get_mode(subject, default_to_global=_flag("defaultToGlobal"))
        return _reply({"mode": mode.value})

    @bp.put("/mode/<subject:subject>")
    def put_subject_mode(subject: str) -> Response:
        mode = payloads.parse_mode_update(_body())
        return _reply(
            {"mode": service.set_mode(subject, mode, force=_flag("force"), actor=_actor()).value}
        )

    @bp.delete("/mode/<subject:subject>")
    def delete_subject_mode(subject: str) -> Response:
        return _reply({"mode": service.delete_mode(subject, actor=_actor()).value})

    # -- contexts ----------------------------------------------------------------------

    @bp.get("/contexts")
    def contexts() -> Response:
        return _reply(payloads.parse_page(request.args).apply(service.contexts()))

    bp.record_once(_accept_trailing_slashes)  # last: after every route above is added
    return bp


def _accept_trailing_slashes(state: BlueprintSetupState) -> None:
    """Every registry route also answers with one trailing ``/`` (``GET /subjects/``), as
    Jersey's path templates do; the twin rule has the same endpoint, so the same checks."""
    url_map = state.app.url_map
    for rule in list(url_map.iter_rules()):
        if rule.endpoint.startswith(f"{state.blueprint.name}.") and not rule.rule.endswith("/"):
            methods = None if rule.methods is None else set(rule.methods) - {"HEAD", "OPTIONS"}
            url_map.add(Rule(f"{rule.rule}/", endpoint=rule.endpoint, methods=methods))
