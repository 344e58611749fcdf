"""Pulling from the Admin API: shop credentials, backfill runs and checkpoints, reconcile runs,
and the per-resource watermark both advance."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped


class ShopCredential(TenantScoped, Base):
    """A shop's Admin API access token (Fernet ciphertext, never returned by any API)."""

    __tablename__ = "shop_credentials"

    access_token: Mapped[bytes] = mapped_column(LargeBinary)
    api_version: Mapped[str] = mapped_column(String(16))
    # Where the Admin API answers; empty means https://<shop domain> (set for the fake).
    admin_url: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class BackfillRun(TenantScoped, Base):
    """One `cartwheel backfill` (or dashboard-triggered backfill) of some resources."""

    __tablename__ = "backfill_runs"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    resources: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    since: Mapped[datetime | None]
    # queued | running | completed | failed | superseded
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    error: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "created_at"),)


class BackfillCheckpoint(TenantScoped, Base):
    """How far one resource of a backfill got; committed with the rows it counts."""

    __tablename__ = "backfill_checkpoints"

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    # pending | bulk_running | applying | completed | failed
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    bulk_operation_id: Mapped[str | None] = mapped_column(String(128))
    bulk_created_at: Mapped[datetime | None]
    object_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    root_object_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    bucket_count: Mapped[int | None]
    buckets_done: Mapped[int] = mapped_column(server_default="0")
    lines_done: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_seen: Mapped[int] = mapped_column(BigInteger, server_default="0")
    rows_written: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["backfill_runs.tenant_id", "backfill_runs.id"],
            ondelete="CASCADE",
        ),
    )


class ReconcileRun(TenantScoped, Base):
    """One incremental pull for a tenant, and the drift it found."""

    __tablename__ = "reconcile_runs"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    # running | waiting (rescheduled for the rate limit) | completed | failed
    status: Mapped[str] = mapped_column(String(16), server_default="running")
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
    # Per resource: since, cursor, pull start, done, and seen/missing/stale/written counts.
    progress: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    seen: Mapped[int] = mapped_column(BigInteger, server_default="0")
    missing: Mapped[int] = mapped_column(BigInteger, server_default="0")
    stale: Mapped[int] = mapped_column(BigInteger, server_default="0")
    written: Mapped[int] = mapped_column(BigInteger, server_default="0")
    requests: Mapped[int] = mapped_column(server_default="0")
    throttled: Mapped[int] = mapped_column(server_default="0")
    waited_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "tenant_id", "started_at"),)


class SyncWatermark(TenantScoped, Base):
    """Everything of a resource updated before `updated_since` has been pulled at least once."""

    __tablename__ = "sync_watermarks"

    resource: Mapped[str] = mapped_column(String(32), primary_key=True)
    updated_since: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))  # backfill | reconcile
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
