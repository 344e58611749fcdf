"""The rollup rows of a shop as they are, and as a rebuild from its rows gives them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.settings import Settings
from models.db import get_engine
from writes.rollup_days import rebuild

Rows = dict[str, list[tuple[Any, ...]]]


def rollup_rows(session: Session, tenant_id: uuid.UUID) -> Rows:
    """Every rollup row of the tenant, in key order."""
    out = {}
    for table in ("sales_daily", "product_sales_daily"):
        rows = session.execute(
            text(f"SELECT * FROM {table} WHERE tenant_id = :t ORDER BY 1, 2, 3, 4, 5, 6"),
            {"t": tenant_id},
        )
        out[table] = [tuple(r) for r in rows]
    return out


def kept_and_rebuilt(settings: Settings, tenant_id: uuid.UUID) -> tuple[Rows, Rows]:
    """(the rollup rows as the writes left them, as a rebuild from the rows gives them); the
    rebuild is rolled back."""
    with get_engine(settings.database_url).connect() as conn:
        transaction = conn.begin()
        session = Session(bind=conn)
        kept = rollup_rows(session, tenant_id)
        rebuild(session, tenant_id)
        fresh = rollup_rows(session, tenant_id)
        transaction.rollback()
    return kept, fresh
