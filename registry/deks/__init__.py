"""Confluent's DEK registry (``/dek-registry/v1``): key encryption keys and data encryption keys.

Client-side field-level encryption (Confluent's CSFLE, ``ENCRYPT`` rules)
keeps, next to the schemas, the KEKs (a name pointing at a key in a KMS) and,
per subject, the DEKs encrypted by them. This package stores both and serves
the routes Confluent's clients call (``DekRegistryClient``), so their
``FieldEncryptionExecutor`` works against Charter. The registry holds no KMS
credentials: every DEK arrives already encrypted by the client (a KEK with
``shared: false``, what the executor does); the registry never sees a
plaintext key.
"""

from __future__ import annotations
