"""Ingest API keys: created with the key shown once, stored as a hash, listed, revoked."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dashboard_api.errors import NotFound
from models.accounts import ApiKey, hash_token

KEY_PREFIX = "cwk_"
SHOWN_PREFIX = 12  # characters of the key kept in clear so users can tell keys apart


def keys_of(tenant_id: uuid.UUID) -> Select[ApiKey]:
    return select(ApiKey).where(ApiKey.tenant_id == tenant_id)


def create_api_key(
    session: Session, *, tenant_id: uuid.UUID, created_by: uuid.UUID, name: str
) -> tuple[ApiKey, str]:
    """A new key for the tenant; returns the row and the key, which is not stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        tenant_id=tenant_id,
        name=name,
        prefix=key[:SHOWN_PREFIX],
        key_hash=hash_token(key),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return row, key


def list_api_keys(session: Session, *, tenant_id: uuid.UUID) -> list[ApiKey]:
    """The tenant's keys, revoked ones included, newest first."""
    return list(session.scalars(keys_of(tenant_id).order_by(ApiKey.created_at.desc())))


def revoke_api_key(session: Session, *, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key (again is fine); NotFound for another tenant's id."""
    row = session.scalar(keys_of(tenant_id).where(ApiKey.id == key_id).with_for_update())
    if row is None:
        raise NotFound("No such API key.")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.flush()
    return row
