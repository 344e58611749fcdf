"""Purchase histories drawn from known BG/NBD and Gamma-Gamma parameters, with numpy only.

The draws follow the models' stories as Fader, Hardie & Lee tell them, independently of the
library under test: each customer's purchase rate is Gamma(r, alpha) (rate alpha), their
dropout probability Beta(a, b); purchases arrive as a Poisson process at that rate, and after
each one the customer leaves with that probability. Each customer's value scale nu is
Gamma(q, v) (rate v) and every purchase is worth Gamma(p, nu) (rate nu).

`shop_history` turns such histories into a shop's deliveries (Shopify-shaped orders through the
customer scenario's builders), with what real shops have besides: refunds in later months,
cancellations, test and deleted orders, guests, deleted customers, several orders on one local
day, an order late in the evening (the next day in UTC) and one on the DST day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.customer_scenario import Account, Buyer, deliveries, order, refund
from tests.support.pipeline import drain_all
from tests.support.sales_scenario import Delivery, Sale
from tests.support.webhooks import Sender


@dataclass(frozen=True)
class Truth:
    r: float
    alpha: float
    a: float
    b: float
    p: float
    q: float
    v: float


@dataclass(frozen=True)
class History:
    age: float  # days since the first purchase
    repeats: tuple[float, ...]  # days after the first purchase of each repeat purchase
    values: tuple[float, ...]  # the value of every purchase, the first included


def draw(
    rng: np.random.Generator, n: int, truth: Truth, ages: tuple[float, float]
) -> list[History]:
    """`n` customers, each observed for a uniform age in `ages` days since their first purchase."""
    out = []
    for age in rng.uniform(*ages, n):
        rate = rng.gamma(truth.r, 1 / truth.alpha)
        dropout = rng.beta(truth.a, truth.b)
        scale = rng.gamma(truth.q, 1 / truth.v)
        at, repeats = 0.0, []
        while True:
            at += rng.exponential(1 / rate)
            if at > age:
                break
            repeats.append(at)
            if rng.random() < dropout:
                break
        values = rng.gamma(truth.p, 1 / scale, len(repeats) + 1)
        out.append(History(float(age), tuple(repeats), tuple(float(v) for v in values)))
    return out


def inputs(histories: list[History]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T, mean repeat value) per customer, the models' own inputs, in continuous time."""
    x = np.array([len(h.repeats) for h in histories], dtype=float)
    t_x = np.array([h.repeats[-1] if h.repeats else 0.0 for h in histories])
    age = np.array([h.age for h in histories])
    mean = np.array([np.mean(h.values[1:]) if h.repeats else np.nan for h in histories])
    return x, t_x, age, mean


def _price(value: float) -> str:
    return str(max(Decimal("2.00"), Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)))


def shop_history(
    seed: int, customers: int, truth: Truth, today: date, zone: str, *, years: float = 2.0
) -> list[Delivery]:
    """A shop's deliveries: `customers` drawn histories, first purchases over `years` before
    `today` (local days of `zone`), with the oddities of real shops mixed in."""
    rng = np.random.default_rng(seed)
    odd = random.Random(seed)
    tz = ZoneInfo(zone)
    now = datetime.combine(today, time(6, 0), tz)
    span = 365.0 * years
    buyers = [Buyer(n, recorded=n % 9 != 4, deleted=n % 23 == 7) for n in range(1, customers + 1)]
    histories = draw(rng, customers, truth, (1.0, span))
    owned: list[tuple[Sale, Buyer | None]] = []
    number = 10_000

    def sale(at: datetime, value: float, buyer: Buyer | None) -> None:
        nonlocal number
        number += 1
        kw: dict[str, Any] = {}
        kind = odd.random()
        if kind < 0.15:
            back = at + timedelta(days=odd.randint(20, 70), hours=odd.randint(0, 9))
            if back < now:
                kw["refunds"] = (refund(number, 1, back.isoformat(), 1),)
        elif kind < 0.20:
            kw["cancelled_at"] = (at + timedelta(hours=5)).isoformat()
        elif kind < 0.23:
            kw["test"] = True
        elif kind < 0.26:
            kw["deleted"] = True
        # Two units at half the value: a refund of one unit is a partial refund.
        half = _price(value / 2)
        owned.append((order(number, at.isoformat(), half, 2, **kw), buyer))

    for buyer, history in zip(buyers, histories, strict=True):
        first = today - timedelta(days=int(history.age))
        for offset, value in zip((0.0, *history.repeats), history.values, strict=True):
            day = first + timedelta(days=int(offset))
            minute = odd.randrange(8 * 60, 22 * 60)
            sale(datetime.combine(day, time(minute // 60, minute % 60), tz), value, buyer)
    special = [
        (datetime(2026, 3, 8, 1, 30, tzinfo=tz), buyers[0]),  # the DST day in New York
        (datetime.combine(today - timedelta(days=200), time(23, 30), tz), buyers[1]),
        (datetime.combine(today - timedelta(days=200), time(9, 15), tz), buyers[1]),  # same day
        (datetime.combine(today - timedelta(days=30), time(12, 0), tz), None),  # guests
        (datetime.combine(today - timedelta(days=400), time(12, 0), tz), None),
    ]
    for at, buyer in special:
        if at < now:
            sale(at, 80.0, buyer)
    return deliveries(owned, buyers)


def deliver_once(
    client: FlaskClient, settings: Settings, account: Account, data: list[Delivery]
) -> None:
    """Every payload once, in order, through /webhooks, then drained (for the larger shops)."""
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    for topic, payload in data:
        response = sender.send(topic, payload)
        assert response.status_code == 200, (topic, response.get_json())
    drain_all(settings)
