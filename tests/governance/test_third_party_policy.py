"""A third-party policy registered through the ``charter.policies`` entry point: listed,
enabled over HTTP, and when it throws the registration is refused with 422 (fail closed),
never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings
from governance.policies import ENTRY_POINT_GROUP, HookPoint, Policy, Violation
from governance.policies.base import RegistrationContext

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


class NoTestSubjects(Policy):
    name = "no-test-subjects"
    description = "Subjects may not start with test."
    hooks = frozenset({HookPoint.REGISTER})

    def check_register(
        self, context: RegistrationContext, params: Mapping[str, Any]
    ) -> Violation | None:
        if context.subject.startswith("test"):
            return Violation(f"subject {context.subject!r} starts with test", context.subject)
        if context.subject.startswith("boom"):
            raise RuntimeError("policy bug")
        return None


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    entry = EntryPoint("no-test-subjects", f"{__name__}:NoTestSubjects", ENTRY_POINT_GROUP)
    monkeypatch.setattr(
        "governance.policies.entry_points",
        lambda group: [entry] if group == ENTRY_POINT_GROUP else [],
    )
    app = create_app(Settings(data_dir=tmp_path))
    yield app.test_client()
    app.extensions["charter.events"].stop()
    app.extensions["charter.database"].close()


def _register(client: FlaskClient, subject: str) -> Any:
    body = {"schema": json.dumps({"type": "string"})}
    return client.post(f"/subjects/{subject}/versions", data=json.dumps(body), headers=CT)


def test_an_entry_point_policy_is_listed_enabled_and_fails_closed(client: FlaskClient) -> None:
    listed = {p["name"]: p for p in client.get("/governance/v1/policies").json}
    assert listed["no-test-subjects"]["enabled"] is False
    enabled = client.put("/governance/v1/policies/no-test-subjects", json={"enabled": True})
    assert enabled.status_code == 200, enabled.json
    assert _register(client, "orders-value").status_code == 200
    denied = _register(client, "test-value")
    assert denied.status_code == 422
    assert (
        "policy no-test-subjects: subject 'test-value' starts with test" in denied.json["message"]
    )
    failed = _register(client, "boom-value")
    assert failed.status_code == 422, failed.json
    assert "policy no-test-subjects failed (RuntimeError: policy bug)" in failed.json["message"]
