"""The built-in policies; their names and params are part of Charter's API (docs/governance.md)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from governance.policies.base import (
    ConfigChangeContext,
    ConsumeContext,
    HookPoint,
    Param,
    ParamType,
    Policy,
    RecordContext,
    RegistrationContext,
    TopicContext,
    Violation,
)
from governance.policies.fields import iter_fields, top_level_field_names

__all__ = ["BUILTIN_POLICIES"]

_COMPATIBILITY_LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
# What each level guarantees; a level satisfies another when it guarantees all of it.
_GUARANTEES = {
    "NONE": frozenset(),
    "BACKWARD": frozenset({"backward"}),
    "BACKWARD_TRANSITIVE": frozenset({"backward", "backward-all"}),
    "FORWARD": frozenset({"forward"}),
    "FORWARD_TRANSITIVE": frozenset({"forward", "forward-all"}),
    "FULL": frozenset({"backward", "forward"}),
    "FULL_TRANSITIVE": frozenset({"backward", "forward", "backward-all", "forward-all"}),
}
_KAFKA_DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000
_INT32_MAX = 2**31 - 1
_INT64_MAX = 2**63 - 1


class SubjectNaming(Policy):
    name = "subject-naming"
    description = "Subject names must match a regular expression."
    params = (
        Param(
            "pattern",
            ParamType.REGEX,
            "Regular expression the whole subject name must match.",
            default=r"[a-z0-9][a-z0-9._-]*",
        ),
    )
    hooks = frozenset({HookPoint.REGISTER})

    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        if re.fullmatch(params["pattern"], context.subject):
            return None
        return Violation(
            f"subject {context.subject!r} does not match the pattern {params['pattern']!r}",
            context.subject,
        )


class FieldDocsRequired(Policy):
    name = "field-docs-required"
    description = (
        "Every field must be documented (Avro 'doc', JSON Schema 'description', Protobuf "
        "comment or (confluent.field_meta).doc)."
    )
    hooks = frozenset({HookPoint.REGISTER})

    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        for field in iter_fields(
            context.schema_type, context.schema, context.metadata, context.parsed
        ):
            if not (isinstance(field.doc, str) and field.doc.strip()):
                return Violation(f"field {field.full_name} has no documentation", field.full_name)
        return None


class OwnerRequired(Policy):
    name = "owner-required"
    description = "Schemas must name an owner in metadata.properties.owner."
    hooks = frozenset({HookPoint.REGISTER})

    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        properties = context.metadata.get("properties") or {}
        owner = properties.get("owner") if isinstance(properties, Mapping) else None
        if isinstance(owner, str) and owner.strip():
            return None
        return Violation(
            "the schema has no owner: set metadata.properties.owner", "metadata.properties.owner"
        )


class PiiFieldsTagged(Policy):
    name = "pii-fields-tagged"
    description = (
        "Fields with these names must carry the PII tag (Avro/JSON field attribute "
        "'confluent:tags', Protobuf (confluent.field_meta).tags, or metadata.tags)."
    )
    params = (
        Param(
            "names",
            ParamType.STRING_LIST,
            "Field names (case-insensitive) that hold personal data.",
            default=("ssn", "email", "phone", "date_of_birth"),
        ),
        Param("tag", ParamType.STRING, "The tag such fields must carry.", default="PII"),
    )
    hooks = frozenset({HookPoint.REGISTER})

    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        names = {name.lower() for name in params["names"]}
        for field in iter_fields(
            context.schema_type, context.schema, context.metadata, context.parsed
        ):
            if field.name.lower() in names and params["tag"] not in field.tags:
                return Violation(
                    f"field {field.full_name} holds personal data but is not tagged "
                    f"{params['tag']}",
                    field.full_name,
                )
        return None


class TopicNaming(Policy):
    name = "topic-naming"
    description = "Topic names must match a regular expression."
    params = (
        Param(
            "pattern",
            ParamType.REGEX,
            "Regular expression the whole topic name must match.",
            default=r"[a-z0-9][a-z0-9._-]*",
        ),
    )
    hooks = frozenset({HookPoint.TOPIC_CREATE})

    def check_topic(self, context: TopicContext, params: Mapping[str, Any]) -> Violation | None:
        if re.fullmatch(params["pattern"], context.topic):
            return None
        return Violation(
            f"topic {context.topic!r} does not match the pattern {params['pattern']!r}",
            context.topic,
        )


class MinCompatibility(Policy):
    name = "min-compatibility"
    description = (
        "No subject's compatibility level, nor the global one, may be set below this level, "
        "whether set directly or by deleting a config that held it up."
    )
    params = (
        Param(
            "level",
            ParamType.CHOICE,
            "The weakest compatibility level allowed.",
            default="BACKWARD",
            choices=_COMPATIBILITY_LEVELS,
        ),
    )
    hooks = frozenset({HookPoint.CONFIG_CHANGE})

    def check_config_change(
        self, context: ConfigChangeContext, params: Mapping[str, Any]
    ) -> Violation | None:
        floor = params["level"]
        if context.compatibility is not None:
            level = context.compatibility.upper()  # set explicitly: checked even if unchanged
        elif context.level_after != context.level_before:
            level = context.level_after.upper()  # a delete falls back to a weaker level
        else:
            return None  # options only (compatibilityGroup, normalize, ...): level unchanged
        if _GUARANTEES.get(level, frozenset()) >= _GUARANTEES[floor]:
            return None
        scope = (
            f"subject {context.subject!r}" if context.subject is not None else "the global config"
        )
        if context.compatibility is not None:
            what = f"compatibility {level} for {scope}"
        elif context.subject is not None:
            what = (
                f"deleting the config of {scope} would make it fall back to the global "
                f"compatibility {level}, which"
            )
        else:
            what = f"deleting the global config would reset it to the default {level}, which"
        return Violation(f"{what} is weaker than the minimum {floor}", "compatibility")


class MaxRecordBytes(Policy):
    name = "max-record-bytes"
    description = "Records (key plus value, as sent) may not be larger than this."
    params = (
        Param(
            "max_bytes",
            ParamType.INTEGER,
            "The largest record accepted, in bytes.",
            default=1_048_576,
            minimum=1,
            maximum=_INT32_MAX,  # Kafka's sizes are 32-bit
        ),
    )
    hooks = frozenset({HookPoint.PRODUCE})

    def check_record(self, context: RecordContext, params: Mapping[str, Any]) -> Violation | None:
        size = len(context.key or b"") + len(context.value or b"")
        if size <= params["max_bytes"]:
            return None
        return Violation(
            f"the record is {size} bytes, more than the maximum of {params['max_bytes']}",
            "value",
        )


class RetentionLimits(Policy):
    name = "retention-limits"
    description = (
        "Topics may not keep data longer than max_retention_ms (retention.ms; unset means "
        "the broker's default, log.retention.ms, 7 days unless configured; -1 means forever)."
    )
    params = (
        Param(
            "max_retention_ms",
            ParamType.INTEGER,
            "The longest retention.ms allowed.",
            default=_KAFKA_DEFAULT_RETENTION_MS,
            minimum=1,
            maximum=_INT64_MAX,  # retention.ms is a Java long
        ),
    )
    hooks = frozenset({HookPoint.TOPIC_CREATE, HookPoint.TOPIC_CONFIG})

    def check_topic(self, context: TopicContext, params: Mapping[str, Any]) -> Violation | None:
        text = context.effective("retention.ms")
        retention = _KAFKA_DEFAULT_RETENTION_MS if text is None else int(text)
        limit = params["max_retention_ms"]
        if 0 <= retention <= limit:
            return None
        shown = "forever (-1)" if retention < 0 else f"{retention} ms"
        if "retention.ms" not in context.configs:
            shown += " (retention.ms is not set: the broker's default log.retention.ms)"
        return Violation(
            f"topic {context.topic!r} would keep data {shown}, longer than the maximum of "
            f"{limit} ms",
            "retention.ms",
        )


class RequiredFields(Policy):
    name = "required-fields"
    description = (
        "Every value schema (a subject not ending in -key) must have these top-level fields."
    )
    params = (
        Param(
            "fields",
            ParamType.STRING_LIST,
            "Names of the fields every value schema must have.",
            default=("event_id", "event_time"),
        ),
    )
    hooks = frozenset({HookPoint.REGISTER})

    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        if context.is_key_subject:
            return None
        present = top_level_field_names(context.schema_type, context.schema, context.parsed)
        if present is None:
            return Violation(
                "the schema is not a record/object, so it cannot have the required fields "
                + ", ".join(params["fields"]),
                params["fields"][0],
            )
        missing = [name for name in params["fields"] if name not in present]
        if not missing:
            return None
        return Violation(f"required field(s) missing: {', '.join(missing)}", missing[0])


class ConsumeAccess(Policy):
    name = "consume-access"
    description = (
        "Only these principals may read restricted topics: those whose value or key schema "
        "has a field carrying the tag, and those matching the topic patterns."
    )
    params = (
        Param(
            "principals",
            ParamType.STRING_LIST,
            "Principals allowed to read restricted topics (User:name; a trailing * matches "
            "a prefix, User:* everyone authenticated).",
            default=(),
        ),
        Param(
            "tag",
            ParamType.STRING,
            "A topic whose latest value or key schema has a field with this tag is restricted.",
            default="PII",
        ),
        Param(
            "topics",
            ParamType.STRING_LIST,
            "Topic name patterns (* and ? wildcards) restricted whatever their schema.",
            default=(),
        ),
    )
    hooks = frozenset({HookPoint.CONSUME})

    def check_consume(self, context: ConsumeContext, params: Mapping[str, Any]) -> Violation | None:
        if _principal_listed(context.principal, params["principals"]):
            return None
        refused = f"{context.principal} may not read topic {context.topic!r}"
        for pattern in params["topics"]:
            if fnmatch.fnmatchcase(context.topic, pattern):
                return Violation(
                    f"{refused}: it matches the restricted pattern {pattern!r}", context.topic
                )
        tag = params["tag"]
        for field, tags in context.tagged_fields().items():
            if tag in tags:
                return Violation(f"{refused}: its schema field {field} is tagged {tag}", field)
        return None


def _principal_listed(principal: str, listed: Sequence[str]) -> bool:
    return any(
        principal == entry or (entry.endswith("*") and principal.startswith(entry[:-1]))
        for entry in listed
    )


BUILTIN_POLICIES: tuple[Policy, ...] = (
    SubjectNaming(),
    FieldDocsRequired(),
    OwnerRequired(),
    PiiFieldsTagged(),
    TopicNaming(),
    MinCompatibility(),
    MaxRecordBytes(),
    RetentionLimits(),
    RequiredFields(),
    ConsumeAccess(),
)
