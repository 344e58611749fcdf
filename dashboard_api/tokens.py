"""Access tokens: short-lived HS256 JWTs, signed with a key derived from CARTWHEEL_SECRET_KEYS.

Revocation lives in Redis: logout deny-lists one token's `jti` until it expires; revoking a
session deny-lists its id (`sid`) for as long as its access tokens live; a role change, a removal
or a password reset bumps the user's token generation, so every older access token stops working
at once.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
import redis
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import Settings
from models.accounts import ROLES

ALGORITHM = "HS256"
ISSUER = "cartwheel"
AUDIENCE = "cartwheel-dashboard"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "tid", "role", "email", "gen", "sid"]
LEEWAY_SECONDS = 5


class TokenError(ValueError):
    """An access token that is malformed, badly signed, expired or for someone else."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    email: str
    jti: str
    expires_at: int
    generation: int
    session_id: uuid.UUID


@lru_cache(maxsize=16)
def derived_keys(secret_keys: str, purpose: bytes) -> tuple[bytes, ...]:
    """One key per configured secret key for `purpose`, newest first (signing uses the first).

    A separate derived key per purpose, so a JWT key can never decrypt a stored secret, sign a
    device cookie, or the reverse.
    """
    keys = [k.strip() for k in secret_keys.split(",") if k.strip()]
    if not keys:
        raise TokenError("no secret key configured (CARTWHEEL_SECRET_KEYS)")
    return tuple(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key.encode())
        for key in keys
    )


def signing_keys(secret_keys: str) -> tuple[bytes, ...]:
    """The JWT HMAC keys, newest first."""
    return derived_keys(secret_keys, b"cartwheel-jwt-hs256")


def issue_access_token(
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    email: str,
    generation: int,
    session_id: uuid.UUID | None = None,
) -> str:
    """A signed access token for this user and session, valid for access_token_seconds (with
    no session, one nobody can revoke by session: tools and benchmarks)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "tid": str(tenant_id),
        "role": role,
        "email": email,
        "gen": generation,
        "sid": str(session_id or uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + settings.access_token_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, signing_keys(settings.secret_keys)[0], algorithm=ALGORITHM)


def read_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature (HS256 only), expiry, issuer and audience; raises TokenError."""
    claims: dict[str, Any] | None = None
    for key in signing_keys(settings.secret_keys):
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
    if claims is None:
        raise TokenError("signature does not verify")
    try:
        parsed = AccessClaims(
            tenant_id=uuid.UUID(claims["tid"]),
            user_id=uuid.UUID(claims["sub"]),
            role=str(claims["role"]),
            email=str(claims["email"]),
            jti=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            generation=int(claims["gen"]),
            session_id=uuid.UUID(claims["sid"]),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise TokenError("malformed claims") from exc
    if parsed.role not in ROLES:
        raise TokenError("unknown role")
    return parsed


def _deny_key(settings: Settings, jti: str) -> str:
    return f"{settings.namespace}:jwt:deny:{jti}"


def _generation_key(settings: Settings, user_id: uuid.UUID) -> str:
    return f"{settings.namespace}:jwt:gen:{user_id}"


def _session_key(settings: Settings, session_id: uuid.UUID) -> str:
    return f"{settings.namespace}:jwt:deny-session:{session_id}"


def current_generation(settings: Settings, client: redis.Redis, user_id: uuid.UUID) -> int:
    """The user's token generation; tokens from an older one are revoked."""
    value = client.get(_generation_key(settings, user_id))
    return int(value) if value else 0


def bump_generation(settings: Settings, client: redis.Redis, user_id: uuid.UUID) -> None:
    """Revoke every access token issued to the user so far."""
    client.incr(_generation_key(settings, user_id))


def revoke_access_token(settings: Settings, client: redis.Redis, claims: AccessClaims) -> None:
    """Deny-list one token until it would have expired anyway."""
    ttl = max(1, claims.expires_at - int(time.time()) + LEEWAY_SECONDS)
    client.set(_deny_key(settings, claims.jti), b"1", ex=ttl)


def revoke_sessions(settings: Settings, client: redis.Redis, session_ids: list[uuid.UUID]) -> None:
    """Deny every access token of these sessions (their refresh tokens are revoked in the
    database); the entries outlive the longest-lived access token a session can still hold."""
    ttl = settings.access_token_seconds + LEEWAY_SECONDS
    if session_ids:
        pipe = client.pipeline(transaction=False)
        for session_id in session_ids:
            pipe.set(_session_key(settings, session_id), b"1", ex=max(1, ttl))
        pipe.execute()


def is_revoked(settings: Settings, client: redis.Redis, claims: AccessClaims) -> bool:
    """Whether the token was logged out, its session revoked, or it predates the user's last
    role change, removal or password reset."""
    return revoked_by(claims, client.mget(revocation_keys(settings, claims)))


def revocation_keys(settings: Settings, claims: AccessClaims) -> list[str]:
    """The keys whose values say whether a token is revoked (`revoked_by` reads them)."""
    return [
        _deny_key(settings, claims.jti),
        _generation_key(settings, claims.user_id),
        _session_key(settings, claims.session_id),
    ]


def revoked_by(claims: AccessClaims, values: Any) -> bool:
    """Whether the values of `revocation_keys` revoke the token."""
    denied, generation, session_denied = values
    return (
        denied is not None or session_denied is not None or claims.generation < int(generation or 0)
    )
