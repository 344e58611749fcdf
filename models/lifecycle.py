"""What the data-lifecycle jobs leave behind: compliance actions taken and customer exports."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped
from models.entities import Cart, Checkout
from models.events import WebhookEvent


class LifecycleAction(Base):
    """One action taken on a lifecycle or compliance webhook: what, when, for which request.

    Holds ids and counts only, never the data it erased. There is deliberately no foreign key to
    tenants: the record of a shop/redact has to outlive the tenant it erased.
    """

    __tablename__ = "lifecycle_actions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    # redact_customer | export_customer | erase_shop | uninstall
    action: Mapped[str] = mapped_column(String(32))
    # done | rejected (the body names another shop, or nothing to act on)
    outcome: Mapped[str] = mapped_column(String(16))
    shop_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime | None]
    performed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index(None, "tenant_id", "performed_at"),)


class CustomerExport(TenantScoped, Base):
    """The answer to a customers/data_request: everything held about one customer, as JSON."""

    __tablename__ = "customer_exports"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    webhook_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    data: Mapped[dict] = mapped_column(JSONB)

    __table_args__ = (
        Index(None, "tenant_id", "webhook_id", unique=True),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "created_at"),
    )


# Partial indexes for the periodic jobs, on tables defined elsewhere: each job scans only the
# rows it may act on, however large the table grows.
SWEEP_INDEXES = (
    Index(
        "ix_checkouts_open_activity",
        Checkout.tenant_id,
        func.coalesce(Checkout.updated_at, Checkout.created_at, Checkout.ingested_at),
        postgresql_where=Checkout.status == "open",
    ),
    Index(
        "ix_carts_open_activity",
        Cart.tenant_id,
        func.coalesce(Cart.updated_at, Cart.created_at, Cart.ingested_at),
        postgresql_where=Cart.status == "open",
    ),
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
