"""What a policy is: a name, a description, typed params and the hook points it checks.

A policy is a small class (stateless: its params come in with each call) that
subclasses ``Policy``, declares ``name``, ``description``, ``params`` (``Param``
each with a type, a default and a description) and ``hooks`` (the hook points
it checks), and implements the ``check_*`` method of each. A check returns
``None`` when the change is fine, or a ``Violation`` naming what is wrong (the
offending field, topic, config). The engine (``governance.engine``) calls it
with parsed params, turns a violation into a denial naming the policy, and a
raised exception into a denial too (fail closed).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "ConfigChangeContext",
    "ConsumeContext",
    "HookPoint",
    "InvalidParams",
    "Param",
    "ParamType",
    "Policy",
    "RecordContext",
    "RegistrationContext",
    "TopicContext",
    "Violation",
]


class HookPoint(enum.StrEnum):
    """Where a policy is asked."""

    REGISTER = "register"  # a schema is about to be registered under a subject
    CONFIG_CHANGE = "config_change"  # a subject's or the global compatibility config changes
    TOPIC_CREATE = "topic_create"  # CreateTopics (also validate-only and auto-creation)
    TOPIC_CONFIG = "topic_config"  # AlterConfigs / IncrementalAlterConfigs of a topic
    PRODUCE = "produce"  # each record produced (in the gate)
    CONSUME = "consume"  # a topic is about to be read (Fetch)


class ParamType(enum.StrEnum):
    STRING = "string"
    REGEX = "regex"
    INTEGER = "integer"
    STRING_LIST = "string-list"
    CHOICE = "choice"


class InvalidParams(ValueError):
    """A policy's params are not valid; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One typed param of a policy."""

    name: str
    type: ParamType
    description: str
    default: Any = None
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def parse(self, value: Any) -> Any:
        """The validated value; ``InvalidParams`` naming the param otherwise."""
        where = f"param {self.name!r}"
        if self.type is ParamType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidParams(f"{where} must be an integer, got {json.dumps(value)}")
            if self.minimum is not None and value < self.minimum:
                raise InvalidParams(f"{where} must be at least {self.minimum}, got {value}")
            if self.maximum is not None and value > self.maximum:
                raise InvalidParams(f"{where} must be at most {self.maximum}, got {value}")
            return value
        if self.type is ParamType.STRING_LIST:
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(v, str) and v for v in value
            ):
                raise InvalidParams(f"{where} must be a list of non-empty strings")
            return tuple(value)
        if not isinstance(value, str) or not value:
            raise InvalidParams(f"{where} must be a non-empty string, got {json.dumps(value)}")
        if self.type is ParamType.REGEX:
            try:
                re.compile(value)
            except re.error as error:
                raise InvalidParams(f"{where} is not a valid regular expression: {error}") from None
        if self.type is ParamType.CHOICE:
            upper = value.upper()
            if upper not in self.choices:
                raise InvalidParams(
                    f"{where} must be one of {', '.join(self.choices)}, got {value!r}"
                )
            return upper
        return value

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "description": self.description,
            "required": self.required,
        }
        if self.default is not None:
            described["default"] = (
                list(self.default) if isinstance(self.default, tuple) else self.default
            )
        if self.choices:
            described["choices"] = list(self.choices)
        if self.minimum is not None:
            described["minimum"] = self.minimum
        if self.maximum is not None:
            described["maximum"] = self.maximum
        return described


@dataclasses.dataclass(frozen=True, slots=True)
class Violation:
    """What breaks a policy: ``subject`` names the offending field, topic or config."""

    message: str
    subject: str | None = None


@dataclasses.dataclass(frozen=True)
class RegistrationContext:
    """A schema about to be registered; ``schema`` is its JSON form (dict/list), or its
    text for Protobuf; ``parsed`` the registry's parsed schema when the caller has it."""

    principal: str
    subject: str
    schema_type: str
    schema: Any
    metadata: Mapping[str, Any]
    rule_set: Mapping[str, Any]
    parsed: Any = None

    @property
    def is_key_subject(self) -> bool:
        return self.subject.endswith("-key")


@dataclasses.dataclass(frozen=True)
class ConfigChangeContext:
    """A compatibility config about to change: ``subject`` ``None`` is the global config.

    ``compatibility`` is the level the request sets (``None``: it sets only other
    options, or deletes the config: ``deleting``); ``level_before`` and
    ``level_after`` are the scope's effective level around the change (a subject
    without its own level has the global one; a deleted global config falls back
    to the registry's default), so a policy sees every route that moves it.
    """

    principal: str
    subject: str | None
    compatibility: str | None
    options: Mapping[str, Any]
    level_before: str
    level_after: str

    @property
    def deleting(self) -> bool:
        return self.compatibility is None and not self.options


@dataclasses.dataclass(frozen=True)
class TopicContext:
    """A topic about to be created or reconfigured, with its config overrides (the whole
    new set) and the broker's defaults for the configs it does not set."""

    principal: str
    topic: str
    configs: Mapping[str, str]
    creating: bool
    defaults: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def effective(self, name: str) -> str | None:
        """The value config ``name`` will have: the override, else the broker's default
        (``None`` when neither is known)."""
        value = self.configs.get(name)
        return value if value is not None else self.defaults.get(name)


@dataclasses.dataclass(frozen=True)
class RecordContext:
    """One record produced to ``topic`` (key and value as sent, Confluent framing included)."""

    principal: str
    topic: str
    client_id: str | None
    key: bytes | None
    value: bytes | None


class ConsumeContext:
    """A topic about to be read (Fetch) by ``principal``.

    ``tagged_fields()`` answers the fields of the topic's registered schemas (the
    latest versions of ``<topic>-value`` and ``<topic>-key``) with their tags,
    looked up only when a policy asks and cached by schema id.
    """

    __slots__ = ("_fields", "_lookup", "client_id", "principal", "topic")

    def __init__(
        self,
        principal: str,
        topic: str,
        client_id: str | None = None,
        fields: Callable[[str], Mapping[str, tuple[str, ...]]] | None = None,
    ) -> None:
        self.principal = principal
        self.topic = topic
        self.client_id = client_id
        self._lookup = fields
        self._fields: Mapping[str, tuple[str, ...]] | None = None

    def tagged_fields(self) -> Mapping[str, tuple[str, ...]]:
        """Field full name -> tags, for the topic's schemas (empty when it has none)."""
        if self._fields is None:
            self._fields = self._lookup(self.topic) if self._lookup is not None else {}
        return self._fields


class Policy:
    """Base class of a policy; subclasses set the class attributes and their ``check_*``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    hooks: ClassVar[frozenset[HookPoint]] = frozenset()

    def parse_params(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in, types checked, unknown names refused (``InvalidParams``)."""
        raw = dict(raw or {})
        known = {param.name: param for param in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            names = ", ".join(known) or "none"
            raise InvalidParams(f"unknown param(s) {', '.join(unknown)}; known params: {names}")
        parsed: dict[str, Any] = {}
        for param in self.params:
            if param.name in raw and raw[param.name] is not None:
                parsed[param.name] = param.parse(raw[param.name])
            elif param.required and param.default is None:
                raise InvalidParams(f"param {param.name!r} is required")
            else:
                parsed[param.name] = param.default
        return parsed

    def default_params(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    # The checks; a policy implements those of its ``hooks``.
    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        return None

    def check_config_change(
        self, context: ConfigChangeContext, params: Mapping[str, Any]
    ) -> Violation | None:
        return None

    def check_topic(self, context: TopicContext, params: Mapping[str, Any]) -> Violation | None:
        return None

    def check_record(self, context: RecordContext, params: Mapping[str, Any]) -> Violation | None:
        return None

    def check_consume(self, context: ConsumeContext, params: Mapping[str, Any]) -> Violation | None:
        return None


def names_of(values: Sequence[str]) -> str:
    return ", ".join(values)
