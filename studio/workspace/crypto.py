"""Encryption of datastore secrets at rest (Fernet), with a key from the environment.

``STUDIO_ENCRYPTION_KEY`` (a Fernet key) when set; otherwise a key derived from
``SECRET_KEY``, which itself comes from the environment or the data directory.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretError(ValueError):
    pass


def _fernet() -> Fernet:
    key = settings.STUDIO_ENCRYPTION_KEY
    if key:
        try:
            return Fernet(key.encode())
        except ValueError:
            raise SecretError(
                "STUDIO_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    derived = hashlib.sha256(f"studio-secrets:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(values: dict) -> str:
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def decrypt(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretError(
            "Datastore secrets cannot be decrypted: was STUDIO_ENCRYPTION_KEY or SECRET_KEY changed?"
        ) from None
