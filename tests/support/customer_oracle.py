"""Customer analytics computed in plain Python from the delivered payloads, never the database.

It reads docs/metrics.md ("Customers", "RFM segments", "Cohorts") literally: the answers of
/api/analytics/customers, /api/analytics/rfm and /api/analytics/cohorts for these deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.sales_oracle import instant, placed_at

Payload = dict[str, Any]
ZERO, CENT = Decimal(0), Decimal("0.01")
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "orders/paid")
SEGMENTS = (
    "champions", "loyal", "active", "needs_attention", "promising", "new", "at_risk",
    "previously_loyal", "almost_lost", "dormant", "prospects",
)  # fmt: skip


def cents(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def rate(part: int, whole: int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


@dataclass
class Known:
    """What the deliveries leave known."""

    orders: dict[int, Payload] = field(default_factory=dict)
    refunds: dict[int, Payload] = field(default_factory=dict)
    deleted_orders: set[int] = field(default_factory=set)
    customers: dict[int, Payload] = field(default_factory=dict)
    seen_customers: set[int] = field(default_factory=set)
    deleted_customers: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, deliveries: Iterable[tuple[str, Payload]]) -> Known:
        k = cls()
        for topic, p in deliveries:
            if topic in ORDER_TOPICS:
                _newest(k.orders, p)
                for r in p.get("refunds") or ():
                    k.refunds[r["id"]] = r | {"order_id": p["id"]}
                if p.get("customer"):
                    k.seen_customers.add(p["customer"]["id"])
            elif topic == "refunds/create":
                k.refunds[p["id"]] = p
            elif topic == "orders/delete":
                k.deleted_orders.add(p["id"])
            elif topic in ("customers/create", "customers/update"):
                _newest(k.customers, p)
                k.seen_customers.add(p["id"])
            elif topic == "customers/delete":
                k.deleted_customers.add(p["id"])
        return k

    def counted(self) -> list[Payload]:
        """Not test, not deleted, not cancelled, with a customer."""
        return [
            o
            for o in self.orders.values()
            if not o.get("test")
            and o["id"] not in self.deleted_orders
            and not o.get("cancelled_at")
            and o.get("customer")
        ]

    def refund_events(self) -> list[tuple[int, datetime, Decimal]]:
        """(order id, when, shop money paid back) of every refund of a counted order."""
        ids = {o["id"] for o in self.counted()}
        out = []
        for r in self.refunds.values():
            if r["order_id"] not in ids:
                continue
            paid = sum(
                (
                    Decimal(str(t["amount"]))
                    for t in r.get("transactions") or ()
                    if t.get("kind") == "refund" and t.get("status") == "success"
                ),
                ZERO,
            )
            out.append((r["order_id"], instant(r.get("processed_at") or r["created_at"]), paid))
        return out


def _newest(versions: dict[int, Payload], p: Payload) -> None:
    known = versions.get(p["id"])
    if known is None or instant(p["updated_at"]) > instant(known["updated_at"]):
        versions[p["id"]] = p


def score(values: dict[int, Any], key: int, *, descending: bool = False) -> int:
    """1 + floor(5 (rank - 1) / (n - 1)), capped at 5; rank as SQL's RANK()."""
    n, v = len(values), values[key]
    below = sum(1 for w in values.values() if (w > v if descending else w < v))
    return 1 if n == 1 else min(5, 1 + (5 * below) // (n - 1))


def segment(r: int, fm: Decimal) -> str:
    if r == 5 and fm >= 4:
        return "champions"
    if r >= 3 and fm >= 4:
        return "loyal"
    if r >= 4 and fm >= 2:
        return "active"
    if r == 5:
        return "new"
    if r == 4:
        return "promising"
    if r == 3:
        return "needs_attention" if fm >= 2 else "almost_lost"
    if fm >= 4:
        return "previously_loyal"
    if fm >= 3:
        return "at_risk"
    return "almost_lost" if fm >= 2 else "dormant"


def _month(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date().replace(day=1)


def customers(deliveries: list[tuple[str, Payload]], as_of: date, tz: str) -> dict[str, Payload]:
    """Every customer's expected list item, by id (as the API writes it)."""
    known, zone = Known.of(deliveries), ZoneInfo(tz)
    mine: dict[int, list[Payload]] = {}
    for o in known.counted():
        mine.setdefault(o["customer"]["id"], []).append(o)
    back: dict[int, Decimal] = {}
    owner = {o["id"]: o["customer"]["id"] for o in known.counted()}
    for order_id, _, paid in known.refund_events():
        back[owner[order_id]] = back.get(owner[order_id], ZERO) + paid
    live = known.seen_customers - known.deleted_customers
    figures: dict[int, Payload] = {}
    for cid, orders in mine.items():
        times = sorted(placed_at(o) for o in orders)
        gross = sum((Decimal(o["total_price"]) for o in orders), ZERO)
        n, span = len(orders), times[-1] - times[0]
        seconds = Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds) / 10**6
        figures[cid] = {
            "orders": n,
            "gross": gross,
            "refunded": back.get(cid, ZERO),
            "first": times[0],
            "last": times[-1],
            "recency_days": (as_of - times[-1].astimezone(zone).date()).days,
            "between": seconds / 86400 / (n - 1) if n > 1 else None,
        }
    recency = {c: f["recency_days"] for c, f in figures.items()}
    frequency = {c: f["orders"] for c, f in figures.items()}
    monetary = {c: f["gross"] - f["refunded"] for c, f in figures.items()}
    out: dict[str, Payload] = {}
    for cid in set(figures) | live:
        record = known.customers.get(cid) if cid in live else None
        tags = sorted(
            {t.strip().lower() for t in (record or {}).get("tags", "").split(",") if t.strip()}
        )
        item: Payload = {"id": str(cid), "known": cid in live, "tags": tags}
        f = figures.get(cid)
        if f is None:
            item |= {"orders": 0, "gross_spend": "0.00", "refunded": "0.00", "net_spend": "0.00",
                     "average_order_value": None, "first_order_month": None,
                     "average_days_between_orders": None, "recency_days": None,
                     "r_score": None, "f_score": None, "m_score": None, "fm_score": None,
                     "segment": "prospects"}  # fmt: skip
        else:
            r = score(recency, cid, descending=True)
            fs, m = score(frequency, cid), score(monetary, cid)
            fm = Decimal(fs + m) / 2
            item |= {
                "orders": f["orders"],
                "gross_spend": cents(f["gross"]),
                "refunded": cents(f["refunded"]),
                "net_spend": cents(monetary[cid]),
                "average_order_value": cents(f["gross"] / f["orders"]),
                "first_order_month": _month(f["first"], zone).isoformat(),
                "average_days_between_orders": None
                if f["between"] is None
                else cents(f["between"]),
                "recency_days": f["recency_days"],
                "r_score": r, "f_score": fs, "m_score": m, "fm_score": f"{fm:.1f}",
                "segment": segment(r, fm),
                "first_order_at": f["first"],
                "last_order_at": f["last"],
            }  # fmt: skip
        item["historical_clv"] = item["net_spend"]
        out[item["id"]] = item
    return out


def rfm(deliveries: list[tuple[str, Payload]], as_of: date, tz: str) -> dict[str, Payload]:
    """Per segment: customers and net spend."""
    out = {s: {"customers": 0, "net_spend": ZERO} for s in SEGMENTS}
    for item in customers(deliveries, as_of, tz).values():
        out[item["segment"]]["customers"] += 1
        out[item["segment"]]["net_spend"] += Decimal(item["net_spend"])
    return {
        s: {"customers": v["customers"], "net_spend": cents(v["net_spend"])} for s, v in out.items()
    }


def cohorts(deliveries: list[tuple[str, Payload]], tz: str) -> dict[str, dict[int, Payload]]:
    """Cohort month -> months since -> customers, orders, net revenue, retention."""
    known, zone = Known.of(deliveries), ZoneInfo(tz)
    counted = known.counted()
    first: dict[int, date] = {}
    for o in counted:
        cid, m = o["customer"]["id"], _month(placed_at(o), zone)
        first[cid] = min(first.get(cid, m), m)
    owner = {o["id"]: o["customer"]["id"] for o in counted}
    events = [(o["customer"]["id"], _month(placed_at(o), zone), 1, Decimal(o["total_price"]))
              for o in counted]  # fmt: skip
    events += [(owner[oid], _month(at, zone), 0, -paid) for oid, at, paid in known.refund_events()]
    cells: dict[tuple[date, int], dict[str, Any]] = {}
    for cid, m, orders, money in events:
        m0 = first[cid]
        k = max(0, (m.year - m0.year) * 12 + m.month - m0.month)
        cell = cells.setdefault((m0, k), {"buyers": set(), "orders": 0, "money": ZERO})
        if orders:
            cell["buyers"].add(cid)
        cell["orders"] += orders
        cell["money"] += money
    out: dict[str, dict[int, Payload]] = {}
    for (m0, k), cell in sorted(cells.items()):
        size = len(cells[(m0, 0)]["buyers"])
        out.setdefault(m0.isoformat(), {})[k] = {
            "months_since": k,
            "customers": len(cell["buyers"]),
            "orders": cell["orders"],
            "net_revenue": cents(cell["money"]),
            "retention": rate(len(cell["buyers"]), size),
        }
    return out


def returning(deliveries: list[tuple[str, Payload]], start: date, end: date, tz: str) -> Payload:
    """Shopify's returning customer rate over local days start..end."""
    known, zone = Known.of(deliveries), ZoneInfo(tz)
    lo = datetime.combine(start, datetime.min.time(), zone)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone)
    orders: dict[int, list[tuple[datetime, int]]] = {}
    for o in known.counted():
        orders.setdefault(o["customer"]["id"], []).append((placed_at(o), o["id"]))
    first = {c: min(keys) for c, keys in orders.items()}
    inside = {c: [k for k in keys if lo <= k[0] < hi] for c, keys in orders.items()}
    buyers = [c for c, keys in inside.items() if keys]
    # Returning: one of their orders in the range is not their first (by time, then id).
    back = [c for c in buyers if any(k != first[c] for k in inside[c])]
    return {"customers": len(buyers), "returning": len(back), "rate": rate(len(back), len(buyers))}


def order_history(deliveries: list[tuple[str, Payload]], customer_id: int) -> list[Payload]:
    """A customer's orders (neither test nor deleted), typed new or returning, in order."""
    known = Known.of(deliveries)
    mine = sorted(
        (
            (placed_at(o), o["id"], o)
            for o in known.orders.values()
            if not o.get("test")
            and o["id"] not in known.deleted_orders
            and (o.get("customer") or {}).get("id") == customer_id
        ),
        key=lambda entry: (entry[0], entry[1]),
    )
    return [
        {
            "id": str(order_id),
            "customer_type": "returning" if n else "new",
            "cancelled": bool(o.get("cancelled_at")),
            "total_price": cents(Decimal(o["total_price"])),
        }
        for n, (_, order_id, o) in enumerate(mine)
    ]
