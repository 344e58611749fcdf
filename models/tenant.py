"""Tenants: one row per Shopify shop."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import LargeBinary, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )
    # Unique among verified tenants only: unverified claims of one shop may coexist.
    shop_domain: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # Fernet ciphertexts (core.crypto); never stored in clear.
    webhook_secret: Mapped[bytes] = mapped_column(LargeBinary)
    previous_webhook_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    checkout_abandon_minutes: Mapped[int] = mapped_column(server_default="60")
    raw_retention_days: Mapped[int] = mapped_column(server_default="30")
    dead_letter_retention_days: Mapped[int] = mapped_column(server_default="30")
    pii_retention_days: Mapped[int] = mapped_column(server_default="90")
    # Set once the owner proved control of the shop (docs/api.md#shop-verification); until
    # then the tenant receives no webhooks and runs no sync jobs.
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
