"""The one write path, on its own: rows from any source, one set of rules (rolled back per test)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import generate_key
from models import Checkout, Customer, Order, OrderLineItem
from resources.rows import EntityRow, Tombstone
from shops.registration import add_tenant
from writes import write_rows

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def tenant_id(db_session: Session) -> uuid.UUID:
    shop = f"w-{uuid.uuid4().hex[:8]}.myshopify.com"
    tenant = add_tenant(
        db_session, shop=shop, name="W", webhook_secret="s", secret_keys=generate_key()
    )
    db_session.flush()
    return tenant.id


def order(
    tenant_id: uuid.UUID,
    *,
    at: datetime,
    source: str,
    triggered: datetime | None = None,
    lines: list[int] | None = None,
    customer: EntityRow | None = None,
    **values: Any,
) -> EntityRow:
    row = EntityRow(
        resource="orders",
        tenant_id=tenant_id,
        key=1001,
        values={"total_price": Decimal("10.00"), **values},
        updated_at=at,
        triggered_at=triggered,
        source=source,
        payload={"id": 1001, "source": source},
        children=None
        if lines is None
        else {
            "line_items": [{"shopify_id": n, "quantity": 1, "price": Decimal("5")} for n in lines]
        },
    )
    if customer is not None:
        row.embedded.append(customer)
    return row


def customer(tenant_id: uuid.UUID, *, at: datetime | None, source: str, **values: Any) -> EntityRow:
    return EntityRow("customers", tenant_id, 7, values, at, None, source, payload={"id": 7})


def stored_order(session: Session, tenant_id: uuid.UUID) -> Order:
    found = session.scalar(select(Order).where(Order.tenant_id == tenant_id))
    assert found is not None
    session.refresh(found)
    return found


def line_ids(session: Session, tenant_id: uuid.UUID) -> list[int]:
    return sorted(
        session.scalars(
            select(OrderLineItem.shopify_id).where(OrderLineItem.tenant_id == tenant_id)
        )
    )


def test_a_pulled_row_never_beats_the_webhook_it_ties_with(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    hook = order(tenant_id, at=T0, source="webhook-1", triggered=T0, lines=[1, 2], order_number=5)
    result = write_rows(db_session, [hook])
    assert result.won == [hook] and result.inserted == 1
    pulled = order(tenant_id, at=T0, source="backfill:r", lines=[3], total_price=Decimal("1"))
    result = write_rows(db_session, [pulled])
    assert result.won == [] and result.lost == [pulled]
    assert stored_order(db_session, tenant_id).webhook_id == "webhook-1"
    assert line_ids(db_session, tenant_id) == [1, 2]


def test_a_newer_pull_wins_keeps_columns_it_does_not_know_and_replaces_the_children(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    write_rows(db_session, [order(tenant_id, at=T0, source="w1", lines=[1, 2], order_number=5)])
    newer = T0 + timedelta(minutes=1)
    pulled = EntityRow(
        "orders", tenant_id, 1001, {"total_price": Decimal("12.00")}, newer, None, "reconcile:r",
        payload={"id": 1001},
        children={"line_items": [{"shopify_id": 3, "quantity": 2, "price": Decimal("6")}]},
    )  # fmt: skip
    result = write_rows(db_session, [pulled])
    assert result.won == [pulled] and result.inserted == 0
    stored = stored_order(db_session, tenant_id)
    assert (stored.total_price, stored.order_number, stored.webhook_id) == (12, 5, "reconcile:r")
    assert line_ids(db_session, tenant_id) == [3]


def test_within_a_batch_the_newest_version_wins_and_the_rest_lose(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    old = order(tenant_id, at=T0, source="a", lines=[1])
    new = order(tenant_id, at=T0 + timedelta(seconds=1), source="b", lines=[2])
    result = write_rows(db_session, [new, old])
    assert result.won == [new] and result.lost == [old]
    assert line_ids(db_session, tenant_id) == [2]


def test_an_embedded_customer_is_a_version_of_that_customer(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    write_rows(
        db_session, [customer(tenant_id, at=T0, source="c1", state="enabled", first_name="A")]
    )
    inner = customer(tenant_id, at=T0 + timedelta(hours=1), source="o1", first_name="B")
    write_rows(db_session, [order(tenant_id, at=T0, source="o1", customer=inner)])
    stored = db_session.get(Customer, (tenant_id, 7))
    assert stored is not None
    db_session.refresh(stored)
    assert (stored.first_name, stored.state) == ("B", "enabled")
    # An embedded object without a version (a pulled order's customer) only fills a gap.
    unversioned = customer(tenant_id, at=None, source="backfill:r", first_name="C")
    write_rows(db_session, [order(tenant_id, at=T0, source="backfill:r", customer=unversioned)])
    db_session.refresh(stored)
    assert stored.first_name == "B"


def test_a_checkout_deletion_seen_before_the_checkout_still_lands(
    db_session: Session, tenant_id: uuid.UUID
) -> None:
    write_rows(db_session, [], [Tombstone("checkouts", tenant_id, 555, T0)])
    checkout = EntityRow("checkouts", tenant_id, "tok", {"shopify_id": 555, "completed_at": None},
                         T0 - timedelta(hours=1), None, "w", payload={})  # fmt: skip
    write_rows(db_session, [checkout])
    stored = db_session.get(Checkout, (tenant_id, "tok"))
    assert stored is not None and stored.deleted_at == T0


def test_completion_only_ever_becomes_known(db_session: Session, tenant_id: uuid.UUID) -> None:
    def checkout(at: datetime, completed: datetime | None) -> EntityRow:
        return EntityRow("checkouts", tenant_id, "t2", {"completed_at": completed}, at, None, "w",
                         payload={})  # fmt: skip

    write_rows(db_session, [checkout(T0, T0)])
    write_rows(db_session, [checkout(T0 + timedelta(minutes=5), None)])
    stored = db_session.get(Checkout, (tenant_id, "t2"))
    assert stored is not None
    db_session.refresh(stored)
    assert stored.completed_at == T0 and stored.status == "completed"
