"""What acting on compliance and app webhooks leaves behind: the actions taken, customer exports."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped


class ComplianceAction(Base):
    """One action taken on a compliance or app/uninstalled webhook: what, when, for which request.

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


class ComplianceHold(TenantScoped, Base):
    """A shop/redact or customers/redact request waiting for the owner's word.

    A signature proves only that the sender knows the webhook secret, so an erasure waits for
    the owner (or an operator) to confirm it; `deadline_at` is when Shopify expects it done.
    """

    __tablename__ = "compliance_holds"

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    held_at: Mapped[datetime] = mapped_column(server_default=func.now())
    deadline_at: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(String(16))  # confirmed | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
