"""Sessions and their refresh tokens: stored hashed, rotated on every use, revocable.

A token reads `<tenant id>.<secret>`: the tenant part lets the API open a tenant-scoped
transaction before it knows who is calling; only the secret's hash is stored. A session is one
login's chain of rotated tokens. It ends `session_max_seconds` after the login however often it
is refreshed, so a leaked or forgotten session cannot be kept alive forever.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dashboard_api.errors import NotFound
from models.accounts import RefreshToken, hash_token

USER_AGENT_LENGTH = 255


class Refresh(Enum):
    ROTATED = "rotated"
    INVALID = "invalid"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class Issued:
    """A new refresh token (shown once), its session and when the token expires."""

    token: str
    session_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshResult:
    outcome: Refresh
    user_id: uuid.UUID | None = None
    issued: Issued | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session as its user sees it."""

    id: uuid.UUID
    started_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None


def tenant_of(token: str) -> uuid.UUID | None:
    """The tenant a refresh token (or invite token) names, or None if it is malformed."""
    head, sep, secret = token.partition(".")
    if not sep or not secret:
        return None
    try:
        return uuid.UUID(head)
    except ValueError:
        return None


def start_session(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    ttl_seconds: int,
    max_seconds: int,
    user_agent: str | None = None,
) -> Issued:
    """A new session and its first refresh token (the plain token is returned, never stored)."""
    now = datetime.now(UTC)
    row = RefreshToken(
        tenant_id=tenant_id,
        user_id=user_id,
        session_id=uuid.uuid4(),
        session_started_at=now,
        session_expires_at=now + timedelta(seconds=max_seconds),
        user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None,
    )
    return _store(session, row, ttl_seconds=ttl_seconds)


def _store(session: Session, row: RefreshToken, *, ttl_seconds: int) -> Issued:
    token = f"{row.tenant_id}.{secrets.token_urlsafe(32)}"
    row.token_hash = hash_token(token)
    # Rotation slides the token's expiry, never the session's.
    idle_end = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    row.expires_at = min(idle_end, row.session_expires_at)
    session.add(row)
    session.flush()
    return Issued(token, row.session_id, row.expires_at)


def rotate_refresh_token(
    session: Session, *, tenant_id: uuid.UUID, token: str, ttl_seconds: int
) -> RefreshResult:
    """Swap a valid token for a new one of the same session. Presenting an already rotated
    token revokes every token of that user: one of the two holders is not the user (OAuth 2.0
    BCP, 4.14.2)."""
    row = session.scalar(
        select(RefreshToken)
        .where(RefreshToken.tenant_id == tenant_id, RefreshToken.token_hash == hash_token(token))
        .with_for_update()
    )
    now = datetime.now(UTC)
    if row is None or row.expires_at <= now or row.session_expires_at <= now:
        return RefreshResult(Refresh.INVALID)
    if row.revoked_at is not None:
        if row.replaced_by is not None:
            revoke_user_tokens(session, tenant_id=tenant_id, user_id=row.user_id)
            return RefreshResult(Refresh.REUSED, row.user_id)
        return RefreshResult(Refresh.INVALID)
    successor = RefreshToken(
        tenant_id=tenant_id,
        user_id=row.user_id,
        session_id=row.session_id,
        session_started_at=row.session_started_at,
        session_expires_at=row.session_expires_at,
        user_agent=row.user_agent,
    )
    issued = _store(session, successor, ttl_seconds=ttl_seconds)
    row.revoked_at = now
    row.replaced_by = successor.id
    session.flush()
    return RefreshResult(Refresh.ROTATED, row.user_id, issued)


def session_of(session: Session, *, tenant_id: uuid.UUID, token: str) -> uuid.UUID | None:
    """The session a refresh token belongs to (live or not), or None for an unknown token."""
    return session.scalar(
        select(RefreshToken.session_id).where(
            RefreshToken.tenant_id == tenant_id, RefreshToken.token_hash == hash_token(token)
        )
    )


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


def list_sessions(
    session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> list[SessionInfo]:
    """The user's live sessions, most recently used first (one live token per session)."""
    now = datetime.now(UTC)
    rows = session.scalars(
        select(RefreshToken)
        .where(
            RefreshToken.tenant_id == tenant_id,
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .order_by(RefreshToken.created_at.desc())
    )
    return [
        SessionInfo(r.session_id, r.session_started_at, r.created_at, r.expires_at, r.user_agent)
        for r in rows
    ]


def revoke_sessions(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    only: uuid.UUID | None = None,
    keep: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Revoke the user's live sessions (`only` one, or all but `keep`); returns their ids, whose
    access tokens the caller must deny too. NotFound when `only` is not a live session."""
    live = [s.id for s in list_sessions(session, tenant_id=tenant_id, user_id=user_id)]
    if only is not None and only not in live:
        raise NotFound("No such session.")
    chosen = [s for s in live if (only is None or s == only) and s != keep]
    if chosen:
        session.execute(
            update(RefreshToken)
            .where(
                RefreshToken.tenant_id == tenant_id,
                RefreshToken.user_id == user_id,
                RefreshToken.session_id.in_(chosen),
                RefreshToken.revoked_at.is_(None),
            )
            .values(revoked_at=datetime.now(UTC))
        )
    return chosen
