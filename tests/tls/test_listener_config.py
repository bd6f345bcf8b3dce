"""Kafka listeners from settings: names, protocols, advertised addresses and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from charter.config import ConfigError, Settings, load_settings
from charter.kafka_listeners import kafka_listeners, listener_addresses
from charter.security import check_exposure
from tests.tls.certs import make_pki


def _addresses(**values: object) -> list[tuple[str, str, str, int, str, int]]:
    return [
        (a.name, a.security_protocol, a.host, a.port, a.advertised_host, a.advertised_port)
        for a in listener_addresses(Settings(**values))
    ]


def test_default_is_one_plaintext_listener_on_host_and_kafka_port() -> None:
    assert _addresses() == [("PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9092, "127.0.0.1", 9092)]


@pytest.mark.parametrize(
    ("values", "protocol"),
    [
        ({"auth": True}, "SASL_PLAINTEXT"),
        ({"tls_cert": "c.pem", "tls_key": "k.pem"}, "SSL"),
        ({"auth": True, "tls_cert": "c.pem", "tls_key": "k.pem"}, "SASL_SSL"),
    ],
)
def test_default_listener_protocol_follows_auth_and_tls(values: dict, protocol: str) -> None:
    [(name, found, *_)] = _addresses(**values)
    assert (name, found) == (protocol, protocol)


def test_several_listeners_with_a_protocol_map_and_advertised_addresses() -> None:
    found = _addresses(
        auth=True,
        tls_cert="c.pem",
        tls_key="k.pem",
        listeners="INTERNAL://127.0.0.1:9092, EXTERNAL://:9093,REPLICA://[::1]:9094",
        listener_security_protocol_map="INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL,REPLICA:SSL",
        advertised_listeners="EXTERNAL://kafka.example.com:443",
        host="0.0.0.0",
    )
    assert found == [
        ("INTERNAL", "PLAINTEXT", "127.0.0.1", 9092, "127.0.0.1", 9092),
        ("EXTERNAL", "SASL_SSL", "0.0.0.0", 9093, "kafka.example.com", 443),
        ("REPLICA", "SSL", "::1", 9094, "::1", 9094),
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"listeners": "PLAINTEXT:9092"}, "is not NAME://host:port"),
        ({"listeners": "PLAINTEXT://h:99999"}, "not a port number"),
        ({"listeners": "PLAINTEXT://a:1,PLAINTEXT://b:2"}, "named twice"),
        ({"listeners": "OUTSIDE://a:1"}, "listener_security_protocol_map"),
        ({"listeners": "A://a:1", "listener_security_protocol_map": "A:TLS"}, "NAME:PROTOCOL"),
        ({"listeners": "PLAINTEXT://a:1,SSL://b:1", "tls_cert": "c", "tls_key": "k"}, "own"),
        ({"listeners": "SASL_PLAINTEXT://a:1"}, "--auth"),
        ({"listeners": "SSL://a:1"}, "tls_cert and tls_key"),
        (
            {"listeners": "PLAINTEXT://a:1", "advertised_listeners": "SSL://b:2"},
            "not in 'listeners'",
        ),
        ({"listeners": "PLAINTEXT://0.0.0.0:9092", "auth": True}, "set advertised_listeners"),
    ],
)
def test_bad_listener_settings_name_the_problem(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        listener_addresses(Settings(**values))


def test_listeners_come_from_the_environment_like_any_setting() -> None:
    settings = load_settings(
        environ={"CHARTER_LISTENERS": "PLAINTEXT://127.0.0.1:0", "CHARTER_TLS_CLIENT_AUTH": "none"}
    )
    assert settings.listeners == "PLAINTEXT://127.0.0.1:0"
    with pytest.raises(ConfigError, match="tls_client_auth"):
        load_settings(environ={"CHARTER_TLS_CLIENT_AUTH": "sometimes"})


def test_tls_listeners_load_the_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path, clients=("alice",))
    settings = Settings(
        listeners="SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:1",
        tls_cert=str(pki.server_cert),
        tls_key=str(pki.server_key),
        tls_ca=str(pki.ca),
        tls_client_auth="required",
    )
    ssl_listener, plain = kafka_listeners(settings)
    assert ssl_listener.ssl_context is not None and ssl_listener.certificate_principal
    assert plain.ssl_context is None and plain.certificate_principal is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tls_key": "KEY"}, "not found"),
        ({"tls_cert": "KEY"}, "cannot load the TLS certificate"),
        ({"tls_client_auth": "required"}, "needs tls_ca"),
        ({"tls_ca": "missing.pem"}, "cannot load the CA bundle"),
        ({"ssl_principal_mapping_rules": "RULE:x"}, "ssl_principal_mapping_rules"),
    ],
)
def test_bad_tls_files_fail_at_start(tmp_path: Path, values: dict, message: str) -> None:
    pki = make_pki(tmp_path, clients=())
    files = {"CERT": str(pki.server_cert), "KEY": str(pki.server_key)}
    base = {"tls_cert": files["CERT"], "tls_key": files["KEY"]}
    base.update(
        {
            k: (tmp_path / "nope.pem").as_posix() if v == "KEY" and k == "tls_key" else v
            for k, v in values.items()
        }
    )
    if values.get("tls_cert") == "KEY":
        base["tls_cert"] = files["KEY"]  # a key where the certificate should be
    with pytest.raises(ConfigError, match=message):
        check_exposure(Settings(**base))


def test_a_listener_outside_loopback_needs_auth() -> None:
    settings = Settings(
        listeners="PLAINTEXT://127.0.0.1:9092,EXTERNAL://0.0.0.0:9093",
        listener_security_protocol_map="EXTERNAL:PLAINTEXT",
        advertised_listeners="EXTERNAL://kafka.example.com:9093",
    )
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0"):
        check_exposure(settings)
    check_exposure(Settings(listeners="PLAINTEXT://127.0.0.1:9092"))
