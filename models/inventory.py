"""Inventory items (unit costs), the costs they have had, and inventory levels per location."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, TenantScoped, Versioned


class InventoryItem(TenantScoped, Versioned, Base):
    """What a variant stocks; `cost` is the unit cost in shop money (None: not recorded)."""

    __tablename__ = "inventory_items"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    tracked: Mapped[bool | None]
    requires_shipping: Mapped[bool | None]
    country_code_of_origin: Mapped[str | None] = mapped_column(String(8))
    harmonized_system_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None]


class InventoryItemCost(TenantScoped, Versioned, Base):
    """Each unit cost an item has had, from the version that recorded it (`recorded_at`): a
    sale is costed at the cost recorded when it was sold (docs/metrics.md)."""

    __tablename__ = "inventory_item_costs"

    inventory_item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(primary_key=True)
    cost: Mapped[Decimal | None] = mapped_column(Money)


class InventoryLevel(TenantScoped, Versioned, Base):
    """Units available of one item at one location (None: the item is not tracked)."""

    __tablename__ = "inventory_levels"

    inventory_item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    available: Mapped[int | None]
