"""Predictive CLV bench: fit BG/NBD and Gamma-Gamma for the insights bench's shop (1,000,000
orders, 100,000 customers) through the task's own function, twice (the first in a fresh process
pays the library's import), then time the CLV endpoints.

The issue's promise: CLV for 100k customers recomputes in a background task within 60 s.
`python -m bench.clv [server URL] [redis URL]`; BENCH_ORDERS sets the size (customers: a tenth).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from sqlalchemy import select

from bench.analytics import prepare
from bench.figures import Row, api_client, p95_row, sampled, standalone
from core.settings import Settings
from models.clv import ClvFit
from models.db import session_scope
from workers.analytics.clv import fit_tenant

FIT_S = 60.0


def fit(settings: Settings, tenant_id: uuid.UUID) -> dict[str, Any]:
    """One whole fit, timed from outside, with the fit's own phase timings."""
    started = time.perf_counter()
    done = fit_tenant(settings, tenant_id)
    seconds = time.perf_counter() - started
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(ClvFit).where(ClvFit.id == uuid.UUID(done.fit_id))).one()
        return {
            "seconds": seconds,
            "status": row.status,
            "customers": row.customers,
            "repeat_customers": row.repeat_customers,
            "timings": row.timings,
            "parameters": row.parameters,
            "quality": {k: v for k, v in (row.quality or {}).items() if k != "parameters"},
        }


def measure(settings: Settings, tenant_id: uuid.UUID, *, samples: int) -> dict[str, Any]:
    client, headers = api_client(settings, tenant_id)
    urls = {
        "clv_fit": "/api/analytics/clv",
        "clv_customers_first_page": "/api/analytics/clv/customers?limit=50",
        "clv_customers_by_alive": "/api/analytics/clv/customers?limit=50&sort=probability_alive",
    }
    return {name: sampled(client, url, headers, samples) for name, url in urls.items()}


def run_clv(
    settings: Settings, *, orders: int = 1_000_000, customers: int = 100_000, samples: int = 20
) -> dict[str, Any]:
    """Seed, fit twice, measure the endpoints; the bench runner's entry."""
    began = time.monotonic()
    tenant_id = prepare(settings, orders=orders, customers=customers)
    result: dict[str, Any] = {"orders": orders, "customers": customers}
    result["seed_s"] = time.monotonic() - began
    result["fits"] = [fit(settings, tenant_id) for _ in range(2)]
    result.update(measure(settings, tenant_id, samples=samples))
    return result


def report_rows(result: dict[str, Any]) -> list[Row]:
    """Rows for bench/report.py's table: (figure, measured, baseline, ratio, target, result)."""
    first, second = (f["seconds"] for f in result["fits"])
    worst = max(first, second)
    rows = [(
        f"CLV fit ({result['customers'] // 1000}k customers)", f"{worst:.1f} s",
        f"first {first:.1f} s, then {second:.1f} s", "-", f"<= {FIT_S:.0f} s",
        "pass" if worst <= FIT_S else "FAIL",
    )]  # fmt: skip
    for name in ("clv_fit", "clv_customers_first_page"):
        rows.append(p95_row(f"{name.replace('_', ' ')} p95", result[name]))
    return rows


def main() -> None:
    """`python -m bench.clv [server URL] [redis URL]`: a database of its own."""
    orders = int(os.environ.get("BENCH_ORDERS", "1000000"))
    standalone("clv", lambda s: run_clv(s, orders=orders, customers=orders // 10), report_rows)


if __name__ == "__main__":
    main()
