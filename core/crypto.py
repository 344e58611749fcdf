"""Encryption at rest for webhook secrets and API tokens (Fernet, key from the environment)."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import CartwheelError


class SecretBoxError(CartwheelError, ValueError):
    """A ciphertext could not be decrypted with any configured key."""


def generate_key() -> str:
    """A fresh key for CARTWHEEL_SECRET_KEYS."""
    return Fernet.generate_key().decode()


# A random 32-byte key has about 30 distinct byte values; fewer than this is a made-up key
# ("0000...", "abab...", a word repeated), which anyone could guess.
_MIN_DISTINCT_BYTES = 16


def key_problem(secret_keys: str) -> str | None:
    """Why these keys must not be used (missing, not Fernet keys, guessable), or None.

    Every process checks this at start: a process that ran with a weak key would encrypt
    webhook secrets and Admin API tokens, and sign access tokens, with something guessable.
    """
    keys = [k.strip() for k in secret_keys.split(",") if k.strip()]
    if not keys:
        return "is not set"
    for position, key in enumerate(keys, start=1):
        raw = _key_bytes(key)
        if raw is None:
            return (
                f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes, as "
                "Fernet.generate_key() makes)"
            )
        if len(set(raw)) < _MIN_DISTINCT_BYTES:
            return f"key {position} is weak (guessable); generate a random one"
    return None


def _key_bytes(key: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == 32 else None


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
