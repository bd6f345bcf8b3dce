"""Client-certificate principals: a certificate's subject mapped by Kafka's rule syntax (mTLS).

Kafka's ``ssl.principal.mapping.rules``: a comma- or newline-separated list of
``RULE:pattern/replacement/[L|U]`` and ``DEFAULT``, tried in order. A rule
applies when its (Java-style) regular expression matches the whole subject
distinguished name in RFC 2253 form (``CN=alice,OU=eng,O=acme``, most specific
first); the name is the replacement with ``$1``… filled in, lower- or
upper-cased with ``L``/``U``. ``DEFAULT`` takes the whole DN. No rule applying
refuses the certificate (``NoMatchingRule``), as Kafka does. The principal is
``User:<name>``, the same principals role bindings name.
"""

from __future__ import annotations

import dataclasses
import re

from cryptography import x509

__all__ = [
    "CERTIFICATE_PRINCIPAL_ENVIRON_KEY",
    "InvalidMappingRules",
    "NoMatchingRule",
    "PrincipalMapper",
    "certificate_subject",
]

_RULE = r"(DEFAULT)|RULE:((?:\\.|[^\\/])*)/((?:\\.|[^\\/])*)/([LU]?)"
_SPLITTER = re.compile(r"\s*(?:" + _RULE + r")\s*(?:[,\n]\s*|$)")
_GROUP_REFERENCE = re.compile(r"\\(.)|\$(\d)")
CERTIFICATE_PRINCIPAL_ENVIRON_KEY = "charter.certificate_principal"
"""The WSGI environ key under which the HTTPS server puts a client certificate's principal."""
RESERVED_NAME = "ANONYMOUS"
"""The principal of unauthenticated clients; no credential may claim it."""


class InvalidMappingRules(ValueError):
    """The rules text does not parse (the message names the part that does not)."""


class NoMatchingRule(ValueError):
    """No rule applies to a certificate's subject: the client is refused."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str] | None  # None: DEFAULT
    replacement: str = ""
    case: str = ""

    def apply(self, subject: str) -> str | None:
        if self.pattern is None:
            return subject
        match = self.pattern.fullmatch(subject)
        if match is None:
            return None

        def fill(reference: re.Match[str]) -> str:
            if reference.group(1) is not None:
                return reference.group(1)
            index = int(reference.group(2))
            return (match.group(index) or "") if index <= (self.pattern.groups) else ""

        name = _GROUP_REFERENCE.sub(fill, self.replacement)
        return name.lower() if self.case == "L" else name.upper() if self.case == "U" else name


def _unescape_slashes(text: str) -> str:
    return text.replace("\\/", "/")


class PrincipalMapper:
    """Maps a certificate subject to a principal by the configured rules."""

    def __init__(self, rules: str = "DEFAULT") -> None:
        self.rules_text = rules
        self.rules = self._parse(rules)

    @staticmethod
    def _parse(text: str) -> tuple[_Rule, ...]:
        rules: list[_Rule] = []
        position = 0
        text = text.strip()
        while position < len(text):
            found = _SPLITTER.match(text, position)
            if found is None or found.end() == position:
                raise InvalidMappingRules(
                    f"invalid principal mapping rule at {text[position:]!r}: use "
                    "RULE:pattern/replacement/[L|U] or DEFAULT, separated by commas"
                )
            position = found.end()
            if found.group(1):
                rules.append(_Rule(None))
                continue
            try:
                pattern = re.compile(_unescape_slashes(found.group(2)))
            except re.error as exc:
                raise InvalidMappingRules(
                    f"invalid regular expression {found.group(2)!r} in a principal mapping "
                    f"rule: {exc}"
                ) from None
            rules.append(_Rule(pattern, _unescape_slashes(found.group(3)), found.group(4)))
        if not rules:
            raise InvalidMappingRules("no principal mapping rules (use DEFAULT)")
        return tuple(rules)

    def name(self, subject: str) -> str:
        """The principal name of a subject DN; ``NoMatchingRule`` when no rule applies."""
        for rule in self.rules:
            name = rule.apply(subject)
            if name:
                return name
        raise NoMatchingRule(f"no principal mapping rule applies to {subject!r}")

    def principal(self, certificate_der: bytes) -> str:
        """``User:<name>`` for a DER client certificate (never the reserved ``ANONYMOUS``)."""
        subject = certificate_subject(certificate_der)
        name = self.name(subject)
        if name == RESERVED_NAME:
            raise NoMatchingRule(f"{subject!r} maps to the reserved principal User:{RESERVED_NAME}")
        return f"User:{name}"


def certificate_subject(certificate_der: bytes) -> str:
    """The subject of a DER certificate as an RFC 2253 string (what Kafka maps)."""
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError as exc:
        raise NoMatchingRule(f"unreadable client certificate: {exc}") from None
    return certificate.subject.rfc4514_string()
