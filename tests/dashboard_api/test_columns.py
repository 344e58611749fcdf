"""The columns a dashboard process keeps in memory (dashboard_api/queries/columns.py): a write
committed after a read began is in the next read, whatever order transactions commit in."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import text

from core.settings import Settings
from dashboard_api.db import tenant_session
from dashboard_api.queries.buyers import buyers
from dashboard_api.queries.ranges import DayRange
from models.db import get_engine
from tests.support.shop_builders import BIG, customer, deliver, order
from tests.support.webhooks import Sender

DAYS = DayRange(date(2026, 1, 1), date(2026, 1, 31), "UTC")


def _figures(settings: Settings, tenant_id: uuid.UUID) -> tuple[Any, list[tuple[int, int, str]]]:
    with tenant_session(settings, tenant_id) as session:
        found = buyers(session, tenant_id=tenant_id, rng=DAYS)
    return (found.buyers, found.repeat), [
        (r.customer_id, r.orders, str(r.spent)) for r in found.top
    ]


def test_a_write_committed_after_a_read_began_is_in_the_next_read(
    client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    tenant_id = uuid.UUID(owner["tenant_id"])
    shop = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    deliver(
        shop,
        settings,
        ("customers/create", customer(BIG, first="Ada")),
        ("orders/create", order(1, total="10.00", at="2026-01-05T10:00:00Z", customer_id=BIG)),
        ("orders/create", order(2, total="20.00", at="2026-01-06T10:00:00Z", customer_id=BIG)),
    )
    assert _figures(settings, tenant_id) == ((1, 1), [(BIG, 2, "30.0000")])

    # A transaction that wrote before the next read and commits after it, and one that began
    # after it and commits first: the read in between sees neither, the one after sees both.
    engine = get_engine(settings.database_url)
    early, late = engine.connect(), engine.connect()
    try:
        early.execute(
            text("UPDATE orders SET total_refunded = 5 WHERE tenant_id = :t AND shopify_id = 1"),
            {"t": tenant_id},
        )
        assert _figures(settings, tenant_id) == ((1, 1), [(BIG, 2, "30.0000")])
        late.execute(
            text(
                "UPDATE orders SET cancelled_at = created_at "
                "WHERE tenant_id = :t AND shopify_id = 2"
            ),
            {"t": tenant_id},
        )
        late.commit()
        assert _figures(settings, tenant_id) == ((1, 0), [(BIG, 1, "10.0000")])
        early.commit()
    finally:
        early.close()
        late.close()
    assert _figures(settings, tenant_id) == ((1, 0), [(BIG, 1, "5.0000")])
