"""Declarative base with a constraint naming convention Alembic can rely on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, ForeignKey, MetaData, Numeric, Table, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Shopify money: exact, four decimals (some currencies and unit costs need more than two).
Money = Numeric(20, 4)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSONB}


class TenantScoped:
    """Columns every tenant table starts with: the tenant leads every key."""

    @declared_attr
    @classmethod
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(
            UUID(as_uuid=True),
            ForeignKey("tenants.id", ondelete="CASCADE"),
            primary_key=True,
            # Lead every primary key and the column list (docs/architecture.md, "Data model").
            sort_order=-10,
        )


class Versioned:
    """Last-writer-wins bookkeeping shared by every entity table.

    `updated_at` is Shopify's; `triggered_at` (X-Shopify-Triggered-At) breaks ties. `deleted_at`
    is a tombstone: once set it is never cleared, so a late update cannot resurrect the row.
    """

    updated_at: Mapped[datetime | None]
    triggered_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    webhook_id: Mapped[str | None]
    payload: Mapped[dict | None]
    ingested_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # When retention last stripped personal fields from `payload`; a later write (a newer
    # `ingested_at`) brings a whole payload again, due for retention in its turn.
    payload_redacted_at: Mapped[datetime | None]


def table_of(model: type[Base]) -> Table:
    """The Core table behind a mapped class (typed, for insert/update statements)."""
    return cast(Table, model.__table__)
