"""Backfill rate (rows/s into PostgreSQL) and peak memory, from a local bulk-result JSONL.

The JSONL is what the fake Admin API would return for the orders bulk query (line items on
their own lines, some far from their parent). A child process applies it through
`workers.sync.buckets.apply_result_file` (split into buckets, last-writer-wins upserts,
checkpoints) and reports its own peak RSS; two sizes show whether memory stays flat as the
file grows.

    .venv/bin/python -m bench.backfill [--orders 100000] [--small 10000]

From `bench/__main__.py`: `run_backfill_bench(settings, orders=..., workdir=...)`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import resources
from core.settings import Settings
from devtools.fake_shopify.bulk import write_bulk_file
from devtools.fake_shopify.graphql import parse
from devtools.fake_shopify.store import ShopData
from models.db import get_engine, session_scope
from resources.graphql import bulk_query
from shops.registration import add_tenant

ROOT = Path(__file__).resolve().parents[1]


def write_orders_jsonl(path: Path, orders: int) -> dict[str, int]:
    """A bulk result of `orders` orders with their line items; returns line and root counts."""
    shop = ShopData(domain="bench.myshopify.com", token="bench")
    shop.seed(orders=orders, customers=max(1, orders // 5), products=200)
    pull = resources.get("orders").pull
    assert pull is not None
    selection = parse(bulk_query(pull, None)).fields[0].node_selection()
    with path.open("w") as out:
        roots = write_bulk_file(out, shop.listing("Order"), selection)
    with path.open("rb") as f:
        lines = sum(1 for _ in f)
    return {"orders": roots, "line_items": lines - roots, "bytes": path.stat().st_size}


def _apply_in_child(settings: Settings, path: Path, workdir: Path) -> dict[str, Any]:
    """Run the apply in a fresh process so its peak RSS is its own."""
    from shops.syncs import start_run

    with session_scope(settings.database_url) as session:
        tenant = add_tenant(
            session,
            shop=f"bench-{uuid.uuid4().hex[:8]}",
            name="bench",
            webhook_secret="bench",
            secret_keys=settings.secret_keys,
        )
        run, _ = start_run(session, tenant_id=tenant.id, resources=["orders"], since=None)
        ids = {"tenant": str(tenant.id), "run": str(run.id)}
    env_settings = settings.with_overrides(backfill_dir=str(workdir))
    args = [sys.executable, "-m", "bench.backfill", "--child", str(path), ids["tenant"], ids["run"]]
    done = subprocess.run(
        args,
        env={**env_settings.to_env(), "PATH": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"backfill child failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _child(path: str, tenant_id: str, run_id: str) -> None:
    from workers.runtime import Resources
    from workers.sync.buckets import apply_result_file

    res = Resources(Settings.from_env())
    started = time.perf_counter()
    roots = apply_result_file(
        res,
        tenant_id=uuid.UUID(tenant_id),
        run_id=uuid.UUID(run_id),
        resource="orders",
        path=Path(path),
    )
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "orders": roots,
                "seconds": round(elapsed, 2),
                "peak_rss_mib": round(_peak_kib() / 1024, 1),
            }
        )
    )


def _peak_kib() -> int:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    forking parent (here the bench, holding the generated shop), VmHWM starts afresh at exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_backfill_bench(
    settings: Settings, *, orders: int = 100_000, small: int = 10_000, workdir: Path | None = None
) -> dict[str, Any]:
    """Measure both sizes; returns figures for the bench report."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cw-backfill-", dir=workdir) as tmp:
        for label, count in (("small", small), ("large", orders)):
            path = Path(tmp) / f"orders-{count}.jsonl"
            shape = write_orders_jsonl(path, count)
            measured = _apply_in_child(settings, path, Path(tmp))
            rows = shape["orders"] + shape["line_items"]
            results[label] = {
                **shape,
                **measured,
                "rows": rows,
                "rows_per_second": round(rows / measured["seconds"]),
                "orders_per_second": round(shape["orders"] / measured["seconds"]),
            }
            path.unlink()
    results["memory_growth"] = round(
        results["large"]["peak_rss_mib"] / max(results["small"]["peak_rss_mib"], 1), 2
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    from bench.services import fresh_database, postgres_server
    from cartwheel.migrate import upgrade
    from core.crypto import generate_key

    with (
        tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp,
        postgres_server(Path(tmp)) as (server, _source),
        fresh_database(server) as url,
    ):
        upgrade(url)
        settings = Settings(url, "redis://unused", generate_key())
        try:
            results = run_backfill_bench(settings, orders=args.orders, small=args.small)
        finally:
            get_engine(url).dispose()
    for label in ("small", "large"):
        r = results[label]
        print(
            f"{label:6} {r['orders']:>8,} orders + {r['line_items']:,} line items "
            f"({r['bytes'] / 2**20:,.0f} MiB JSONL): {r['seconds']:.1f} s, "
            f"{r['rows_per_second']:,} rows/s, peak RSS {r['peak_rss_mib']} MiB"
        )
    print(f"peak memory, large / small: {results['memory_growth']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
