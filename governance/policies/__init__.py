"""Policies: the built-ins and the third-party ones registered through an entry point.

A third-party package declares, in its ``pyproject.toml``::

    [project.entry-points."charter.policies"]
    my-policy = "my_package.policies:MyPolicy"

where ``MyPolicy`` subclasses ``governance.policies.Policy`` (a class or an
instance). ``load_policies()`` answers every policy by name; a built-in name
cannot be taken, and an entry point that fails to load is logged and skipped.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from governance.policies.base import (
    ConfigChangeContext,
    ConsumeContext,
    HookPoint,
    InvalidParams,
    Param,
    ParamType,
    Policy,
    RecordContext,
    RegistrationContext,
    TopicContext,
    Violation,
)
from governance.policies.builtins import BUILTIN_POLICIES

__all__ = [
    "BUILTIN_POLICIES",
    "ENTRY_POINT_GROUP",
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
    "load_policies",
]

ENTRY_POINT_GROUP = "charter.policies"
log = logging.getLogger(__name__)


def load_policies(*, include_entry_points: bool = True) -> dict[str, Policy]:
    """Every known policy by name: the built-ins, then the entry points' (in name order)."""
    policies = {policy.name: policy for policy in BUILTIN_POLICIES}
    if not include_entry_points:
        return policies
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            loaded = entry.load()
            policy = loaded() if isinstance(loaded, type) else loaded
            if not isinstance(policy, Policy) or not policy.name:
                raise TypeError(f"{entry.value} is not a named governance Policy")
        except Exception:
            log.exception("policy entry point %s could not be loaded; skipped", entry.name)
            continue
        if policy.name in policies:
            log.error(
                "policy entry point %s: the name %r is taken; skipped", entry.name, policy.name
            )
            continue
        policies[policy.name] = policy
    return policies
