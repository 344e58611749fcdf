"""Write rows pulled from the Admin API through the webhooks' last-writer-wins path.

Pulled rows carry Shopify's `updated_at` but no X-Shopify-Triggered-At, so on an equal
`updated_at` the webhook's version wins (its triggered_at beats the pulled row's none); a
backfill racing live webhooks can therefore never overwrite newer data. Functions take a
Session and never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session

from cartwheel.streams import Envelope
from models import Checkout, Customer, Order, OrderLineItem, Product, ProductVariant
from models.base import table_of
from workers.apply import (
    link_checkouts_and_carts,
    replace_children,
    upsert_latest,
)
from workers.graphql_mapping import Record
from workers.parse import Change


@dataclass(frozen=True)
class Target:
    table: Table
    key: str
    child: Table | None = None
    parent_col: str = ""


TARGETS = {
    "orders": Target(table_of(Order), "shopify_id", table_of(OrderLineItem), "order_id"),
    "customers": Target(table_of(Customer), "shopify_id"),
    "products": Target(table_of(Product), "shopify_id", table_of(ProductVariant), "product_id"),
    "checkouts": Target(table_of(Checkout), "token"),
}


@dataclass
class WriteOutcome:
    """What a batch of pulled rows found: seen, missing here, stale here, actually written."""

    seen: int = 0
    missing: int = 0
    stale: int = 0
    written: int = 0

    def add(self, other: WriteOutcome) -> None:
        self.seen += other.seen
        self.missing += other.missing
        self.stale += other.stale
        self.written += other.written

    def as_dict(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "missing": self.missing,
            "stale": self.stale,
            "written": self.written,
        }


def _newest(records: list[Record]) -> list[Record]:
    floor = datetime.min.replace(tzinfo=UTC)
    best: dict[Any, Record] = {}
    for r in records:
        current = best.get(r.key)
        if current is None or (r.values.get("updated_at") or floor) > (
            current.values.get("updated_at") or floor
        ):
            best[r.key] = r
    return list(best.values())


def write_records(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    resource: str,
    records: list[Record],
    marker: str,
) -> WriteOutcome:
    """Upsert pulled records where they are newer; count what was missing or stale."""
    if not records:
        return WriteOutcome()
    target = TARGETS[resource]
    latest = _newest(records)
    stored = _stored_versions(session, target, tenant_id, [r.key for r in latest])
    outcome = WriteOutcome(seen=len(latest))
    for r in latest:
        if r.key not in stored:
            outcome.missing += 1
        elif _older(stored[r.key], r.values.get("updated_at")):
            outcome.stale += 1
    rows = [
        {
            "tenant_id": tenant_id,
            target.key: r.key,
            **r.values,
            "triggered_at": None,
            "webhook_id": marker,
            "payload": r.payload,
        }
        for r in latest
    ]
    sticky = ("completed_at",) if resource == "checkouts" else ()
    won = upsert_latest(session, target.table, ("tenant_id", target.key), rows, sticky=sticky)
    outcome.written = len(won)
    if target.child is not None:
        children = [
            {"tenant_id": tenant_id, target.parent_col: r.key, **child}
            for r in latest
            if (tenant_id, r.key) in won
            for child in r.children
        ]
        columns = (
            [c for c in children[0] if c not in ("tenant_id", "shopify_id", target.parent_col)]
            if children
            else []
        )
        replace_children(session, target.child, target.parent_col, won, children, columns)
    _ensure_customers(session, tenant_id, latest)
    if resource in ("orders", "checkouts"):
        link_checkouts_and_carts(session, _link_changes(tenant_id, resource, latest, marker))
    return outcome


def _stored_versions(
    session: Session, target: Target, tenant_id: uuid.UUID, keys: list[Any]
) -> dict[Any, datetime | None]:
    table = target.table
    rows = session.execute(
        select(table.c[target.key], table.c.updated_at).where(
            table.c.tenant_id == tenant_id, table.c[target.key] == any_(_array(table, target, keys))
        )
    )
    return {k: u for k, u in rows}


def _array(table: Table, target: Target, keys: list[Any]) -> Any:
    """Keys as one array parameter: `= ANY(:keys)` is an index scan whatever the batch size,
    where a row-value IN list of a thousand tuples is planned far worse."""
    return bindparam(None, keys, type_=ARRAY(table.c[target.key].type))


def _older(stored: datetime | None, incoming: datetime | None) -> bool:
    return incoming is not None and (stored is None or stored < incoming)


def _ensure_customers(session: Session, tenant_id: uuid.UUID, records: list[Record]) -> None:
    """As on the webhook path: an order's customer exists before its own row arrives."""
    seen = {r.customer["shopify_id"]: r.customer for r in records if r.customer}
    if seen:
        table = table_of(Customer)
        # RETURNING makes SQLAlchemy batch the rows into multi-row INSERTs.
        stmt = insert(table).on_conflict_do_nothing().returning(table.c.shopify_id)
        session.execute(stmt, [{"tenant_id": tenant_id, **c} for c in seen.values()])


def _link_changes(
    tenant_id: uuid.UUID, resource: str, records: list[Record], marker: str
) -> list[Change]:
    now = datetime.now(UTC)
    envelope = Envelope(str(tenant_id), f"{resource}/pull", marker, "", "", "", "", b"")
    return [
        Change(
            tenant_id=tenant_id,
            envelope=envelope,
            payload={},
            resource=resource,
            delete=False,
            values={"token": r.key} | r.values if resource == "checkouts" else r.values,
            triggered_at=None,
            received_at=now,
        )
        for r in records
    ]
