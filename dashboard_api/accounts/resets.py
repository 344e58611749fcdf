"""One-time password resets: an owner creates one for a user and hands the token over.

The token reads `<tenant id>.<secret>` like an invite's; only its hash is stored, it expires
after `password_reset_seconds`, works once, and a newer reset for the same user replaces it.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dashboard_api.errors import Unauthorized
from models.accounts import PasswordReset, User, hash_token

INVALID = "The reset token is invalid, expired or already used."


def create_reset(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    created_by: uuid.UUID,
    ttl_seconds: int,
) -> tuple[PasswordReset, str]:
    """A new reset for the user and its token (shown once); older unused resets stop working."""
    session.execute(
        delete(PasswordReset).where(
            PasswordReset.tenant_id == tenant_id,
            PasswordReset.user_id == user_id,
            PasswordReset.used_at.is_(None),
        )
    )
    token = f"{tenant_id}.{secrets.token_urlsafe(32)}"
    reset = PasswordReset(
        tenant_id=tenant_id,
        user_id=user_id,
        token_hash=hash_token(token),
        created_by=created_by,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
    )
    session.add(reset)
    session.flush()
    return reset, token


def redeem_reset(session: Session, *, tenant_id: uuid.UUID, token: str) -> User:
    """Use up the reset this token names and return its user (locked for the password change);
    Unauthorized when the token is unknown, used or expired."""
    reset = session.scalar(
        select(PasswordReset)
        .where(PasswordReset.tenant_id == tenant_id, PasswordReset.token_hash == hash_token(token))
        .with_for_update()
    )
    now = datetime.now(UTC)
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise Unauthorized(INVALID, code="invalid_reset_token")
    user = session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.id == reset.user_id).with_for_update()
    )
    if user is None:  # the cascade removes resets with their user; kept for the type
        raise Unauthorized(INVALID, code="invalid_reset_token")
    reset.used_at = now
    session.flush()
    return user
