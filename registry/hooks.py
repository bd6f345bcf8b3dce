"""The registry's hook protocol: checks that run before a change, with the actor who asked.

Governance implements ``RegistryHooks`` (one engine for every door); the
registry calls each hook once per request, before its write transaction opens,
so a hook never runs inside the write lock or more than once for a request
that had to wait. A hook answers a ``Decision``: ``ALLOW`` or
``Decision.deny(reason)`` (the same type the broker's hooks answer, see
``governance.broker_hooks``); a hook that raises or answers anything else
denies too (fail closed), never a 500. A denial is ``PolicyDenied`` (HTTP 422,
error code 42205) naming the hook and the reason.

A hook may also be told of a registration the registry itself refused
(``after_register_rejected``: incompatible 409, invalid schema 422, wrong mode
42205, ...), so the audit log has every rejected registration, not only those
a hook denied; what such a notification raises is logged and ignored.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from registry.errors import PolicyDenied, RegistryError
from registry.formats.base import ParsedSchema

__all__ = [
    "ALLOW",
    "ANONYMOUS",
    "PRINCIPAL_ENVIRON_KEY",
    "Actor",
    "Decision",
    "HookRunner",
    "LevelChange",
    "RegistryHooks",
]

log = logging.getLogger(__name__)

PRINCIPAL_ENVIRON_KEY = "charter.principal"
"""Where an HTTP authenticator leaves the request's principal in the WSGI environ."""


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """A hook's answer: allow, or deny with a reason the client gets in the error message."""

    allowed: bool
    reason: str = ""

    @classmethod
    def deny(cls, reason: str) -> Decision:
        return cls(False, reason)


ALLOW = Decision(True)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who asked for a change: a principal (``User:alice``) and where the request came from."""

    principal: str = "User:ANONYMOUS"
    address: str | None = None


ANONYMOUS = Actor()


@dataclasses.dataclass(frozen=True, slots=True)
class LevelChange:
    """The effective compatibility level of a config change's scope, before and after it.

    For a subject, what ``GET /config/{subject}?defaultToGlobal=true`` answers
    (its own level, else the global one); for the global scope, the global
    level (the registry's default ``BACKWARD`` when none is set). A subject
    whose config is deleted falls back to the global level; a global config
    deleted falls back to the default. Options-only updates keep the level.
    """

    before: str
    after: str


class RegistryHooks(Protocol):
    """Checks run before registry changes, each answering a ``Decision``.

    A hook object may implement any subset of these methods.
    """

    def before_register(
        self,
        actor: Actor,
        subject: str,
        parsed_schema: ParsedSchema,
        metadata: Mapping[str, Any] | None,
        rule_set: Mapping[str, Any] | None,
    ) -> Decision: ...

    def before_config_change(
        self,
        actor: Actor,
        subject: str | None,
        compatibility: str | None,
        options: Mapping[str, Any],
        levels: LevelChange,
    ) -> Decision:
        """``subject`` ``None`` is the global config; ``compatibility`` ``None`` with empty
        ``options`` is a delete of the config; ``levels`` is the scope's effective level
        before and after the change (every route that moves it is checked here)."""

    def before_mode_change(self, actor: Actor, subject: str | None, mode: str | None) -> Decision:
        """``mode`` ``None`` is a delete of the mode."""

    def before_delete(
        self, actor: Actor, subject: str, version: int | None, permanent: bool
    ) -> Decision:
        """``version`` ``None`` deletes the whole subject."""

    def after_register_rejected(
        self, actor: Actor, subject: str, error_code: int, message: str
    ) -> None:
        """The registry refused a registration (not a hook's denial): ``error_code`` is
        Confluent's (409 incompatible, 42201 invalid schema, ...)."""


class HookRunner:
    """Calls every hook that implements a check, in order; the first denial wins."""

    def __init__(self, hooks: Sequence[object] = ()) -> None:
        self.hooks: list[object] = list(hooks)

    def add(self, hook: object) -> None:
        self.hooks.append(hook)

    def check(self, check_name: str, *args: Any) -> None:
        """Run ``check_name`` on every hook that has it; raise ``PolicyDenied`` on a denial."""
        for hook in self.hooks:
            check: Callable[..., Decision] | None = getattr(hook, check_name, None)
            if check is None:
                continue
            hook_name = getattr(hook, "name", type(hook).__name__)
            try:
                decision = check(*args)
            except RegistryError:
                raise
            except Exception as exc:  # fail closed: a broken policy denies, never a 500
                log.exception("registry hook %s failed in %s; denying", hook_name, check_name)
                decision = Decision.deny(f"the check failed ({type(exc).__name__}: {exc})")
            if not isinstance(decision, Decision):
                decision = Decision.deny(f"the check answered {decision!r}, not a Decision")
            if not decision.allowed:
                raise PolicyDenied(f"Denied by {hook_name}: {decision.reason}")

    def notify(self, notification: str, *args: Any) -> None:
        """Call ``notification`` on every hook that has it; failures are logged, not raised."""
        for hook in self.hooks:
            notify: Callable[..., object] | None = getattr(hook, notification, None)
            if notify is None:
                continue
            try:
                notify(*args)
            except Exception:
                log.exception("registry hook %r failed in %s", hook, notification)
