"""The registry's decisions: registering, looking up, deleting, compatibility, config and mode.

Behaviour follows Confluent Schema Registry: schema ids are global and shared
by every subject registering the same schema (text, references, metadata and
rule set); versions count up per subject and are never reused; soft-deleted
versions leave compatibility checks and ``latest``; permanent deletes require a
soft delete first. No Flask here: ``registry.api`` parses requests and formats
responses around these functions. Every database error leaves as a
``StoreError`` (50001) or ``StoreTimeout`` (50002).

One module per concern: ``registering`` (register, lookup, compatibility
tests), ``reading``, ``deleting``, ``settings`` (config and mode),
``schemas`` (parsing requests and resolving references), ``types`` (what the
API passes in and gets back). ``RegistryService`` is all of them over one store.
"""

from __future__ import annotations

from registry.service.base import qualified_subject
from registry.service.deleting import Deleting
from registry.service.reading import Reading
from registry.service.registering import Registering
from registry.service.settings import Settings
from registry.service.types import (
    LATEST,
    CompatibilityResult,
    ConfigUpdate,
    ConfigView,
    Mode,
    Page,
    RegisteredVersion,
    SchemaRequest,
)

__all__ = [
    "LATEST",
    "CompatibilityResult",
    "ConfigUpdate",
    "ConfigView",
    "Mode",
    "Page",
    "RegisteredVersion",
    "RegistryService",
    "SchemaRequest",
    "qualified_subject",
]


class RegistryService(Registering, Reading, Deleting, Settings):
    """Registry operations over one database; safe to share between threads of one process."""
