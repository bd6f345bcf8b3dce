"""Kafka's ssl.principal.mapping.rules, applied to certificate subjects."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.security.principal_mapping import (
    InvalidMappingRules,
    NoMatchingRule,
    PrincipalMapper,
    certificate_subject,
)
from tests.tls.certs import make_pki

DN = "CN=Alice,OU=eng,O=acme,C=US"


def test_default_takes_the_whole_subject() -> None:
    assert PrincipalMapper("DEFAULT").name(DN) == DN


def test_rule_with_group_and_case_then_default() -> None:
    mapper = PrincipalMapper("RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L,DEFAULT")
    assert mapper.name(DN) == "alice@eng"
    assert mapper.name("O=other") == "O=other"  # the first rule does not match: DEFAULT


def test_rules_in_order_upper_case_and_newlines() -> None:
    mapper = PrincipalMapper("RULE:^CN=([^,]*),OU=ops.*$/$1/U\nRULE:^CN=([^,]*),.*$/$1/")
    assert mapper.name("CN=bob,OU=ops,O=acme") == "BOB"
    assert mapper.name(DN) == "Alice"


def test_escaped_slash_in_pattern_and_replacement() -> None:
    mapper = PrincipalMapper(r"RULE:^CN=(.*?)\/x,.*$/team\/$1/")
    assert mapper.name("CN=a/x,O=acme") == "team/a"


def test_no_rule_applies_refuses() -> None:
    mapper = PrincipalMapper("RULE:^CN=(.*?),OU=ops,.*$/$1/")
    with pytest.raises(NoMatchingRule, match="no principal mapping rule applies"):
        mapper.name(DN)


@pytest.mark.parametrize(
    "rules", ["", "RULE:^CN=(.*$/$1/", "RULE:abc", "DEFAULT,bogus", "RULE:a/b/X"]
)
def test_bad_rules_are_configuration_errors(rules: str) -> None:
    with pytest.raises(InvalidMappingRules):
        PrincipalMapper(rules)


def test_certificate_subject_is_rfc_2253_most_specific_first(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, clients=("alice",))
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(pki.client("alice")[0].read_bytes())
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert certificate_subject(der) == "CN=alice,OU=eng,O=acme,C=US"
    assert PrincipalMapper("RULE:^CN=(.*?),.*$/$1/,DEFAULT").principal(der) == "User:alice"
    with pytest.raises(NoMatchingRule):
        certificate_subject(b"not a certificate")


def test_no_certificate_may_claim_the_anonymous_principal(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pki = make_pki(tmp_path, clients=("ANONYMOUS",))
    pem = pki.client("ANONYMOUS")[0].read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    with pytest.raises(NoMatchingRule, match="reserved"):
        PrincipalMapper("RULE:^CN=(.*?),.*$/$1/").principal(der)
