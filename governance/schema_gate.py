"""The produce gate: each record against its registered schema, its data contract and the policies.

Per record part (value, and key when ``charter.key.schema.validation`` says so):

- ``id``: Confluent framing (magic byte 0, 4-byte big-endian schema id), a schema
  id the registry knows, registered (live) under the record's subject
  (``<topic>-value``, the record's full name, or ``<topic>-<record name>``);
- ``full``: also the payload decodes with that schema (the format's
  ``payload_validator``; for Protobuf the message-index array, then the
  message it names) and passes the WRITE-mode CONDITION rules of its
  ``ruleSet.domainRules`` (``governance.rules``; a Protobuf message is bound
  as a dict, ``registry.formats.protobuf_values``' rule view);
- and, on every inspected topic, the ``produce`` policies of the engine
  (``max-record-bytes``).

A null value or key (a tombstone) is not checked. A record that fails is
refused, and so is its whole batch (``Reject``: per-record errors naming the
record, the subject/version and the rule or decode error), unless every
failure of the batch is a rule with ``onFailure: DLQ``: then those records are
routed to the rule's ``dlq.topic`` (``Route``) and the rest appended. A rule
with ``onFailure: NONE`` is only logged. Accepted records feed lineage
(``governance.lineage``); refused batches are audited (aggregated).

Schemas come from a ``SchemaLookup`` (the broker's ``SchemaState``, kept current
by the registry outbox: a schema registered a moment ago is enforced, a
deleted one refused). What is compiled per schema id (the validator, the rule
set, the record name) is cached here: ids are immutable.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any, Protocol

from governance import native_gate
from governance.audit import AuditSink
from governance.avro_fastpath import RuleCheckedValidator, gate_validator
from governance.cel import CelError
from governance.engine import PolicyEngine
from governance.gate import (
    ACCEPT,
    DeadLetter,
    GateContext,
    GateRecord,
    RecordError,
    Reject,
    Route,
    SubjectNameStrategy,
    Validation,
    Verdict,
)
from governance.lineage import LineageKey, LineageRecorder
from governance.policies import HookPoint, RecordContext
from governance.rules import EMPTY, FailureAction, RuleSet, compile_rule_set
from registry.formats.base import ParsedSchema, PayloadInvalid, PayloadValidator
from registry.formats.protobuf_fields import first_message
from registry.formats.protobuf_values import rule_view
from registry.formats.protobuf_wire import read_message_indexes
from registry.store import StoredSchema

__all__ = ["CompiledSchema", "SchemaGate", "SchemaLookup"]

log = logging.getLogger(__name__)

_MAGIC = 0
_HEADER = 5
_COMPILED_CACHE_SIZE = 10_000


class SchemaLookup(Protocol):
    """What the gate needs of the registry (the broker's ``SchemaState``)."""

    def schema(self, schema_id: int) -> StoredSchema | None:
        """The schema with this id, if some subject version still uses it."""

    def parsed(self, schema_id: int) -> ParsedSchema:
        """The schema with this id, parsed (references resolved)."""

    def subject_version(self, subject: str, schema_id: int) -> int | None:
        """The live version of ``subject`` whose schema is ``schema_id``, if any."""


@dataclasses.dataclass(frozen=True)
class CompiledSchema:
    """What the gate keeps per schema id."""

    schema_id: int
    schema_type: str
    record_name: str | None
    validator: PayloadValidator
    rules: RuleSet
    rules_error: str | None  # a rule that does not compile: records of this schema are refused
    rule_value: Callable[[Any], Any] | None = None  # decoded value -> what rules see (Protobuf)
    native: Any = None  # governance.native_gate's plan, when the native walk stands for it


@dataclasses.dataclass(frozen=True, slots=True)
class _Failure:
    reason: str  # without the record index
    action: FailureAction = FailureAction.ERROR
    dlq_topic: str | None = None
    details: tuple[tuple[str, str], ...] = ()

    def loops_back(self, topic: str) -> bool:
        """A DLQ failure whose dead-letter topic is the record's own topic."""
        return self.action is FailureAction.DLQ and self.dlq_topic == topic

    def refused(self, reason: str) -> _Failure:
        return _Failure(reason, FailureAction.ERROR, None, self.details)


@dataclasses.dataclass(frozen=True, slots=True)
class _FrameCheck:
    """How the values of one 5-byte frame are checked in one pass."""

    validator: PayloadValidator
    rules: RuleSet | None
    rule_value: Callable[[Any], Any] | None
    schema_id: int

    def all_pass(self, frames: Sequence[bytes]) -> bool:
        """Whether every value decodes and passes every rule (no reason kept: a False is
        checked again by the general path). Validators that read whole frames
        (``validate_frames``, ``decode_framed``: Protobuf) save a copy per record."""
        validator = self.validator
        rules = self.rules
        try:
            if rules is None:
                validate_frames = getattr(validator, "validate_frames", None)
                if validate_frames is not None:
                    validate_frames(frames)
                else:
                    for frame in frames:
                        validator(frame[_HEADER:])
                return True
            if isinstance(validator, RuleCheckedValidator):  # decode and rules in one call
                return all(validator.passes(frame[_HEADER:]) for frame in frames)
            rule_value = self.rule_value
            decode_framed = getattr(validator, "decode_framed", None)
            for frame in frames:
                if decode_framed is not None:
                    message = decode_framed(frame)
                else:
                    message = validator(frame[_HEADER:])
                if rules.evaluate(message if rule_value is None else rule_value(message)):
                    return False
        except Exception:
            return False
        return True


@dataclasses.dataclass(frozen=True, slots=True)
class _Resolved:
    """A record part's schema, checked against its subject: or the failure."""

    schema_id: int
    subject: str
    version: int
    compiled: CompiledSchema


class SchemaGate:
    """``governance.gate.Gate``: schema id, payload, data-contract rules, produce policies."""

    def __init__(
        self,
        schemas: SchemaLookup,
        engine: PolicyEngine | None = None,
        *,
        lineage: LineageRecorder | None = None,
        audit: AuditSink | None = None,
    ) -> None:
        self.schemas = schemas
        self.engine = engine
        self.lineage = lineage
        self.audit = audit
        self._compiled: dict[int, CompiledSchema] = {}
        self._lock = threading.Lock()
        native_gate.announce()

    def inspects(self, context: GateContext) -> bool:
        if context.config.governed:
            return True
        return self.engine is not None and self.engine.active(HookPoint.PRODUCE)

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        config = context.config
        policies = self.engine is not None and self.engine.active(HookPoint.PRODUCE)
        if (
            config.value_validation is Validation.FULL
            and config.key_validation is Validation.NONE
            and not policies
        ):
            passed = self._all_values_pass(context, records)
            if passed is not None:
                self._observe(context, passed)
                return ACCEPT
        memo: dict[tuple[str, int], _Resolved | _Failure] = {}
        errors: list[RecordError] = []
        reasons: list[str] = []
        letters: list[DeadLetter] = []
        accepted: dict[int | None, int] = {}
        for record in records:
            failure, schema_id = self._check_value(context, record, memo)
            if failure is None and config.key_validation is not Validation.NONE:
                failure, _ = self._check_part(
                    context, "key", record.key, config.key_validation, memo
                )
            if failure is None and policies:
                failure = self._check_policies(context, record)
            if failure is not None and failure.loops_back(context.topic):
                failure = failure.refused(
                    f"{failure.reason} (its dlq.topic is this topic: the record is refused)"
                )
            if failure is None:
                accepted[schema_id] = accepted.get(schema_id, 0) + 1
            elif failure.action is FailureAction.DLQ:
                assert failure.dlq_topic is not None
                letters.append(
                    DeadLetter.because(
                        record.index, failure.dlq_topic, failure.reason, **dict(failure.details)
                    )
                )
            elif failure.action is FailureAction.NONE:
                log.info(
                    "record %d to %s: %s (onFailure NONE)",
                    record.index,
                    context.topic,
                    failure.reason,
                )
                accepted[schema_id] = accepted.get(schema_id, 0) + 1
            else:
                errors.append(RecordError(record.index, f"record {record.index}: {failure.reason}"))
                reasons.append(failure.reason)
        if errors:
            self._audit_rejection(context, reasons[0])
            message = f"{len(errors)} of {len(records)} record(s) refused by the gate; " + (
                errors[0].message
            )
            return Reject(tuple(errors), message)
        self._observe(context, accepted)
        return Route(tuple(letters)) if letters else ACCEPT

    def check_encoded(self, context: GateContext, section: bytes, count: int) -> Verdict | None:
        """``ACCEPT`` when the native walk vouches for every record of a batch's records
        ``section`` (``governance.gate.EncodedChecker``); None: decode and ``check`` it.

        For values validated ``id`` or ``full`` (keys in any mode) when no produce
        policy is enabled, and for ``full`` only with Avro schemas whose plan
        stands for the Python fast path. Each distinct schema id is resolved
        against its subject per batch, as ``check`` does, so a schema deleted
        or registered a moment ago counts at once.
        """
        config = context.config
        if (
            not native_gate.AVAILABLE
            or config.value_validation is Validation.NONE
            or (self.engine is not None and self.engine.active(HookPoint.PRODUCE))
        ):
            return None
        resolve_value = functools.partial(self._plan, context, "value", config.value_validation)
        resolve_key = None
        if config.key_validation is not Validation.NONE:
            resolve_key = functools.partial(self._plan, context, "key", config.key_validation)
        counts = native_gate.check(section, count, resolve_value, resolve_key)
        if counts is None:
            return None
        self._observe(context, counts)
        return ACCEPT

    def _plan(self, context: GateContext, part: str, validation: Validation, schema_id: int) -> Any:
        """The native plan for a ``part`` framed with ``schema_id`` on this topic, or None."""
        resolved = self._resolve(context, part, schema_id)
        if isinstance(resolved, _Failure):
            return None
        compiled = resolved.compiled
        if (
            compiled.schema_type.upper() == "PROTOBUF"
            and _strategy(context, part) is not SubjectNameStrategy.TOPIC
        ):
            return None  # the subject depends on each record's message
        if validation is Validation.ID:
            return native_gate.ID_ONLY_PLAN
        if compiled.rules_error is not None:
            return None
        return compiled.native

    def _all_values_pass(
        self, context: GateContext, records: Sequence[GateRecord]
    ) -> dict[int | None, int] | None:
        """The records per schema id when every value passes ``full`` checks; else None.

        The common batch — every value framed, most often all with one schema —
        is decoded per distinct 5-byte frame in one pass (``_FrameCheck``). Any
        doubt (a tombstone, a refusal, a failing rule of any ``onFailure``)
        answers None and the batch takes the general path, which says why.
        """
        values = [record.value for record in records]
        try:
            frame = values[0][:_HEADER]  # type: ignore[index]
            one_frame = all(map(bytes.startswith, values, repeat(frame)))  # type: ignore[arg-type]
        except (TypeError, IndexError):  # a tombstone, or no records
            return None
        groups: dict[bytes, list[bytes]]
        if one_frame:
            groups = {frame: values}  # type: ignore[dict-item]
        else:
            groups = {}
            for value in values:
                if value is None:  # a tombstone after values of two frames
                    return None
                groups.setdefault(value[:_HEADER], []).append(value)
        counts: dict[int | None, int] = {}
        for group_frame, group in groups.items():
            check = self._frame_check(context, group_frame)
            if check is None or not check.all_pass(group):
                return None
            counts[check.schema_id] = counts.get(check.schema_id, 0) + len(group)
        return counts

    def _frame_check(self, context: GateContext, frame: bytes) -> _FrameCheck | None:
        if len(frame) < _HEADER or frame[0] != _MAGIC:
            return None
        resolved = self._resolve(context, "value", int.from_bytes(frame[1:_HEADER], "big"))
        if isinstance(resolved, _Failure) or resolved.compiled.rules_error is not None:
            return None
        compiled = resolved.compiled
        if (
            compiled.schema_type.upper() == "PROTOBUF"
            and context.config.value_subject_strategy is not SubjectNameStrategy.TOPIC
        ):
            return None  # the subject depends on each record's message: the general path
        return _FrameCheck(
            compiled.validator,
            None if compiled.rules is EMPTY else compiled.rules,
            compiled.rule_value,
            resolved.schema_id,
        )

    # -- one record ----------------------------------------------------------------------------

    def _check_value(
        self, context: GateContext, record: GateRecord, memo: dict[Any, Any]
    ) -> tuple[_Failure | None, int | None]:
        validation = context.config.value_validation
        if validation is Validation.NONE:
            return None, _schema_id_of(record.value)
        return self._check_part(context, "value", record.value, validation, memo)

    def _check_part(
        self,
        context: GateContext,
        part: str,
        data: bytes | None,
        validation: Validation,
        memo: dict[Any, Any],
    ) -> tuple[_Failure | None, int | None]:
        if data is None:
            return None, None  # a tombstone
        if len(data) < _HEADER or data[0] != _MAGIC:
            return (
                _Failure(f"the {part} has no schema framing (magic byte 0 and a 4-byte schema id)"),
                None,
            )
        schema_id = int.from_bytes(data[1:_HEADER], "big")
        record_name = None
        if _strategy(context, part) is not SubjectNameStrategy.TOPIC:
            record_name = self._message_name(schema_id, data)
        key = (part, schema_id, record_name)
        resolved = memo.get(key)
        if resolved is None:
            resolved = memo[key] = self._resolve(context, part, schema_id, record_name)
        if isinstance(resolved, _Failure):
            return resolved, schema_id
        if validation is Validation.ID:
            return None, schema_id
        validator = resolved.compiled.validator
        if isinstance(validator, RuleCheckedValidator) and validator.passes(data[_HEADER:]):
            return None, schema_id  # decoded and every rule holds: no failure to explain
        return self._check_payload(resolved, part, data), schema_id

    def _resolve(
        self, context: GateContext, part: str, schema_id: int, record_name: str | None = None
    ) -> _Resolved | _Failure:
        """The subject version of ``schema_id``; ``record_name`` overrides the schema's own
        for the record-name strategies (the Protobuf message a record names)."""
        if self.schemas.schema(schema_id) is None:
            return _Failure(f"the {part}'s schema id {schema_id} is not registered")
        try:
            compiled = self.compiled(schema_id)
        except Exception as error:  # a schema that does not parse any more (a reference gone)
            return _Failure(f"the {part}'s schema id {schema_id} cannot be used: {error}")
        subject = _subject(context, part, record_name or compiled.record_name)
        if subject is None:
            return _Failure(
                f"the {part}'s schema id {schema_id} has no record name for the "
                f"{_strategy(context, part).value} subject name strategy"
            )
        version = self.schemas.subject_version(subject, schema_id)
        if version is None:
            return _Failure(
                f"the {part}'s schema id {schema_id} is not registered under subject {subject}"
            )
        return _Resolved(schema_id, subject, version, compiled)

    def _message_name(self, schema_id: int, data: bytes) -> str | None:
        """The full name of the Protobuf message a record's index array names, as Confluent's
        serializers name the subject after it; None for other formats or a bad array (the
        payload check then says what is wrong)."""
        try:
            compiled = self.compiled(schema_id)
        except Exception:
            return None
        if compiled.schema_type.upper() != "PROTOBUF":
            return None
        try:
            indexes, _ = read_message_indexes(data, _HEADER)
            return str(compiled.validator.message_class(indexes).DESCRIPTOR.full_name)  # type: ignore[attr-defined]
        except (ValueError, AttributeError):
            return None

    def _check_payload(self, resolved: _Resolved, part: str, data: bytes) -> _Failure | None:
        compiled = resolved.compiled
        where = f"subject {resolved.subject} version {resolved.version}"
        try:
            message = compiled.validator(data[_HEADER:])
        except PayloadInvalid as error:
            return _Failure(f"{where}: the {part} does not decode: {error.message}")
        except Exception as error:  # a validator bug is a refusal, not a crash
            return _Failure(f"{where}: the {part} does not decode: {type(error).__name__}: {error}")
        if compiled.rules_error is not None:
            return _Failure(f"{where}: {compiled.rules_error}")
        if compiled.rules is EMPTY:
            return None
        if compiled.rule_value is not None:
            try:
                message = compiled.rule_value(message)
            except Exception as error:  # a converter bug is a refusal, not a crash
                return _Failure(f"{where}: the {part} cannot be read by the rules: {error}")
        failures = compiled.rules.evaluate(message)
        if not failures:
            return None
        hard = [f for f in failures if f.rule.on_failure is FailureAction.ERROR]
        chosen = hard[0] if hard else failures[0]
        for candidate in failures:
            if not hard and candidate.rule.on_failure is FailureAction.DLQ:
                chosen = candidate
                break
        rule = chosen.rule
        return _Failure(
            f"{where}: rule {rule.name!r} failed: {chosen.reason}",
            rule.on_failure,
            rule.dlq_topic,
            (
                ("rule", rule.name),
                ("subject", resolved.subject),
                ("version", str(resolved.version)),
            ),
        )

    def _check_policies(self, context: GateContext, record: GateRecord) -> _Failure | None:
        assert self.engine is not None
        decision = self.engine.check_record(
            RecordContext(
                context.principal, context.topic, context.client_id, record.key, record.value
            )
        )
        return None if decision.allowed else _Failure(decision.reason)

    # -- caches, lineage, audit ----------------------------------------------------------------

    def compiled(self, schema_id: int) -> CompiledSchema:
        """The compiled form of schema ``schema_id`` (built once; ids are immutable)."""
        compiled = self._compiled.get(schema_id)
        if compiled is not None:
            return compiled
        stored = self.schemas.schema(schema_id)
        if stored is None:
            raise LookupError(f"schema id {schema_id} is not registered")
        parsed = self.schemas.parsed(schema_id)
        protobuf = stored.schema_type.upper() == "PROTOBUF"
        schema_form: Any = parsed if protobuf else _json_or_none(stored.schema_text)
        try:
            rules = compile_rule_set(
                stored.schema_type, schema_form, stored.rule_set, stored.metadata
            )
            rules_error = None
        except CelError as error:
            rules, rules_error = EMPTY, f"a data-contract rule does not compile: {error}"
        compiled = CompiledSchema(
            schema_id,
            stored.schema_type,
            first_message(parsed) if protobuf else _record_name(stored.schema_type, schema_form),
            parsed.payload_validator,
            rules,
            rules_error,
            _protobuf_rule_value if protobuf else None,
        )

        if rules_error is None:  # Avro: decode only what the rules read (governance.avro_fastpath)
            validator = gate_validator(parsed, rules, compiled.validator)
            native = native_gate.plan_for(parsed, rules, validator)
            compiled = dataclasses.replace(compiled, validator=validator, native=native)
        with self._lock:
            if len(self._compiled) >= _COMPILED_CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[schema_id] = compiled
        return compiled

    def observe_unread(self, context: GateContext, value_prefix: bytes | None, count: int) -> None:
        """Lineage for a batch let through unread (``governance.gate.UnreadObserver``): its
        count under the schema id its first value is framed with (None when unframed)."""
        if self.lineage is not None and count > 0:
            key = LineageKey(
                context.topic, context.client_id, context.principal, _schema_id_of(value_prefix)
            )
            self.lineage.observe(key, count)

    def _observe(self, context: GateContext, accepted: dict[int | None, int]) -> None:
        if self.lineage is None:
            return
        for schema_id, count in accepted.items():
            key = LineageKey(context.topic, context.client_id, context.principal, schema_id)
            self.lineage.observe(key, count)

    def _audit_rejection(self, context: GateContext, reason: str) -> None:
        if self.audit is not None:
            self.audit.record(
                context.principal, "produce", f"topic:{context.topic}", "rejected", reason
            )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _protobuf_rule_value(message: Any) -> Any:
    """A decoded Protobuf message as CEL rules see it (Confluent's binding: enums as numbers),
    converted field by field as the rules read it."""
    return rule_view(message)


def _schema_id_of(data: bytes | None) -> int | None:
    if data is None or len(data) < _HEADER or data[0] != _MAGIC:
        return None
    return int.from_bytes(data[1:_HEADER], "big")


def _strategy(context: GateContext, part: str) -> SubjectNameStrategy:
    config = context.config
    return config.value_subject_strategy if part == "value" else config.key_subject_strategy


def _subject(context: GateContext, part: str, record_name: str | None) -> str | None:
    strategy = _strategy(context, part)
    if strategy is SubjectNameStrategy.TOPIC:
        return f"{context.topic}-{part}"
    if record_name is None:
        return None
    if strategy is SubjectNameStrategy.RECORD:
        return record_name
    return f"{context.topic}-{record_name}"


def _record_name(schema_type: str, schema_json: Any) -> str | None:
    """The record's full name (Avro), the title (JSON Schema), as Confluent's strategies use."""
    if not isinstance(schema_json, dict):
        return None
    if schema_type.upper() == "JSON":
        title = schema_json.get("title")
        return str(title) if title else None
    if schema_json.get("type") not in ("record", "enum", "fixed"):
        return None
    name = str(schema_json.get("name", ""))
    namespace = schema_json.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"
