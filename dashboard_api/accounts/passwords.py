"""Password hashing (argon2id at OWASP's recommended cost) and the password policy."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_DISTINCT = 5


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether the password matches; with no stored hash, spends the same time and says no."""
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made at a cost other than today's."""
    return HASHER.check_needs_rehash(stored)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Why a password is too weak, beyond its length (the schemas check that)."""
    problems = []
    if len(set(password)) < MIN_DISTINCT:
        problems.append(f"Use at least {MIN_DISTINCT} different characters.")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3 and local in password.lower():
        problems.append("Do not use your email address in the password.")
    return problems


def warm_up() -> None:
    """Compute the dummy hash now, so the first unknown-user login is not faster than others."""
    _dummy_hash()
