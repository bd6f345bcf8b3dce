"""TLS for both doors, built once from ``Settings``: server contexts and client-certificate principals.

- ``server_context``: the ``ssl.SSLContext`` of the SSL/SASL_SSL Kafka listeners and
  of HTTPS — ``tls_cert``/``tls_key`` (optionally ``tls_key_password``), TLS 1.2 or
  newer, and with ``tls_ca`` client certificates verified against it
  (``tls_client_auth``: none, requested, required — Kafka's ``ssl.client.auth``).
- ``principal_mapper``: ``ssl_principal_mapping_rules`` parsed once
  (``governance.security.principal_mapping``).
- ``CertificatePrincipal``: WSGI middleware for HTTPS under gunicorn: the client
  certificate of the request's socket, mapped, put in the environ for the HTTP
  authentication (``governance.security.http_auth``) to use when the request
  carries no ``Authorization`` header.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from charter.config import ConfigError, Settings
from governance.security.principal_mapping import (
    CERTIFICATE_PRINCIPAL_ENVIRON_KEY,
    InvalidMappingRules,
    PrincipalMapper,
)

__all__ = ["CertificatePrincipal", "principal_mapper", "server_context", "tls_enabled"]

log = logging.getLogger("charter.tls")

_VERIFY_MODES = {
    "none": ssl.CERT_NONE,
    "requested": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


def tls_enabled(settings: Settings) -> bool:
    """A certificate is configured: HTTPS, and SSL/SASL_SSL listeners may be declared."""
    return bool(settings.tls_cert)


def server_context(settings: Settings) -> ssl.SSLContext:
    """The server-side TLS context; ``ConfigError`` (one line) when a file is missing or bad."""
    if not settings.tls_cert or not settings.tls_key:
        raise ConfigError("TLS needs both tls_cert and tls_key (PEM files)")
    if settings.tls_client_auth != "none" and not settings.tls_ca:
        raise ConfigError(
            f"tls_client_auth = {settings.tls_client_auth} needs tls_ca, the CA bundle "
            "client certificates are checked against"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key, settings.tls_key_password)
    except FileNotFoundError as exc:
        raise ConfigError(f"TLS certificate or key file not found: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"cannot load the TLS certificate {settings.tls_cert} with the key "
            f"{settings.tls_key}: {exc.strerror or exc}"
        ) from None
    if settings.tls_ca:
        try:
            context.load_verify_locations(cafile=settings.tls_ca)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"cannot load the CA bundle {settings.tls_ca}: {exc.strerror or exc}"
            ) from None
    context.verify_mode = _VERIFY_MODES[settings.tls_client_auth]
    return context


def principal_mapper(settings: Settings) -> PrincipalMapper:
    try:
        return PrincipalMapper(settings.ssl_principal_mapping_rules)
    except InvalidMappingRules as exc:
        raise ConfigError(f"setting 'ssl_principal_mapping_rules': {exc}") from None


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class CertificatePrincipal:
    """WSGI middleware: the mapped principal of the client certificate, when there is one.

    gunicorn puts the connection's socket in the environ (``gunicorn.socket``); over
    HTTPS it is an ``ssl.SSLSocket`` whose peer certificate the handshake verified.
    A certificate no rule maps leaves the request without a certificate principal
    (it may still authenticate with a header), and the refusal is logged.
    """

    def __init__(self, app: WsgiApp, mapper: PrincipalMapper) -> None:
        self.app = app
        self.mapper = mapper

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = environ.get("gunicorn.socket")
        if isinstance(sock, ssl.SSLSocket):
            certificate = sock.getpeercert(binary_form=True)
            if certificate:
                try:
                    environ[CERTIFICATE_PRINCIPAL_ENVIRON_KEY] = self.mapper.principal(certificate)
                except ValueError as exc:
                    log.warning("client certificate refused: %s", exc)
        return self.app(environ, start_response)
