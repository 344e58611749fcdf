"""The rollup rows of a shop as they are, and as a rebuild from its rows gives them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.settings import Settings
from models import ProductSalesDaily, SalesDaily
from models.db import get_engine
from writes.rollup_days import columns_of, rebuild

Rows = dict[str, list[tuple[Any, ...]]]


def rollup_rows(session: Session, tenant_id: uuid.UUID) -> Rows:
    """Every rollup row of the tenant, in key order: its key and sums. A row whose sums are
    all zero counts as none (the write path leaves such rows of the product rollup)."""
    out = {}
    for model in (SalesDaily, ProductSalesDaily):
        keys, sums = columns_of(model)
        names = ", ".join(["tenant_id", *keys, *sums])
        nonzero = " OR ".join(f"{c} <> 0" for c in sums)
        rows = session.execute(
            text(
                f"SELECT {names} FROM {model.__tablename__} WHERE tenant_id = :t "
                f"AND ({nonzero}) ORDER BY {', '.join(keys)}"
            ),
            {"t": tenant_id},
        )
        out[model.__tablename__] = [tuple(r) for r in rows]
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
