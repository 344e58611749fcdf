"""Refresh tokens: stored hashed, rotated on every use, revocable.

A token reads `<tenant id>.<secret>`: the tenant part lets the API open a tenant-scoped
transaction before it knows who is calling; only the secret's hash is stored.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.accounts import RefreshToken, hash_token


class Refresh(Enum):
    ROTATED = "rotated"
    INVALID = "invalid"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class RefreshResult:
    outcome: Refresh
    user_id: uuid.UUID | None = None
    token: str | None = None


def tenant_of(token: str) -> uuid.UUID | None:
    """The tenant a refresh token (or invite token) names, or None if it is malformed."""
    head, sep, secret = token.partition(".")
    if not sep or not secret:
        return None
    try:
        return uuid.UUID(head)
    except ValueError:
        return None


def issue_refresh_token(
    session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID, ttl_seconds: int
) -> str:
    """A new refresh token for the user (the plain token is returned, never stored)."""
    token, _ = _store(session, tenant_id=tenant_id, user_id=user_id, ttl_seconds=ttl_seconds)
    return token


def _store(
    session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID, ttl_seconds: int
) -> tuple[str, RefreshToken]:
    token = f"{tenant_id}.{secrets.token_urlsafe(32)}"
    row = RefreshToken(
        tenant_id=tenant_id,
        user_id=user_id,
        token_hash=hash_token(token),
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    session.flush()
    return token, row


def rotate_refresh_token(
    session: Session, *, tenant_id: uuid.UUID, token: str, ttl_seconds: int
) -> RefreshResult:
    """Swap a valid token for a new one. Presenting an already rotated token revokes every
    token of that user: one of the two holders is not the user (OAuth 2.0 BCP, 4.14.2)."""
    row = session.scalar(
        select(RefreshToken)
        .where(RefreshToken.tenant_id == tenant_id, RefreshToken.token_hash == hash_token(token))
        .with_for_update()
    )
    now = datetime.now(UTC)
    if row is None or row.expires_at <= now:
        return RefreshResult(Refresh.INVALID)
    if row.revoked_at is not None:
        if row.replaced_by is not None:
            revoke_user_tokens(session, tenant_id=tenant_id, user_id=row.user_id)
            return RefreshResult(Refresh.REUSED, row.user_id)
        return RefreshResult(Refresh.INVALID)
    new_token, new_row = _store(
        session, tenant_id=tenant_id, user_id=row.user_id, ttl_seconds=ttl_seconds
    )
    row.revoked_at = now
    row.replaced_by = new_row.id
    session.flush()
    return RefreshResult(Refresh.ROTATED, row.user_id, new_token)


def revoke_refresh_token(session: Session, *, tenant_id: uuid.UUID, token: str) -> bool:
    """Revoke one token; False when there was no live token to revoke."""
    result = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.tenant_id == tenant_id,
            RefreshToken.token_hash == hash_token(token),
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_tokens(session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Revoke every live refresh token of a user; returns how many."""
    result = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.tenant_id == tenant_id,
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
