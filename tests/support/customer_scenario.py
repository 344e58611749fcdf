"""Shops whose orders belong to customers, as Shopify delivers them, for customer analytics.

Orders are the sales scenario's (tests/support/sales_scenario.py: exact money, refunds with
their own dates), each with the buyer embedded as Shopify embeds it; customers arrive by
customers/create (with tags) and may be deleted by customers/delete. `generated` builds a
random history over eight months of a New York shop: refunds in later months, cancellations,
guests, a deleted customer, test and deleted orders, the 23-hour DST day and late-evening
orders that are another month in UTC. `hand_worked` is the example of docs/metrics.md.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.accounts import Account
from tests.support.pipeline import drain_all
from tests.support.sales_scenario import (
    LINE,
    REFUND,
    Delivery,
    Line,
    Payload,
    Refund,
    Sale,
    sale_deliveries,
    shuffled_twice,
)
from tests.support.samples import sample_json
from tests.support.webhooks import Sender

CUSTOMER = 8_100_000_000_000_000_000
_CUSTOMER = sample_json("customers_create")
TAGS = ("VIP", "wholesale", "newsletter")
# The customer records are newer than the copies embedded in orders, so they win.
RECORDED = "2026-08-01T09:00:00-04:00"
EMBEDDED = "2025-01-01T09:00:00-05:00"


@dataclass(frozen=True)
class Buyer:
    number: int
    tags: tuple[str, ...] = ()
    deleted: bool = False  # customers/delete arrives after everything else
    recorded: bool = True  # False: known only from its orders

    @property
    def id(self) -> int:
        return CUSTOMER + self.number


def customer_payload(buyer: Buyer, updated_at: str = RECORDED) -> Payload:
    p = copy.deepcopy(_CUSTOMER)
    p.update(
        id=buyer.id,
        admin_graphql_api_id=f"gid://shopify/Customer/{buyer.id}",
        email=f"customer{buyer.number}@example.com",
        first_name="Customer",
        last_name=str(buyer.number),
        tags=", ".join(buyer.tags),
        created_at=EMBEDDED,
        updated_at=updated_at,
        default_address=None,
        addresses=[],
    )
    return p


def _embedded(buyer: Buyer) -> Payload:
    """The buyer as an order embeds it: an older version, without tags."""
    p = customer_payload(buyer, EMBEDDED)
    del p["tags"]
    return p


def order(number: int, placed: str, price: str, quantity: int = 1, **kw: Any) -> Sale:
    """An order of one untaxed line without shipping: its total is price x quantity."""
    line = Line(LINE + number * 100 + 1, f"Item {number}", price, quantity, None, tax_rate=None)
    return Sale(number, placed, (line,), **kw)


def refund(number: int, k: int, at: str, quantity: int) -> Refund:
    return Refund(REFUND + number * 100 + k, at, ((LINE + number * 100 + 1, quantity),))


def deliveries(owned: list[tuple[Sale, Buyer | None]], buyers: list[Buyer]) -> list[Delivery]:
    """Customers, then each order's deliveries with its buyer embedded, then deletions."""
    out: list[Delivery] = [("customers/create", customer_payload(b)) for b in buyers if b.recorded]
    for sale, buyer in owned:
        for topic, payload in sale_deliveries(sale):
            if topic.startswith("orders/") and topic != "orders/delete":
                embedded = _embedded(buyer) if buyer else None
                payload = payload | {"customer": embedded}
            out.append((topic, payload))
    out += [("customers/delete", {"id": b.id}) for b in buyers if b.deleted]
    return out


def _local(day: datetime, zone: ZoneInfo) -> str:
    return day.replace(tzinfo=zone).isoformat()


def generated(seed: int, customers: int = 24) -> tuple[list[Delivery], list[Buyer]]:
    """A random eight-month history (November 2025 to June 2026) of a New York shop."""
    rng = random.Random(seed)
    ny = ZoneInfo("America/New_York")
    buyers = [
        Buyer(n, tuple(t for t in TAGS if rng.random() < 0.3), recorded=n % 11 != 5)
        for n in range(1, customers + 1)
    ]
    buyers.append(Buyer(customers + 1, ("VIP",)))  # a prospect: no orders
    buyers[3] = Buyer(buyers[3].number, buyers[3].tags, deleted=True)
    start = datetime(2025, 11, 1, 9, 0)
    # Moments that are another day or month in UTC, and the DST day.
    special = [
        datetime(2026, 1, 31, 23, 30),
        datetime(2026, 2, 28, 21, 15),
        datetime(2026, 3, 8, 1, 30),
        datetime(2026, 3, 8, 3, 30),
        datetime(2026, 4, 30, 22, 45),
    ]
    owned: list[tuple[Sale, Buyer | None]] = []
    number = 500
    for buyer in [*buyers[:-1], None, None]:  # two guests
        for _ in range(rng.randint(1, 5)):
            number += 1
            if special and rng.random() < 0.25:
                at = special.pop()
            else:
                at = start + timedelta(minutes=rng.randrange(0, 240 * 24 * 60))
            placed = _local(at, ny)
            quantity = rng.randint(1, 4)
            price = f"{rng.randint(5, 180)}.{rng.randint(0, 99):02d}"
            kind = rng.random()
            kw: dict[str, Any] = {}
            if kind < 0.25:
                later = at + timedelta(days=rng.randint(1, 70), hours=rng.randint(0, 12))
                kw["refunds"] = (refund(number, 1, _local(later, ny), rng.randint(1, quantity)),)
            elif kind < 0.33:
                kw["cancelled_at"] = _local(at + timedelta(days=1), ny)
            elif kind < 0.38:
                kw["test"] = True
            elif kind < 0.42:
                kw["deleted"] = True
            owned.append((order(number, placed, price, quantity, **kw), buyer))
    return deliveries(owned, buyers), buyers


def hand_worked() -> tuple[list[Delivery], list[Buyer]]:
    """docs/metrics.md's example: six customers of a UTC shop and a prospect, as of 30 June."""
    a, b, c, d, e, f, g = (Buyer(n) for n in range(1, 8))
    noon = "T12:00:00+00:00"
    owned: list[tuple[Sale, Buyer | None]] = [
        (order(1, "2026-04-05" + noon, "100.00"), a),
        (order(2, "2026-05-10" + noon, "150.00"), a),
        (order(3, "2026-06-25" + noon, "200.00"), a),
        (order(4, "2026-04-12" + noon, "80.00"), b),
        (
            order(
                5, "2026-06-20" + noon, "10.00", 7, refunds=(refund(5, 1, "2026-06-28" + noon, 2),)
            ),
            b,
        ),
        (order(6, "2026-04-20" + noon, "300.00"), c),
        (order(7, "2026-05-03" + noon, "40.00"), d),
        (order(8, "2026-05-17" + noon, "60.00"), d),
        (order(9, "2026-05-25" + noon, "25.00"), e),
        (order(10, "2026-06-29" + noon, "60.00"), f),
    ]
    return deliveries(owned, [a, b, c, d, e, f, g]), [a, b, c, d, e, f, g]


def deliver(
    client: FlaskClient, settings: Settings, account: Account, data: list[Delivery], seed: int
) -> None:
    """Every payload twice, shuffled (retries and re-sends), drained every 40 deliveries."""
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    copies = shuffled_twice(data, seed)
    for n in range(0, len(copies), 40):
        for topic, payload, webhook_id in copies[n : n + 40]:
            response = sender.send(topic, payload, webhook_id=webhook_id)
            assert response.status_code == 200, (topic, response.get_json())
        drain_all(settings)


Get = Callable[..., Any]
