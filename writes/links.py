"""Orders complete their checkouts and convert their carts, whichever of them arrived first.

Status only ever moves forward (open -> completed, abandoned -> recovered, open/abandoned ->
converted); the links are made in SQL from whatever rows exist, so the order of arrival does not
matter.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, bindparam, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session

from models import Cart, Checkout, CheckoutTombstone, Order
from models.base import table_of

Key = tuple[uuid.UUID, Any]


def link_checkouts_and_carts(session: Session, checkouts: set[Key], carts: set[Key]) -> None:
    """Complete or recover the checkouts, convert the carts, that these tokens name."""
    if checkouts:
        _complete_checkouts(session, checkouts)
    if carts:
        _convert_carts(session, carts)


def _named(keys: set[Key]) -> Any:
    """The (tenant, token) pairs as a relation to join: two array parameters, unnested.

    A row-value IN list of a thousand pairs is planned far worse than this join, and costs
    the drain more than the update it guards.
    """
    tenants, tokens = zip(*sorted(keys), strict=True)
    return (
        func.unnest(
            bindparam(None, list(tenants), type_=ARRAY(UUID(as_uuid=True))),
            bindparam(None, list(tokens), type_=ARRAY(String())),
        )
        .table_valued("tenant_id", "token", name="named")
        .render_derived()
    )


def _complete_checkouts(session: Session, keys: set[Key]) -> None:
    chk, orders, tomb = table_of(Checkout), table_of(Order), table_of(CheckoutTombstone)
    named = _named(keys)
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
            chk.c.tenant_id == named.c.tenant_id,
            chk.c.token == named.c.token,
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
            chk.c.tenant_id == named.c.tenant_id,
            chk.c.token == named.c.token,
            chk.c.deleted_at.is_(None),
            tomb.c.tenant_id == chk.c.tenant_id,
            # Named by id, or (from API 2026-04, where checkouts carry no id) by cart token.
            or_(tomb.c.shopify_id == chk.c.shopify_id, tomb.c.cart_token == chk.c.cart_token),
        )
        .values(deleted_at=tomb.c.deleted_at)
    )


def _convert_carts(session: Session, keys: set[Key]) -> None:
    carts, orders, chk = table_of(Cart), table_of(Order), table_of(Checkout)
    named = _named(keys)
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
            carts.c.tenant_id == named.c.tenant_id,
            carts.c.token == named.c.token,
            carts.c.status.in_(("open", "abandoned")),
            followed,
        )
        .values(
            status="converted",
            converted_at=func.coalesce(func.least(first_order, first_checkout), func.now()),
        )
    )
