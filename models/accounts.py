"""Dashboard accounts: users, refresh tokens, password resets, invites and ingest API keys,
all tenant-scoped."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped

ROLES = ("owner", "admin", "analyst")
_ROLE_CHECK = "role IN ('owner', 'admin', 'analyst')"


def hash_token(token: str) -> str:
    """The stored form of a refresh token, invite token or API key (SHA-256, hex).

    These are 256-bit random values, so a fast hash is as safe as a slow one; a slow hash would
    only hand anyone who sends made-up keys a way to burn the receiver's CPU.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


def _user_fk(column: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", column], ["users.tenant_id", "users.id"], ondelete=ondelete
    )


class _Account(TenantScoped, Base):
    """Server defaults (ids, timestamps) come back with RETURNING, so rows stay readable after
    the transaction that inserted them."""

    __abstract__ = True
    __mapper_args__ = {"eager_defaults": True}


class User(_Account):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _uuid_pk()
    # Stored lower-cased; unique across tenants too (checked under a lock, see accounts.py).
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    last_login_at: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "tenant_id", "email", unique=True),
        Index("ix_users_email", "email"),
        CheckConstraint(_ROLE_CHECK, name="role"),
    )


class RefreshToken(_Account):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # The token that replaced this one on refresh; reuse of a replaced token revokes the family.
    replaced_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The session (one login's chain of rotated tokens): its id is the access tokens' `sid`,
    # and no token of the chain outlives session_expires_at, however often it is refreshed.
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    session_started_at: Mapped[datetime]
    session_expires_at: Mapped[datetime]
    user_agent: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        _user_fk("user_id", ondelete="CASCADE"),
        Index(None, "tenant_id", "token_hash", unique=True),
        Index(None, "tenant_id", "user_id"),
        Index(None, "tenant_id", "session_id"),
    )


class PasswordReset(_Account):
    """A one-time password reset an owner hands to a user; only the token's hash is stored."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (
        _user_fk("user_id", ondelete="CASCADE"),
        _user_fk("created_by", ondelete="CASCADE"),
        Index(None, "tenant_id", "token_hash", unique=True),
        Index(None, "tenant_id", "user_id"),
    )


class Invite(_Account):
    __tablename__ = "invites"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    invited_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        _user_fk("invited_by", ondelete="CASCADE"),
        Index(None, "tenant_id", "token_hash", unique=True),
        CheckConstraint(_ROLE_CHECK, name="role"),
    )


class ApiKey(_Account):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, so a user can tell keys apart; never enough to use.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    # None once its creator was removed: the key belongs to the tenant and keeps working (the
    # database sets only this column to NULL, migration 0010).
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        _user_fk("created_by", ondelete="SET NULL"),
        # The receiver finds a key by its hash alone, before it knows the tenant.
        Index("ix_api_keys_key_hash", "key_hash"),
    )
