"""Personal fields leave the entity tables' stored payloads after the tenant's PII window.

Each entity row keeps the raw object its last version came in (`payload`), and for customers,
orders, checkouts, carts, refunds, transactions, fulfillments and order edits that object names
people: emails, phones, names, addresses, notes, browser details. Nothing reads those payloads
back (the API serves the typed columns; the write path replaces the payload whole), so once the
version is older than `pii_retention_days` its payload is cut the way customers/redact cuts it
(workers.compliance.redaction): personal keys set to null, customer objects reduced to their
facts; ids, amounts, dates, statuses and line items stay. The typed columns are the shop's
current data and stay; customers/redact and shop/redact erase those.

`payload_redacted_at` marks the cut. A newer version (a later `ingested_at`) brings a whole
payload again, which becomes due in its turn; the partial index of migration 0011 holds exactly
the rows not cut yet, so the purge never walks what it already did.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, bindparam, cast, literal_column, or_, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from models import (
    Cart,
    Checkout,
    Customer,
    Fulfillment,
    Order,
    OrderEdit,
    OrderTransaction,
    Refund,
    Tenant,
)
from models.base import Base, table_of
from workers.batches import BatchResult, claim_rows, tenant_group
from workers.compliance.redaction import customer_facts, redact_payload
from workers.retention.claims import by_ctids, claimed_ctids, expired, result, windows

# A JSON null payload is stored as SQL NULL (plain JSONB would write a JSON null back).
_PAYLOAD = JSONB(none_as_null=True)

# A customer payload is itself a customer object; the others hold people inside them.
SCRUBS: tuple[tuple[type[Base], Callable[[Any], Any]], ...] = (
    (Customer, customer_facts),
    (Order, redact_payload),
    (OrderEdit, redact_payload),
    (Refund, redact_payload),
    (OrderTransaction, redact_payload),
    (Fulfillment, redact_payload),
    (Checkout, redact_payload),
    (Cart, redact_payload),
)


def unredacted(table: Table) -> tuple[Any, ...]:
    """SQL: the row's payload is whole (the predicate of its partial index, migration 0011)."""
    redacted_at = table.c.payload_redacted_at
    return (
        table.c.payload.is_not(None),
        or_(redacted_at.is_(None), redacted_at < table.c.ingested_at),
    )


def redact_personal_data(
    session: Session,
    *,
    now: datetime,
    after: uuid.UUID | None = None,
    tenants: int = 100,
    per_tenant: int = 1000,
) -> BatchResult:
    """Cut personal fields from payloads of versions older than the tenant's PII window."""
    group = tenant_group(session, after=after, size=tenants, active_only=False)
    if not group:
        return BatchResult()
    t = windows(group, Tenant.pii_retention_days)
    counts: Counter[uuid.UUID] = Counter()
    full = False
    for model, scrub in SCRUBS:
        table = table_of(model)
        claim = expired(table, t, at=table.c.ingested_at, now=now, where=unredacted(table))
        done = _redact(session, table, claim_rows(table, t, claim, per_tenant), scrub, now)
        full = full or any(n >= per_tenant for n in done.values())
        counts.update(done)
    batch = result(group, tenants, per_tenant, dict(counts))
    batch.full = full  # a tenant filled its quota of one table, not of the sum
    return batch


def _redact(
    session: Session, table: Table, claim: Any, scrub: Callable[[Any], Any], now: datetime
) -> Counter[uuid.UUID]:
    """Rewrite the claimed rows' payloads without their personal fields; rows per tenant."""
    ctids = claimed_ctids(session, claim)
    if not ctids:
        return Counter()
    ctid: Any = literal_column(f"{table.name}.ctid")
    rows = session.execute(
        select(cast(ctid, Text).label("ctid"), table.c.tenant_id, table.c.payload).where(
            by_ctids(table, ctids)
        )
    ).all()
    params = [{"c": r.ctid, "p": scrub(r.payload), "now": now} for r in rows]
    session.connection().execute(
        update(table)
        .where(text(f"{table.name}.ctid = CAST(:c AS tid)"))
        .values(payload=bindparam("p", type_=_PAYLOAD), payload_redacted_at=bindparam("now")),
        params,
    )
    return Counter(r.tenant_id for r in rows)
