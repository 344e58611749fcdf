"""Products report and CSV export bench, on the insights bench's shop (1,000,000 orders,
100,000 customers, 500 products with a type and a vendor).

The issue's promise for every report over any range up to three years: uncached p95 <= 50 ms,
cached p95 <= 5 ms. The export's promise is memory: a million-row CSV streams in constant
memory, so this measures the resident-memory growth of the process while it is read, and the
rows per second.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import date, timedelta
from typing import Any

import redis

from bench.figures import Row, api_client, p95_row, percentiles, standalone, timed
from bench.insights import CACHED_P95_MS, UNCACHED_P95_MS, seed
from bench.services import analyze
from core.settings import Settings
from core.versions import bump_versions
from models.db import session_scope
from writes.rollups import rebuild


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(settings: Settings, tenant_id: uuid.UUID, *, samples: int) -> dict[str, Any]:
    client, headers = api_client(settings, tenant_id)
    redis_client = redis.Redis.from_url(settings.redis_url)

    def bump() -> None:
        bump_versions(redis_client, settings.namespace, [tenant_id])

    today = date.today()
    out: dict[str, Any] = {}
    for label, days in (("30d", 30), ("365d", 365), ("3y", 1096)):
        url = f"/api/analytics/products?from={today - timedelta(days=days - 1)}&to={today}"
        for name, query in (("product", url), ("vendor_web", f"{url}&group_by=vendor&channel=web")):
            get = lambda q=query: client.get(q, headers=headers)  # noqa: E731
            for _ in range(2):
                timed(get, bump)
            source = get().get_json()["source"]
            out[f"{name}_{label}_uncached"] = percentiles(
                [timed(get, bump) for _ in range(samples)]
            )
            out[f"{name}_{label}_cached"] = percentiles([timed(get) for _ in range(samples)])
            out[f"{name}_{label}_source"] = source
    redis_client.close()
    if os.environ.get("BENCH_EXPORT", "1") != "0":
        out["export"] = export(client, headers)
    return out


def export(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    """Every order as CSV: rows per second and how much resident memory grew."""
    before = highest = _resident_bytes()
    started = time.perf_counter()
    response = client.get("/api/orders?format=csv&sort=id", headers=headers)
    sent = lines = 0
    for chunk in response.response:
        sent += len(chunk)
        lines += chunk.count(b"\n" if isinstance(chunk, bytes) else "\n")
        highest = max(highest, _resident_bytes())
    response.close()
    elapsed = time.perf_counter() - started
    return {
        "rows": lines - 1,
        "mib_sent": sent / 2**20,
        "seconds": elapsed,
        "rows_per_s": (lines - 1) / elapsed,
        "rss_growth_mib": (highest - before) / 2**20,
    }


def run_products(
    settings: Settings, *, orders: int = 1_000_000, customers: int = 100_000, samples: int = 20
) -> dict[str, Any]:
    began = time.monotonic()
    tenant_id = seed(settings, orders=orders, customers=customers)
    result: dict[str, Any] = {"orders": orders, "customers": customers}
    result["seed_s"] = time.monotonic() - began
    began = time.monotonic()
    with session_scope(settings.database_url) as session:
        rebuild(session, tenant_id)
    result["rollup_rebuild_s"] = time.monotonic() - began
    analyze(settings.database_url)  # as autovacuum would after the rebuild's writes
    result.update(measure(settings, tenant_id, samples=samples))
    return result


def report_rows(result: dict[str, Any]) -> list[Row]:
    """Rows for bench/report.py's table: (figure, measured, baseline, ratio, target, result)."""
    rows = []
    for label in ("30d", "365d", "3y"):
        for kind, target in (("uncached", UNCACHED_P95_MS), ("cached", CACHED_P95_MS)):
            figure = result[f"product_{label}_{kind}"]
            rows.append(p95_row(f"products report p95 {kind} ({label})", figure, target))
    ex = result.get("export")
    if ex is None:
        return rows
    rows.append((
        f"orders CSV export ({ex['rows']:,} rows)", f"{ex['rows_per_s']:,.0f} rows/s",
        f"{ex['mib_sent']:.0f} MiB in {ex['seconds']:.0f} s", "-",
        "constant memory", f"RSS +{ex['rss_growth_mib']:.1f} MiB",
    ))  # fmt: skip
    return rows


def main() -> None:
    """`python -m bench.products [server URL] [redis URL]`: a database of its own, measured."""
    orders = int(os.environ.get("BENCH_ORDERS", "1000000"))
    samples = int(os.environ.get("BENCH_SAMPLES", "20"))
    run = lambda s: run_products(s, orders=orders, customers=orders // 10, samples=samples)  # noqa: E731
    standalone("pr", run, report_rows)


if __name__ == "__main__":
    main()
