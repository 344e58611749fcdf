"""Insights bench: seed a tenant with 1,000,000 orders and 100,000 customers over three years,
build its daily rollups, then time the insights and the sales report over 30 days, 365 days
and three years, uncached and cached.

Seeding is plain `INSERT ... SELECT generate_series` into a database of its own (about a minute
on the 2-core machine), which bypasses the write path, so the rollups are then built by the
rebuild (`cartwheel rollups rebuild`), timed; the timings go through the dashboard app
in-process, with a real token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import redis
from sqlalchemy import Connection, text
from werkzeug.test import TestResponse

from bench.figures import Row, api_client, p95_row, percentiles, standalone, timed
from bench.paint import TARGET_MS as PAINT_TARGET_MS
from bench.paint import measure_paint
from core.settings import Settings
from core.versions import bump_versions
from models.db import get_engine, session_scope
from writes.rollup_days import rebuild

UNCACHED_P95_MS = 50
CACHED_P95_MS = 5
# The ranges every report is timed over, in days ending today.
RANGES = {"30d": 30, "365d": 365, "3y": 1096}

# Shopify ids beyond 2**53, as real shops have them, so precision loss would show.
ID_BASE = 9_100_000_000_000_000

_CUSTOMERS = """
INSERT INTO customers (tenant_id, shopify_id, email, first_name, last_name, state, currency,
                       created_at, updated_at)
SELECT :tenant, :base + g, 'buyer' || g || '@example.com', 'First' || (g % 997),
       'Last' || (g % 1009), 'enabled', 'EUR', t, t
FROM generate_series(1, :customers) g,
     LATERAL (SELECT now() - (:days * random() + g * 0) * interval '1 day' AS t) x
"""

# ~2% cancelled, ~3% partly refunded, 0.2% test orders, 10% guest checkouts.
_ORDERS = """
INSERT INTO orders (tenant_id, shopify_id, name, order_number, email, customer_id,
    financial_status, fulfillment_status, currency, total_price, subtotal_price, total_tax,
    total_discounts, current_total_price, total_refunded, cancel_reason, cart_token,
    checkout_token, source_name, test, created_at, processed_at, cancelled_at, updated_at)
SELECT :tenant, :base + g, '#' || (1000 + g), 1000 + g, NULL,
       CASE WHEN g % 10 = 0 THEN NULL ELSE :base + 1 + (x.c * :customers)::bigint % :customers END,
       CASE WHEN g % 50 = 0 THEN 'refunded' WHEN g % 33 = 0 THEN 'partially_refunded'
            ELSE 'paid' END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE 'fulfilled' END,
       'EUR', x.p, x.p, round(x.p * 0.2, 2), 0, x.p - x.r, x.r,
       CASE WHEN g % 50 = 0 THEN 'customer' END,
       'cart-' || :tenant || '-' || g, 'chk-' || :tenant || '-' || g, 'web', g % 500 = 0,
       x.t, x.t, CASE WHEN g % 50 = 0 THEN x.t + interval '1 hour' END, x.t
FROM generate_series(1, :orders) g,
     LATERAL (SELECT random() + g * 0 AS c,
                     now() - (:days * random() + g * 0) * interval '1 day' AS t,
                     round((5 + 295 * random() + g * 0)::numeric, 2) AS p) y,
     LATERAL (SELECT y.c, y.t, y.p,
                     CASE WHEN g % 50 = 0 THEN y.p WHEN g % 33 = 0 THEN round(y.p / 3, 2)
                          ELSE 0 END AS r) x
"""

_LINE_ITEMS = """
INSERT INTO order_line_items (tenant_id, shopify_id, order_id, product_id, variant_id, sku, title,
                              quantity, current_quantity, price)
SELECT o.tenant_id, o.shopify_id * 2 + n, o.shopify_id, :base + 1 + o.shopify_id % 500,
       :base + 1 + o.shopify_id % 500, 'SKU-' || o.shopify_id % 500,
       'Product ' || o.shopify_id % 500,
       1, 1, o.total_price / 2
FROM orders o, generate_series(0, 1) n
WHERE o.tenant_id = :tenant
"""

_PRODUCTS = """
INSERT INTO products (tenant_id, shopify_id, title, handle, vendor, product_type, status, price,
                      created_at, updated_at)
SELECT :tenant, :base + g, 'Product ' || g, 'product-' || g, 'Vendor ' || g % 20,
       'Type ' || g % 7, CASE WHEN g % 10 = 0 THEN 'draft' ELSE 'active' END, 10 + g % 90,
       now() - g * interval '1 hour', now()
FROM generate_series(1, 500) g
"""

# Checkouts that became a third of the orders, plus 15% more that did not (most abandoned).
_CHECKOUTS = """
INSERT INTO checkouts (tenant_id, token, shopify_id, cart_token, customer_id, status, currency,
                       total_price, subtotal_price, created_at, completed_at, abandoned_at,
                       recovered_at, updated_at)
SELECT o.tenant_id, o.checkout_token, o.shopify_id, o.cart_token, o.customer_id,
       CASE WHEN o.shopify_id % 30 = 0 THEN 'recovered' ELSE 'completed' END, 'EUR',
       o.total_price, o.subtotal_price, o.created_at - interval '10 minutes', o.created_at,
       CASE WHEN o.shopify_id % 30 = 0 THEN o.created_at - interval '5 minutes' END,
       CASE WHEN o.shopify_id % 30 = 0 THEN o.created_at END, o.created_at
FROM orders o WHERE o.tenant_id = :tenant AND o.shopify_id % 3 = 0
UNION ALL
SELECT :tenant, 'lost-' || :tenant || '-' || g, NULL, NULL, NULL,
       CASE WHEN g % 5 = 0 THEN 'open' ELSE 'abandoned' END, 'EUR', 50 + g % 100, 50 + g % 100,
       t, NULL, CASE WHEN g % 5 = 0 THEN NULL ELSE t + interval '1 hour' END, NULL, t
FROM generate_series(1, :orders * 15 / 100) g,
     LATERAL (SELECT now() - (:days * random() + g * 0) * interval '1 day' AS t) x
"""

_CARTS = """
INSERT INTO carts (tenant_id, token, status, item_count, total_price, currency, created_at,
                   abandoned_at, converted_at, updated_at)
SELECT :tenant, 'cart-' || :tenant || '-' || g,
       CASE WHEN g % 3 = 0 THEN 'converted' WHEN g % 3 = 1 THEN 'abandoned' ELSE 'open' END,
       1 + g % 4, 20 + g % 200, 'EUR', t, CASE WHEN g % 3 = 1 THEN t + interval '1 day' END,
       CASE WHEN g % 3 = 0 THEN t + interval '1 hour' END, t
FROM generate_series(1, :orders * 3 / 10) g,
     LATERAL (SELECT now() - (:days * random() + g * 0) * interval '1 day' AS t) x
"""


def seed_tenant(
    conn: Connection,
    tenant_id: uuid.UUID,
    *,
    orders: int,
    customers: int,
    days: int = 1095,
    seed: float = 0.42,
) -> None:
    """Fill one tenant's tables (the tenant row must exist); the caller commits."""
    conn.execute(text("SELECT setseed(:s)"), {"s": seed})
    params = {
        "tenant": str(tenant_id),
        "base": ID_BASE,
        "customers": customers,
        "orders": orders,
        "days": days,
    }
    for statement in (_CUSTOMERS, _ORDERS, _LINE_ITEMS, _PRODUCTS, _CHECKOUTS, _CARTS):
        conn.execute(text(statement), params)


def build_rollups(settings: Settings) -> float:
    """Every tenant's rollups from the seeded rows, as `cartwheel rollups rebuild` does; the
    seconds it took."""
    started = time.monotonic()
    with session_scope(settings.database_url) as session:
        rebuild(session)
    with get_engine(settings.database_url).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return time.monotonic() - started


def seed(settings: Settings, *, orders: int, customers: int) -> uuid.UUID:
    """A shop with `orders` orders and `customers` customers, plus a small second shop."""
    with get_engine(settings.database_url).begin() as conn:
        ids = []
        for shop, tz in ((f"insights-{uuid.uuid4().hex[:8]}", "Europe/Berlin"),
                         (f"neighbour-{uuid.uuid4().hex[:8]}", "UTC")):  # fmt: skip
            ids.append(
                conn.execute(
                    text(
                        "INSERT INTO tenants (shop_domain, name, webhook_secret, timezone) "
                        "VALUES (:shop, :shop, :secret, :tz) RETURNING id"
                    ),
                    {"shop": f"{shop}.myshopify.com", "secret": b"unused", "tz": tz},
                ).scalar_one()
            )
        seed_tenant(conn, ids[0], orders=orders, customers=customers)
        seed_tenant(conn, ids[1], orders=orders // 50, customers=customers // 50, seed=0.7)
    # Fresh statistics and visibility map, as autovacuum would leave them on a live database.
    with get_engine(settings.database_url).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return ids[0]


def measure(
    settings: Settings, tenant_id: uuid.UUID, *, samples: int = 40
) -> dict[str, dict[str, float]]:
    """Latencies through the dashboard app in-process (real token, database and Redis)."""
    client, headers = api_client(settings, tenant_id)
    redis_client = redis.Redis.from_url(settings.redis_url)

    def bump() -> None:  # what the drain does after a commit: the next answer is a miss
        bump_versions(redis_client, settings.namespace, [tenant_id])

    def get(url: str) -> Callable[[], TestResponse]:
        return lambda: client.get(url, headers=headers)

    def span(path: str, days: int) -> str:
        return f"{path}?from={date.today() - timedelta(days=days - 1)}&to={date.today()}"

    first = client.get("/api/orders?limit=50", headers=headers).get_json()
    second = f"/api/orders?limit=50&cursor={first['next_cursor']}"
    # A cursor half-way through the shop's history, oldest first: deep pages cost no more.
    middle = client.get(
        f"/api/orders?sort=created_at&limit=1&created_at_min={date.today() - timedelta(days=365)}",
        headers=headers,
    ).get_json()
    deep = f"/api/orders?sort=created_at&limit=50&cursor={middle['next_cursor']}"
    for _ in range(3):  # warm the connection pool and caches
        timed(get("/api/insights"), bump)
    figures: dict[str, list[float]] = {}
    for report, path in (("insights", "/api/insights"), ("sales", "/api/reports/sales")):
        for name, days in RANGES.items():
            url = get(span(path, days))
            timed(url, bump)  # the first answer of a range warms the plan cache
            figures[f"{report}_{name}_uncached"] = [timed(url, bump) for _ in range(samples)]
            figures[f"{report}_{name}_cached"] = [timed(url) for _ in range(samples)]
    figures |= {
        "orders_first_page": [timed(get("/api/orders?limit=50")) for _ in range(samples)],
        "orders_next_page": [timed(get(second)) for _ in range(samples)],
        "orders_deep_page": [timed(get(deep)) for _ in range(samples)],
        "customers_search": [
            timed(get("/api/customers?q=buyer4242&limit=50")) for _ in range(samples // 4)
        ],
    }
    redis_client.close()
    return {name: percentiles(values) for name, values in figures.items()}


def run_insights(
    settings: Settings, *, orders: int = 1_000_000, customers: int = 100_000, samples: int = 40
) -> dict[str, Any]:
    """Seed (about a minute), then measure; the bench runner's entry point."""
    started = time.monotonic()
    tenant_id = seed(settings, orders=orders, customers=customers)
    seeded = time.monotonic() - started
    result: dict[str, Any] = {"orders": orders, "customers": customers, "seed_s": seeded}
    result["rollups_rebuild_s"] = build_rollups(settings)
    result.update(measure(settings, tenant_id, samples=samples))
    result["overview_paint"] = measure_paint(settings, tenant_id)
    return result


def report_rows(result: dict[str, Any]) -> list[Row]:
    """Rows for bench/report.py's table: (figure, measured, baseline, ratio, target, result)."""
    rows = []
    ranged = [
        (f"{report}_{name}_{state}", f"{report} p95 {state} ({name})", target)
        for report in ("insights", "sales")
        for name in RANGES
        for state, target in (("uncached", UNCACHED_P95_MS), ("cached", CACHED_P95_MS))
    ]
    for name, label, target in (
        *ranged,
        ("orders_first_page", "orders first page p95", None),
        ("orders_next_page", "orders next page p95", None),
        ("orders_deep_page", "orders page mid-history p95", None),
    ):
        rows.append(p95_row(label, result[name], target))
    if paint := result.get("overview_paint"):
        for state in ("uncached", "cached"):
            rows.append(p95_row(f"overview first paint p95 {state} (browser)", paint[state],
                                PAINT_TARGET_MS if state == "uncached" else None))  # fmt: skip
    if "rollups_rebuild_s" in result:
        rows.append((
            "rollups rebuild (all tenants)", f"{result['rollups_rebuild_s']:.1f} s",
            f"{result['orders']:,} orders", "-", "-", "-",
        ))  # fmt: skip
    return rows


def main() -> None:
    """`python -m bench.insights [server URL] [redis URL]`: seed a database of its own, measure."""
    standalone("ins", run_insights, report_rows)


if __name__ == "__main__":
    main()
