"""Where a JSON Schema validation error is, as a JSON pointer into the payload.

jsonschema reports a missing required property (``required``,
``dependentRequired``, draft-07's array ``dependencies``) at the object that
lacks it; a user wants the missing field named (``#/address/zip``), as every
other error names the field that is wrong. The missing name is found by
matching jsonschema's message against the keyword's declared names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema.exceptions

__all__ = ["error_pointer", "escape_pointer"]


def escape_pointer(part: str) -> str:
    """One JSON pointer segment (RFC 6901: ``~`` as ``~0``, ``/`` as ``~1``)."""
    return part.replace("~", "~0").replace("/", "~1")


def error_pointer(error: jsonschema.exceptions.ValidationError) -> str:
    """``#`` then the path of the value in error; a missing property's own path for ``required``."""
    parts = [str(part) for part in error.absolute_path]
    missing = _missing_property(error)
    if missing is not None:
        parts.append(missing)
    return "#" + "".join(f"/{escape_pointer(part)}" for part in parts)


def _missing_property(error: jsonschema.exceptions.ValidationError) -> str | None:
    if not isinstance(error.instance, dict):
        return None
    if error.validator == "required":
        return _named_in(error, error.validator_value, "{!r} is a required property")
    if error.validator in ("dependentRequired", "dependencies") and isinstance(
        error.validator_value, dict
    ):
        for trigger, needed in error.validator_value.items():
            if trigger in error.instance and isinstance(needed, list):
                found = _named_in(error, needed, "{!r} is a dependency of " + repr(trigger))
                if found is not None:
                    return found
    return None


def _named_in(
    error: jsonschema.exceptions.ValidationError, names: Iterable[Any], template: str
) -> str | None:
    """The absent name whose message is ``error``'s (jsonschema yields one error per name)."""
    if not isinstance(names, list | tuple):
        return None
    for name in names:
        if (
            isinstance(name, str)
            and name not in error.instance
            and template.format(name) == error.message
        ):
            return name
    return None
