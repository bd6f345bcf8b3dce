"""What is stored for a secret, and checking a secret against it (constant time).

- Passwords: scrypt (``hashlib.scrypt``, memory-hard), kept as
  ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can be raised
  later without breaking stored hashes.
- SCRAM-SHA-256/512 (RFC 5802/7677): per mechanism a random salt, the
  iteration count, ``StoredKey`` and ``ServerKey``, derived from the same
  password when a user is created, so the server never needs the password
  again and the stored keys do not let anyone log in with PLAIN or Basic.
- API keys: ``<key id>.<secret>``; the id is stored in clear (to find the row),
  the secret only as its SHA-256 (it is 32 random bytes: a fast hash is enough).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets

__all__ = [
    "SCRAM_ALGORITHMS",
    "ApiKeySecret",
    "ScramCredential",
    "check_password",
    "derive_scram",
    "scram_from_salted_password",
    "hash_password",
    "new_api_key",
    "parse_api_key",
    "api_key_digest",
]

_SCRYPT_LOG2_N = 14
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_LEN = 32
SCRAM_ITERATIONS = 4096  # Kafka's minimum and default
SCRAM_ALGORITHMS = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=2**log2_n,
        r=r,
        p=p,
        maxmem=2**26,
        dklen=_SCRYPT_LEN,
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_LOG2_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


# A hash checked when the user does not exist, so both answers take as long.
_DUMMY_HASH = f"scrypt${_SCRYPT_LOG2_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(b'0' * 16)}${_b64(b'0' * 32)}"


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (``None``: no such user, still takes the time)."""
    usable = stored is not None and stored.startswith("scrypt$")
    try:
        # a user without a password (SCRAM only) costs the same scrypt as any other
        scheme, log2_n, r, p, salt, digest = (stored if usable else _DUMMY_HASH).split("$")
        computed = _scrypt(password, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest)) and usable


@dataclasses.dataclass(frozen=True, slots=True)
class ScramCredential:
    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def derive_scram(
    password: str, mechanism: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> ScramCredential:
    """The SCRAM credential of ``password`` for ``mechanism`` (RFC 5802 section 3)."""
    algorithm = SCRAM_ALGORITHMS[mechanism]
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac(algorithm, password.encode("utf-8"), salt, iterations)
    return scram_from_salted_password(mechanism, salt, salted, iterations)


def scram_from_salted_password(
    mechanism: str, salt: bytes, salted_password: bytes, iterations: int
) -> ScramCredential:
    """The credential from ``SaltedPassword = Hi(password, salt, i)``, as Kafka's
    AlterUserScramCredentials carries it (KIP-554: the password never leaves the client)."""
    algorithm = SCRAM_ALGORITHMS[mechanism]
    salted = salted_password
    client_key = hmac.digest(salted, b"Client Key", algorithm)
    return ScramCredential(
        mechanism=mechanism,
        salt=salt,
        iterations=iterations,
        stored_key=hashlib.new(algorithm, client_key).digest(),
        server_key=hmac.digest(salted, b"Server Key", algorithm),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeySecret:
    """A freshly made API key: ``token`` is shown once; only ``key_id`` and ``digest`` are kept."""

    key_id: str
    token: str
    digest: str


def api_key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key() -> ApiKeySecret:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return ApiKeySecret(key_id, f"{key_id}.{secret}", api_key_digest(secret))


def parse_api_key(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a presented token, or None when it is not shaped like one."""
    key_id, dot, secret = token.partition(".")
    if not dot or len(key_id) != 16 or not secret or len(token) > 200:
        return None
    return key_id, secret
