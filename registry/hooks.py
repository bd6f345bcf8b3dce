"""The registry's hook protocol: checks that run before a change, with the actor who asked.

Governance implements ``RegistryHooks`` (one engine for every door); the
registry calls each hook once per request, before its write transaction opens,
so a hook never runs inside the write lock or more than once for a request
that had to wait. A hook allows by returning ``None`` and denies by returning a
reason (``str``); a hook that raises denies too (fail closed), with the error
named in the reason, never a 500. A denial is ``PolicyDenied`` (HTTP 422,
error code 42205) naming the hook and the reason.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from registry.errors import PolicyDenied, RegistryError
from registry.formats.base import ParsedSchema

__all__ = ["ANONYMOUS", "PRINCIPAL_ENVIRON_KEY", "Actor", "HookRunner", "RegistryHooks"]

log = logging.getLogger(__name__)

PRINCIPAL_ENVIRON_KEY = "charter.principal"
"""Where an HTTP authenticator leaves the request's principal in the WSGI environ."""


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who asked for a change: a principal (``User:alice``) and where the request came from."""

    principal: str = "User:ANONYMOUS"
    address: str | None = None


ANONYMOUS = Actor()


class RegistryHooks(Protocol):
    """Checks run before registry changes. Return ``None`` to allow, a reason to deny.

    A hook object may implement any subset of these methods.
    """

    def before_register(
        self,
        actor: Actor,
        subject: str,
        parsed_schema: ParsedSchema,
        metadata: Mapping[str, Any] | None,
        rule_set: Mapping[str, Any] | None,
    ) -> str | None: ...

    def before_config_change(
        self,
        actor: Actor,
        subject: str | None,
        compatibility: str | None,
        options: Mapping[str, Any],
    ) -> str | None:
        """``subject`` ``None`` is the global config; ``compatibility`` ``None`` with empty
        ``options`` is a delete of the config."""

    def before_mode_change(self, actor: Actor, subject: str | None, mode: str | None) -> str | None:
        """``mode`` ``None`` is a delete of the mode."""

    def before_delete(
        self, actor: Actor, subject: str, version: int | None, permanent: bool
    ) -> str | None:
        """``version`` ``None`` deletes the whole subject."""


class HookRunner:
    """Calls every hook that implements a check, in order; the first denial wins."""

    def __init__(self, hooks: Sequence[object] = ()) -> None:
        self.hooks: list[object] = list(hooks)

    def add(self, hook: object) -> None:
        self.hooks.append(hook)

    def check(self, check_name: str, *args: Any) -> None:
        """Run ``check_name`` on every hook that has it; raise ``PolicyDenied`` on a denial."""
        for hook in self.hooks:
            check: Callable[..., str | None] | None = getattr(hook, check_name, None)
            if check is None:
                continue
            hook_name = getattr(hook, "name", type(hook).__name__)
            try:
                reason = check(*args)
            except RegistryError:
                raise
            except Exception as exc:  # fail closed: a broken policy denies, never a 500
                log.exception("registry hook %s failed in %s; denying", hook_name, check_name)
                reason = f"the check failed ({type(exc).__name__}: {exc})"
            if reason is not None:
                raise PolicyDenied(f"Denied by {hook_name}: {reason}")
