"""Confluent's CEL string validators, as rules call them (``message.email.isEmail()``)."""

from __future__ import annotations

import pytest

from governance.cel import CelError, compile_program


@pytest.mark.parametrize(
    ("function", "text", "expected"),
    [
        ("isEmail", "ada.lovelace+tag@example.co.uk", True),
        ("isEmail", "ada@[192.168.0.1]", True),
        ("isEmail", "ada@[IPv6:::1]", True),
        ("isEmail", "ada@localhost", False),  # a domain needs a dot
        ("isEmail", "ada..b@example.com", False),
        ("isEmail", ".ada@example.com", False),
        ("isEmail", "@example.com", False),
        ("isEmail", "ada example.com", False),
        ("isEmail", "a" * 65 + "@example.com", False),
        ("isHostname", "example.com", True),
        ("isHostname", "localhost", True),
        ("isHostname", "xn--bcher-kva.example", True),
        ("isHostname", "-example.com", False),
        ("isHostname", "exa_mple.com", False),
        ("isHostname", "a." * 127 + "a", False),  # longer than 253
        ("isHostname", "", False),
        ("isIpv4", "192.168.0.1", True),
        ("isIpv4", "256.1.1.1", False),
        ("isIpv4", "1.2.3", False),
        ("isIpv4", "::1", False),
        ("isIpv6", "2001:db8::1", True),
        ("isIpv6", "::ffff:192.168.0.1", True),
        ("isIpv6", "2001:db8:::1", False),
        ("isIpv6", "192.168.0.1", False),
        ("isUri", "https://example.com/a?b=c#d", True),
        ("isUri", "urn:isbn:0451450523", True),
        ("isUri", "http://[2001:db8::1]:8080/", True),
        ("isUri", "/relative/path", False),
        ("isUri", "https://exa mple.com", False),
        ("isUri", "http://[not-an-ip]/", False),
        ("isUriRef", "/relative/path?x=%20", True),
        ("isUriRef", "https://example.com", True),
        ("isUriRef", "bad%zz", False),
        ("isUuid", "123e4567-e89b-12d3-a456-426614174000", True),
        ("isUuid", "123E4567-E89B-12D3-A456-426614174000", True),
        ("isUuid", "123e4567e89b12d3a456426614174000", False),
        ("isUuid", "123e4567-e89b-12d3-a456-42661417400g", False),
    ],
)
def test_each_validator(function: str, text: str, expected: bool) -> None:
    program = compile_program(f"message.value.{function}()")
    assert program.evaluate({"message": {"value": text}}) is expected


def test_a_validator_of_a_non_string_is_a_rule_error_not_a_crash() -> None:
    with pytest.raises(CelError, match="isEmail"):
        compile_program("message.value.isEmail()").evaluate({"message": {"value": 5}})


def test_validators_are_member_functions_only() -> None:
    with pytest.raises(CelError, match="isEmail"):
        compile_program("isEmail(message.value)")
