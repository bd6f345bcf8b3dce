"""``charter up --auth`` with a certificate: HTTPS for the HTTP tier and SASL_SSL for Kafka.

Confluent's SchemaRegistryClient reads over HTTPS (``ssl.ca.location``) with
``basic.auth.user.info``; client certificates are principals over HTTPS too
(mapped by the same rule as on Kafka); Bearer JWTs signed by the JWKS
authenticate; garbage on the TLS port does not hurt the server.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.charter.processes import CharterProcess, launch
from tests.security.stack import ADMIN_PASSWORD, PASSWORDS, seed_users
from tests.tls.certs import Pki, make_pki

AVRO = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "int"}]})


class Up:
    def __init__(self, root: Path) -> None:
        self.pki: Pki = make_pki(root / "pki")
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        jwks = root / "jwks.json"
        jwks.write_text(json.dumps({"keys": [self.key.as_dict(private=False)]}))
        data_dir = root / "data"
        seed_users(data_dir)
        self.charter: CharterProcess = launch(
            "up",
            data_dir,
            extra_args=("--auth",),
            environment={
                "CHARTER_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "CHARTER_TLS_CERT": str(self.pki.server_cert),
                "CHARTER_TLS_KEY": str(self.pki.server_key),
                "CHARTER_TLS_CA": str(self.pki.ca),
                "CHARTER_TLS_CLIENT_AUTH": "requested",
                "CHARTER_SSL_PRINCIPAL_MAPPING_RULES": "RULE:^CN=(.*?),.*$/$1/L,DEFAULT",
                "CHARTER_OAUTH_JWKS": str(jwks),
            },
        )
        self.url = f"https://127.0.0.1:{self.charter.http_port}"

    def token(self, **claims: Any) -> str:
        body = {"sub": "alice", "exp": int(time.time()) + 600, **claims}
        return jwt.encode({"alg": "RS256", "kid": "k1"}, body, self.key)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("https"))
    try:
        running.charter.wait_for(
            f"HTTP listener ready on {running.url}",
            f"Kafka listener ready on 127.0.0.1:{running.charter.kafka_port} (SASL_SSL)",
        )
        yield running
    finally:
        running.charter.stop()


def _registry(up: Up, user: str, password: str | None = None) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {
            "url": up.url,
            "ssl.ca.location": str(up.pki.ca),
            "basic.auth.user.info": f"{user}:{password or PASSWORDS[user]}",
        }
    )


def test_schema_registry_client_over_https_with_basic_auth(up: Up) -> None:
    alice = _registry(up, "alice")
    schema_id = alice.register_schema("orders-https-value", Schema(AVRO, "AVRO"))
    assert json.loads(_registry(up, "bob").get_schema(schema_id).schema_str)["name"] == "Order"
    latest = _registry(up, "bob").get_latest_version("orders-https-value")
    assert latest.schema_id == schema_id
    with pytest.raises(SchemaRegistryError) as wrong:
        _registry(up, "bob", "not-the-password").get_latest_version("orders-https-value")
    assert wrong.value.http_status_code == 401 and wrong.value.error_code == 40101
    with pytest.raises(SchemaRegistryError) as denied:
        _registry(up, "mallory").get_latest_version("orders-https-value")
    assert denied.value.http_status_code == 403


def _get(up: Up, path: str, user: str | None = None, **kwargs: Any) -> requests.Response:
    if user is not None:
        kwargs["cert"] = tuple(str(p) for p in up.pki.client(user))
    return requests.get(up.url + path, verify=str(up.pki.ca), timeout=30, **kwargs)


def test_client_certificates_are_principals_over_https(up: Up) -> None:
    assert _get(up, "/security/v1/whoami", "alice").json() == {"principal": "User:alice"}
    assert _get(up, "/subjects", "bob").status_code == 200
    assert _get(up, "/security/v1/whoami", "mallory").json() == {"principal": "User:mallory"}
    assert _get(up, "/security/v1/users", "mallory").status_code == 403
    assert _get(up, "/security/v1/whoami").status_code == 401  # no certificate, no header


def test_bearer_jwts_over_https(up: Up) -> None:
    answer = _get(up, "/security/v1/whoami", headers={"Authorization": f"Bearer {up.token()}"})
    assert answer.json() == {"principal": "User:alice"}
    expired = up.token(exp=int(time.time()) - 3600)
    refused = _get(up, "/security/v1/whoami", headers={"Authorization": f"Bearer {expired}"})
    assert refused.status_code == 401
    assert refused.json() == {"error_code": 40101, "message": "the token has expired"}


def test_plain_http_and_garbage_on_the_https_port(up: Up) -> None:
    port = up.charter.http_port
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=10)
    for garbage in (b"\x16\x03\x01\x00\x05hello", bytes(range(256)) * 8, b"\x00" * 10):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            raw.sendall(garbage)
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(4096):
                pass
    assert _get(up, "/health").status_code == 200


def test_kafka_listener_is_sasl_ssl_with_a_certificate(up: Up) -> None:
    admin = AdminClient(
        {
            "bootstrap.servers": up.charter.bootstrap,
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(up.pki.ca),
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": "bob",
            "sasl.password": PASSWORDS["bob"],
        }
    )
    metadata = admin.list_topics(timeout=20)
    assert [(b.host, b.port) for b in metadata.brokers.values()] == [
        ("127.0.0.1", up.charter.kafka_port)
    ]
