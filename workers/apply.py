"""Apply parsed changes to the entity tables: batched, last-writer-wins, tombstoned deletes.

Every function takes a Session and never commits; the drain owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Table,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import (
    Cart,
    Checkout,
    CheckoutTombstone,
    Customer,
    Order,
    OrderLineItem,
    Product,
    ProductVariant,
)
from models.base import table_of
from workers.parse import Change, newest_per_key

Key = tuple[uuid.UUID, Any]
_FLOOR = datetime.min.replace(tzinfo=UTC)

_CUSTOMER_COLS = ("email", "first_name", "last_name", "phone", "state", "currency", "created_at")
_PRODUCT_COLS = ("title", "handle", "vendor", "product_type", "status", "price", "created_at",
                 "published_at")  # fmt: skip
_ORDER_COLS = (
    "name", "order_number", "email", "customer_id", "financial_status", "fulfillment_status",
    "currency", "total_price", "subtotal_price", "total_tax", "total_discounts",
    "current_total_price", "total_refunded", "cancel_reason", "cart_token", "checkout_token",
    "checkout_id", "source_name", "test", "created_at", "processed_at", "cancelled_at", "closed_at",
)  # fmt: skip
_CART_COLS = ("item_count", "total_price", "created_at")
_CHECKOUT_COLS = ("shopify_id", "cart_token", "email", "customer_id", "currency", "total_price",
                  "subtotal_price", "created_at")  # fmt: skip
VARIANT_COLUMNS = (
    "title",
    "sku",
    "price",
    "compare_at_price",
    "inventory_quantity",
    "updated_at",
)
LINE_COLUMNS = (
    "product_id",
    "variant_id",
    "sku",
    "title",
    "quantity",
    "current_quantity",
    "price",
)
_VERSION_COLS = ("updated_at", "triggered_at", "webhook_id", "payload")


def _row(change: Change, columns: Iterable[str], key: dict[str, Any]) -> dict[str, Any]:
    values = change.values
    row = {"tenant_id": change.tenant_id, **key}
    row.update({c: values.get(c) for c in columns})
    row.update(
        updated_at=values.get("updated_at"),
        triggered_at=change.triggered_at,
        webhook_id=change.envelope.webhook_id,
        payload=change.raw_payload,
    )
    return row


def _newer_than_stored(table: Table) -> Any:
    """SQL: the incoming (updated_at, triggered_at) is strictly newer than the stored one."""
    floor = literal("-infinity").cast(table.c.updated_at.type)

    def version(source: Any) -> Any:
        return tuple_(
            func.coalesce(source.updated_at, floor), func.coalesce(source.triggered_at, floor)
        )

    return version(insert(table).excluded) > version(table.c)


def upsert_latest(
    session: Session,
    table: Table,
    key_cols: Sequence[str],
    rows: list[dict[str, Any]],
    *,
    sticky: Sequence[str] = (),
) -> set[Key]:
    """Insert or update rows where the incoming version is newer; returns the keys written.

    `sticky` columns are facts that only ever become known (a completion time): a newer
    version that lacks them keeps the stored value.
    """
    if not rows:
        return set()
    base = insert(table)
    data_cols = [c for c in rows[0] if c not in key_cols]
    values: dict[str, Any] = {c: base.excluded[c] for c in data_cols}
    for c in sticky:
        values[c] = func.coalesce(base.excluded[c], table.c[c])
    stmt = base.on_conflict_do_update(
        index_elements=list(key_cols),
        set_=values | {"ingested_at": func.now()},
        where=_newer_than_stored(table),
    ).returning(*(table.c[c] for c in key_cols))
    result = session.execute(stmt, rows)
    return {(r[0], r[1]) for r in result}


def tombstone(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Mark rows deleted (creating them if unknown); the earliest deletion time wins."""
    if not rows:
        return
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "shopify_id"],
        set_={"deleted_at": func.least(table.c.deleted_at, stmt.excluded.deleted_at)},
    )
    session.execute(stmt, rows)


def replace_children(
    session: Session,
    child: Table,
    parent_col: str,
    parents: set[Key],
    rows: list[dict[str, Any]],
    columns: Sequence[str],
) -> None:
    """Children follow the winning parent version: drop the old set, write the new one."""
    if not parents:
        return
    by_tenant: dict[uuid.UUID, list[Any]] = {}
    for tenant_id, parent in parents:
        by_tenant.setdefault(tenant_id, []).append(parent)
    parent_column = child.c[parent_col]
    for tenant_id, ids in by_tenant.items():
        # One array parameter per tenant: `= ANY(:ids)` stays an index scan, where a row-value
        # IN list of a thousand pairs is planned far worse.
        session.execute(
            child.delete().where(
                child.c.tenant_id == tenant_id,
                parent_column == any_(bindparam(None, ids, type_=ARRAY(parent_column.type))),
            )
        )
    if rows:
        # One multi-row upsert may not touch a row twice: keep the last row per key, as
        # row-by-row upserts would have left it.
        unique = {(r["tenant_id"], r["shopify_id"]): r for r in rows}
        stmt = insert(child)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "shopify_id"],
            set_={c: stmt.excluded[c] for c in (parent_col, *columns)},
        )
        # RETURNING makes SQLAlchemy batch an upsert into multi-row INSERTs (insertmanyvalues);
        # without it, it runs one statement, and one round trip, per row.
        session.execute(stmt.returning(child.c.shopify_id), list(unique.values()))


def _deleted_at(change: Change) -> Any:
    return change.triggered_at or change.received_at


def apply_customers(session: Session, changes: list[Change]) -> set[Key]:
    rows = [_row(c, _CUSTOMER_COLS, {"shopify_id": c.values["id"]}) for c in changes]
    return upsert_latest(session, table_of(Customer), ("tenant_id", "shopify_id"), rows)


def apply_products(session: Session, changes: list[Change]) -> set[Key]:
    by_key = {c.key: c for c in changes}
    rows = [_row(c, _PRODUCT_COLS, {"shopify_id": c.values["id"]}) for c in changes]
    won = upsert_latest(session, table_of(Product), ("tenant_id", "shopify_id"), rows)
    variants = [
        {"tenant_id": k[0], "shopify_id": v["id"], "product_id": k[1]}
        | {c: v.get(c) for c in VARIANT_COLUMNS}
        for k in won
        for v in by_key[k].values["variants"]
    ]
    replace_children(
        session, table_of(ProductVariant), "product_id", won, variants, VARIANT_COLUMNS
    )
    return won


def apply_orders(session: Session, changes: list[Change]) -> set[Key]:
    by_key = {c.key: c for c in changes}
    rows = [_row(c, _ORDER_COLS, {"shopify_id": c.values["id"]}) for c in changes]
    won = upsert_latest(session, table_of(Order), ("tenant_id", "shopify_id"), rows)
    lines = [
        {"tenant_id": k[0], "shopify_id": li["id"], "order_id": k[1]}
        | {c: li.get(c) for c in LINE_COLUMNS}
        for k in won
        for li in by_key[k].values["line_items"]
    ]
    replace_children(session, table_of(OrderLineItem), "order_id", won, lines, LINE_COLUMNS)
    _ensure_customers(session, changes)
    return won


def _ensure_customers(session: Session, changes: list[Change]) -> None:
    """An order's embedded customer is a version of that customer too (last writer wins)."""
    best: dict[Key, tuple[tuple[Any, Any], dict[str, Any]]] = {}
    for c in changes:
        embedded = c.values.get("customer")
        if not embedded:
            continue
        row = {
            "tenant_id": c.tenant_id,
            "shopify_id": embedded["id"],
            **{f: embedded.get(f) for f in ("email", "first_name", "last_name", "phone")},
            "updated_at": embedded.get("updated_at"),
            "triggered_at": c.triggered_at,
            "webhook_id": c.envelope.webhook_id,
            "payload": c.payload.get("customer"),
        }
        version = (embedded.get("updated_at") or _FLOOR, c.triggered_at or _FLOOR)
        key = (c.tenant_id, embedded["id"])
        if key not in best or version > best[key][0]:
            best[key] = (version, row)
    rows = [row for _, row in best.values()]
    upsert_latest(session, table_of(Customer), ("tenant_id", "shopify_id"), rows)


def apply_carts(session: Session, changes: list[Change]) -> set[Key]:
    rows = [_row(c, _CART_COLS, {"token": c.values["token"]}) for c in changes]
    return upsert_latest(session, table_of(Cart), ("tenant_id", "token"), rows)


def apply_checkouts(session: Session, changes: list[Change]) -> set[Key]:
    rows = []
    for c in changes:
        row = _row(c, _CHECKOUT_COLS, {"token": c.values["token"]})
        row["shopify_id"] = c.values.get("id")
        row["completed_at"] = c.values.get("completed_at")
        rows.append(row)
    return upsert_latest(
        session, table_of(Checkout), ("tenant_id", "token"), rows, sticky=("completed_at",)
    )


def delete_entities(session: Session, resource: str, changes: list[Change]) -> None:
    """Tombstone deleted customers, products, orders and checkouts."""
    rows = [
        {"tenant_id": c.tenant_id, "shopify_id": c.values["id"], "deleted_at": _deleted_at(c)}
        for c in changes
    ]
    if resource == "checkouts":
        # The delete names the checkout by id; its row is keyed by token and may not exist yet.
        stmt = insert(table_of(CheckoutTombstone))
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "shopify_id"],
            set_={"deleted_at": func.least(stmt.excluded.deleted_at, CheckoutTombstone.deleted_at)},
        )
        session.execute(stmt, rows)
        chk = table_of(Checkout)
        for row in rows:
            session.execute(
                update(chk)
                .where(chk.c.tenant_id == row["tenant_id"], chk.c.shopify_id == row["shopify_id"])
                .values(deleted_at=func.least(chk.c.deleted_at, row["deleted_at"]))
            )
        return
    model = {"customers": Customer, "products": Product, "orders": Order}[resource]
    tombstone(session, table_of(model), rows)


APPLIERS = {
    "customers": apply_customers,
    "products": apply_products,
    "orders": apply_orders,
    "carts": apply_carts,
    "checkouts": apply_checkouts,
}


def apply_changes(session: Session, changes: list[Change]) -> set[str]:
    """Apply entity changes; returns the webhook ids that lost to a newer stored version."""
    stale: set[str] = set()
    for resource, apply in APPLIERS.items():
        mine = [c for c in changes if c.resource == resource]
        deletes = [c for c in mine if c.delete]
        upserts = [c for c in mine if not c.delete]
        latest = newest_per_key(upserts)
        won = apply(session, latest) if latest else set()
        winners = {id(c) for c in latest if c.key in won}
        stale.update(c.envelope.webhook_id for c in upserts if id(c) not in winners)
        if deletes:
            delete_entities(session, resource, deletes)
    link_checkouts_and_carts(session, changes)
    return stale


def link_checkouts_and_carts(session: Session, changes: list[Change]) -> None:
    """Orders complete their checkouts and convert their carts, whichever arrived first."""
    checkout_keys: set[Key] = set()
    cart_keys: set[Key] = set()
    for c in changes:
        if c.delete or c.resource not in ("orders", "checkouts", "carts"):
            continue
        token = c.values.get("checkout_token") if c.resource == "orders" else c.values.get("token")
        if token and c.resource != "carts":
            checkout_keys.add((c.tenant_id, token))
        cart_token = c.values.get("token") if c.resource == "carts" else c.values.get("cart_token")
        if cart_token:
            cart_keys.add((c.tenant_id, cart_token))
    if checkout_keys:
        _complete_checkouts(session, checkout_keys)
    if cart_keys:
        _convert_carts(session, cart_keys)


def _complete_checkouts(session: Session, keys: set[Key]) -> None:
    chk, orders, tomb = table_of(Checkout), table_of(Order), table_of(CheckoutTombstone)
    has_order = exists().where(
        orders.c.tenant_id == chk.c.tenant_id, orders.c.checkout_token == chk.c.token
    )
    was_abandoned = chk.c.status == "abandoned"
    # When the order was placed, not when cartwheel happened to learn of it.
    ordered_at = (
        select(func.min(func.coalesce(orders.c.processed_at, orders.c.created_at)))
        .where(orders.c.tenant_id == chk.c.tenant_id, orders.c.checkout_token == chk.c.token)
        .scalar_subquery()
    )
    done_at = func.coalesce(chk.c.completed_at, ordered_at, func.now())
    session.execute(
        update(chk)
        .where(
            tuple_(chk.c.tenant_id, chk.c.token).in_(list(keys)),
            chk.c.status.in_(("open", "abandoned")),
            or_(chk.c.completed_at.is_not(None), has_order),
        )
        .values(
            status=case((was_abandoned, "recovered"), else_="completed"),
            completed_at=done_at,
            recovered_at=case((was_abandoned, done_at), else_=chk.c.recovered_at),
        )
    )
    session.execute(
        update(chk)
        .where(
            tuple_(chk.c.tenant_id, chk.c.token).in_(list(keys)),
            chk.c.deleted_at.is_(None),
            tomb.c.tenant_id == chk.c.tenant_id,
            tomb.c.shopify_id == chk.c.shopify_id,
        )
        .values(deleted_at=tomb.c.deleted_at)
    )


def _convert_carts(session: Session, keys: set[Key]) -> None:
    carts, orders, chk = table_of(Cart), table_of(Order), table_of(Checkout)
    followed = or_(
        exists().where(
            orders.c.tenant_id == carts.c.tenant_id, orders.c.cart_token == carts.c.token
        ),
        exists().where(chk.c.tenant_id == carts.c.tenant_id, chk.c.cart_token == carts.c.token),
    )
    first_order = (
        select(func.min(orders.c.created_at))
        .where(orders.c.tenant_id == carts.c.tenant_id, orders.c.cart_token == carts.c.token)
        .scalar_subquery()
    )
    first_checkout = (
        select(func.min(chk.c.created_at))
        .where(chk.c.tenant_id == carts.c.tenant_id, chk.c.cart_token == carts.c.token)
        .scalar_subquery()
    )
    session.execute(
        update(carts)
        .where(
            tuple_(carts.c.tenant_id, carts.c.token).in_(list(keys)),
            carts.c.status.in_(("open", "abandoned")),
            followed,
        )
        .values(
            status="converted",
            converted_at=func.coalesce(func.least(first_order, first_checkout), func.now()),
        )
    )
