"""Confluent's built-in CEL validation functions, so Confluent data-contract rules run here.

Confluent's rule executors (Java, .NET, Go, Python clients) declare seven
string member functions beside standard CEL: ``isEmail()``, ``isHostname()``,
``isIpv4()``, ``isIpv6()``, ``isUri()``, ``isUriRef()`` and ``isUuid()``
(``message.email.isEmail()``). ``governance.cel`` declares them in its
environment with these implementations, so a rule written for Confluent
compiles and answers the same at the gate, in the SDK and at registration.
Each answers ``False`` for text that is not what it names, never raises.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

__all__ = ["BUILTINS"]

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
# RFC 5322 dot-atom local part (the form mail systems accept unquoted).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
# RFC 3986: a URI reference is made of unreserved, reserved and percent-encoded characters.
_URI_CHARACTERS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def is_hostname(text: str) -> bool:
    """An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    if not text or len(text) > 253 or text.endswith("."):
        return False
    return all(_LABEL.match(label) for label in text.split("."))


def is_ipv4(text: str) -> bool:
    """Dotted-quad IPv4 (no leading zeros, as Python's and Java's strict parsers read it)."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def is_email(text: str) -> bool:
    """``local@domain``: a dot-atom local part (at most 64 characters) and a host name with
    at least two labels, or an IP address literal in brackets."""
    local, at, domain = text.rpartition("@")
    if not at or not local or len(local) > 64 or not _LOCAL_PART.match(local):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        return is_ipv4(literal) or (literal[:5].lower() == "ipv6:" and is_ipv6(literal[5:]))
    return "." in domain and is_hostname(domain)


def is_uri_ref(text: str) -> bool:
    """An RFC 3986 URI reference (absolute or relative)."""
    return bool(_URI_CHARACTERS.match(text)) and _brackets_are_a_host(text)


def is_uri(text: str) -> bool:
    """An absolute RFC 3986 URI: a scheme, then a valid reference."""
    return bool(_SCHEME.match(text)) and is_uri_ref(text)


def is_uuid(text: str) -> bool:
    """The 8-4-4-4-12 hexadecimal form."""
    return bool(_UUID.match(text))


def _brackets_are_a_host(text: str) -> bool:
    """``[`` and ``]`` may only enclose an IPv6 host (``http://[::1]:80/``)."""
    if "[" not in text and "]" not in text:
        return True
    found = re.search(r"//\[([^\]/]*)\]", text)
    if found is None:
        return False
    rest = text[: found.start(1) - 1] + text[found.end(1) + 1 :]
    return "[" not in rest and "]" not in rest and is_ipv6(found.group(1))


BUILTINS: dict[str, Callable[[str], bool]] = {
    "isEmail": is_email,
    "isHostname": is_hostname,
    "isIpv4": is_ipv4,
    "isIpv6": is_ipv6,
    "isUri": is_uri,
    "isUriRef": is_uri_ref,
    "isUuid": is_uuid,
}
"""Function name -> implementation; each is a member function of ``string`` answering bool."""
