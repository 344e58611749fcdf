"""The raw event log (one row per delivery) and dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, Index, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped


class WebhookEvent(TenantScoped, Base):
    __tablename__ = "webhook_events"

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(64))
    triggered_at: Mapped[datetime | None]
    api_version: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # applied: changed the tables; stale: older than the stored version; recorded: logged only
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(server_default="1")
    error: Mapped[str | None] = mapped_column(Text)
    stream_entry_id: Mapped[str | None] = mapped_column(String(64))
    # Purged after the tenant's retention period; the metadata above stays.
    payload: Mapped[dict | None]

    __table_args__ = (
        Index(None, "tenant_id", "received_at"),
        Index(None, "tenant_id", "topic", "received_at"),
    )


class DeadLetter(TenantScoped, Base):
    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(64))
    triggered_at: Mapped[str | None] = mapped_column(String(64))
    api_version: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int]
    stream_entry_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    replayed_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "created_at"),)


# Partial indexes of the periodic jobs: retention walks the payloads still kept, the compliance
# job the deliveries recorded and not yet acted on.
JOB_INDEXES = (
    Index(
        "ix_webhook_events_payload_kept",
        WebhookEvent.tenant_id,
        WebhookEvent.received_at,
        postgresql_where=WebhookEvent.payload.is_not(None),
    ),
    Index(
        "ix_webhook_events_recorded",
        WebhookEvent.received_at,
        postgresql_where=WebhookEvent.status == "recorded",
    ),
)
