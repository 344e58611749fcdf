"""Customers, keyed by (tenant_id, Shopify id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped, Versioned


class Customer(TenantScoped, Versioned, Base):
    __tablename__ = "customers"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "email"),)
