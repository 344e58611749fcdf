"""Encryption at rest for webhook secrets and API tokens (Fernet, key from the environment)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import CartwheelError


class SecretBoxError(CartwheelError, ValueError):
    """A ciphertext could not be decrypted with any configured key."""


def generate_key() -> str:
    """A fresh key for CARTWHEEL_SECRET_KEYS."""
    return Fernet.generate_key().decode()


@lru_cache(maxsize=8)
def _box(secret_keys: str) -> MultiFernet:
    # Comma-separated keys, newest first: the first encrypts, all decrypt (key rotation).
    keys = [k.strip() for k in secret_keys.split(",") if k.strip()]
    if not keys:
        raise SecretBoxError("no encryption key configured (CARTWHEEL_SECRET_KEYS)")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(secret_keys: str, plaintext: str) -> bytes:
    """Encrypt a secret for storage."""
    return _box(secret_keys).encrypt(plaintext.encode())


def decrypt(secret_keys: str, ciphertext: bytes) -> str:
    """Decrypt a stored secret."""
    try:
        return _box(secret_keys).decrypt(bytes(ciphertext)).decode()
    except InvalidToken as exc:
        raise SecretBoxError("stored secret does not decrypt with the configured keys") from exc
