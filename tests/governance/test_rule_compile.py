"""A data-contract rule whose CEL does not compile is refused when it is registered (42210)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
SCHEMA = json.dumps(
    {"type": "record", "name": "Order", "fields": [{"name": "amount", "type": "double"}]}
)


def _rule(expr: str, **fields: Any) -> dict[str, Any]:
    return {"name": "positive", "kind": "CONDITION", "mode": "WRITE", "type": "CEL"} | {
        "expr": expr,
        **fields,
    }


def _register(client: FlaskClient, subject: str, *rules: dict[str, Any]) -> Any:
    body = {"schema": SCHEMA, "ruleSet": {"domainRules": list(rules)}}
    return client.post(f"/subjects/{subject}/versions", data=json.dumps(body), headers=CT)


def _refused(response: Any, *words: str) -> str:
    assert response.status_code == 422, response.json
    assert response.json["error_code"] == 42210
    message = response.json["message"]
    for word in words:
        assert word in message, message
    return message


def _audit(client: FlaskClient, **query: Any) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        entries = client.get("/governance/v1/audit", query_string=query).json
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        (_rule("message.amount >"), "Syntax error"),
        (_rule("isPositive(message.amount)"), "undeclared reference to 'isPositive'"),
        (_rule("message.amount + 'x' > 0"), "no matching overload"),
        (_rule("bad guard( ; message.amount > 0.0"), "Syntax error"),
        (_rule("value >", type="CEL_FIELD", tags=["PII"]), "Syntax error"),
        (_rule("message.amount >", mode="READ"), "Syntax error"),  # the SDK runs READ rules
        (_rule("message.amount >", mode="WRITEREAD"), "Syntax error"),
    ],
)
def test_a_rule_that_does_not_compile_is_refused(
    client: FlaskClient, rule: dict[str, Any], error: str
) -> None:
    _refused(_register(client, "orders-value", rule), "rule 'positive'", error)
    assert client.get("/subjects").json == []
    entries = _audit(client, action="schema.register", resource="subject:orders-value")
    assert entries[0]["outcome"] == "rejected"
    assert "42210" in entries[0]["detail"]


@pytest.mark.parametrize(
    "rule",
    [
        _rule("message.amount > 0.0"),
        _rule("message.amount >", disabled=True),  # never runs
        _rule("message.amount >", kind="TRANSFORM"),  # not a condition
        _rule("message.amount >", type="JSONATA"),  # not CEL
    ],
)
def test_rules_that_never_run_as_cel_or_compile_are_accepted(
    client: FlaskClient, rule: dict[str, Any]
) -> None:
    response = _register(client, "orders-value", rule)
    assert response.status_code == 200, response.json


def test_the_first_broken_rule_is_named(client: FlaskClient) -> None:
    good = _rule("message.amount > 0.0")
    broken = {**_rule("message.amount <"), "name": "small"}
    _refused(_register(client, "orders-value", good, broken), "rule 'small'")


@pytest.mark.parametrize("field", ["defaultRuleSet", "overrideRuleSet"])
def test_a_config_rule_set_that_does_not_compile_is_refused(
    client: FlaskClient, field: str
) -> None:
    body = {field: {"domainRules": [_rule("message.amount >")]}}
    _refused(client.put("/config/orders-value", json=body), field, "rule 'positive'")
    assert client.get("/config/orders-value").status_code == 404  # nothing stored
    entries = _audit(client, action="config.change", resource="subject:orders-value")
    assert entries[0]["outcome"] == "rejected"
    good = {field: {"domainRules": [_rule("message.amount > 0.0")]}}
    assert client.put("/config/orders-value", json=good).status_code == 200


def test_a_valid_config_rule_set_reaches_new_versions(client: FlaskClient) -> None:
    rule_set = {"domainRules": [_rule("message.amount > 0.0")]}
    assert client.put("/config/orders-value", json={"defaultRuleSet": rule_set}).status_code == 200
    body = {"schema": SCHEMA}
    response = client.post("/subjects/orders-value/versions", data=json.dumps(body), headers=CT)
    assert response.status_code == 200, response.json
    assert response.json["ruleSet"]["domainRules"][0]["name"] == "positive"
