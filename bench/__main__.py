"""`make bench`: every figure a target names, measured in one run.

Receiver throughput, drain rate, webhook-to-row latency, live streams under load, backfill
and the reports' speed.

.venv/bin/python -m bench [--only receiver drain latency] [--loadgen auto|wrk|python]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import report
from bench.analytics import run_analytics
from bench.backfill import run_backfill_bench
from bench.clv import run_clv
from bench.drain import run_drain
from bench.insights import run_insights
from bench.latency import run_latency
from bench.live import run_live
from bench.loadgen import generator_name
from bench.products import run_products
from bench.receiver import run_receiver
from bench.services import (
    fresh_database,
    postgres_server,
    redis_namespace,
    redis_server,
    stop_all,
)
from cartwheel.migrate import upgrade
from core.crypto import generate_key
from core.settings import Settings
from models.db import get_engine, session_scope
from shops.registration import add_tenant

PHASES = (
    "receiver", "drain", "latency", "live", "backfill", "insights", "analytics", "clv",
    "products",
)  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=PHASES, default=list(PHASES))
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument(
        "--workers", type=int, default=(os.cpu_count() or 1) + 1,
        help="gunicorn workers for both servers (default: the production config's cores + 1)",
    )  # fmt: skip
    p.add_argument("--connections", type=int, default=8, help="concurrent load connections")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before each measured load")
    p.add_argument("--seconds", type=float, default=10.0, help="measured load per server")
    p.add_argument("--events", type=int, default=20_000, help="entries the drain moves")
    p.add_argument("--rate", type=float, default=200.0, help="webhooks/s for the latency run")
    p.add_argument("--latency-seconds", type=float, default=30.0)
    p.add_argument("--live-clients", type=int, default=500, help="open event streams")
    p.add_argument("--live-seconds", type=float, default=30.0)
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    p.add_argument(
        "--profile", action="store_true",
        help="run the measured drain under cProfile (bench/results/drain.pstats)",
    )  # fmt: skip
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _stop_on_signals()
    generator = generator_name(args.loadgen)
    results: dict[str, Any] = {"machine": report.machine(), "errors": {}}
    logs = report.RESULTS / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cw-bench-")))
            pg, pg_source = stack.enter_context(postgres_server(workdir))
            redis_url, redis_source = stack.enter_context(redis_server(workdir))
            database_url = stack.enter_context(fresh_database(pg))
            stack.callback(lambda: get_engine(database_url).dispose())
            namespace = stack.enter_context(
                redis_namespace(redis_url, f"cwbench-{uuid.uuid4().hex[:8]}")
            )
            results["services"] = {"postgres": pg_source, "redis": redis_source}
            _say(f"services: PostgreSQL from {pg_source}, Redis from {redis_source}")
            upgrade(database_url)
            # The admission script still runs on every delivery, but the per-tenant share is
            # lifted: these phases measure capacity, which a few tenants' share would cap.
            settings = Settings(
                database_url,
                redis_url,
                generate_key(),
                namespace=namespace,
                tenant_rate=0.0,
                tenant_backlog_max=10_000_000,
            )
            tenants = _tenants(settings, 4)
            _run_phases(args, results, settings, tenants, generator, logs)
    finally:
        stop_all()
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["wall_seconds"] = round(time.monotonic() - started, 1)
    path = report.write(results)
    complete = set(args.only) == set(PHASES) and not results["errors"]
    if complete and report.write_docs(results, generator):
        print(f"figures written to {report.DOCS.relative_to(report.ROOT)}")
    print()
    print(report.table(results))
    for note in report.notes(results):
        print(f"note: {note}")
    why = " (wrk is not installed)" if generator == "python" and args.loadgen == "auto" else ""
    print(f"\nload generator: {generator}{why}; details in {path.relative_to(report.ROOT)}")
    if results["errors"]:
        return 1
    return 2 if args.strict and not report.all_passed(results) else 0


def _run_phases(
    args: argparse.Namespace,
    results: dict[str, Any],
    settings: Settings,
    tenants: list[dict[str, str]],
    generator: str,
    logs: Path,
) -> None:
    ns = settings.namespace
    phases: dict[str, Callable[[], dict[str, Any]]] = {
        "receiver": lambda: run_receiver(
            settings.with_overrides(namespace=f"{ns}-rx"), tenants[0], generator=generator,
            workers=args.workers, warmup=args.warmup, seconds=args.seconds,
            connections=args.connections, workdir=logs,
        ),
        "drain": lambda: run_drain(
            settings.with_overrides(namespace=f"{ns}-drain"), [t["id"] for t in tenants],
            events=args.events, warmup=1_000,
            profile=report.RESULTS / "drain.pstats" if args.profile else None,
        ),
        "latency": lambda: run_latency(
            settings.with_overrides(namespace=f"{ns}-lat"), tenants, rate=args.rate,
            seconds=args.latency_seconds, workers=args.workers, workdir=logs,
        ),
        "live": lambda: run_live(
            settings.with_overrides(namespace=f"{ns}-live"), tenants, clients=args.live_clients,
            rate=args.rate, seconds=args.live_seconds, workers=args.workers, workdir=logs,
        ),
        "insights": lambda: run_insights(settings.with_overrides(namespace=f"{ns}-ins")),
        "analytics": lambda: run_analytics(settings.with_overrides(namespace=f"{ns}-ca")),
        "clv": lambda: run_clv(settings.with_overrides(namespace=f"{ns}-clv")),
        "products": lambda: run_products(settings.with_overrides(namespace=f"{ns}-pr")),
        "backfill": lambda: run_backfill_bench(
            settings.with_overrides(namespace=f"{ns}-bf"), workdir=logs
        ),
    }  # fmt: skip
    for name in PHASES:
        if name not in args.only:
            continue
        _say(f"{name}: running")
        began = time.monotonic()
        try:
            results[name] = phases[name]()
        except Exception as exc:
            traceback.print_exc()
            results["errors"][name] = f"{exc.__class__.__name__}: {exc}"
        _say(f"{name}: done in {time.monotonic() - began:.0f} s")


def _tenants(settings: Settings, count: int) -> list[dict[str, str]]:
    """Shops registered the way `cartwheel tenants add` does it."""
    out = []
    for i in range(count):
        shop, secret = f"bench-{i}-{uuid.uuid4().hex[:6]}.myshopify.com", uuid.uuid4().hex
        with session_scope(settings.database_url) as session:
            tenant = add_tenant(
                session, shop=shop, name=f"Bench {i}", webhook_secret=secret,
                secret_keys=settings.secret_keys,
            )  # fmt: skip
            out.append({"id": str(tenant.id), "shop": shop, "secret": secret})
    return out


def _stop_on_signals() -> None:
    """Ctrl-C, SIGTERM and SIGHUP unwind the run (and its clean-up), which then can't be cut."""

    def interrupt(signum: int, frame: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        _say(f"{signal.Signals(signum).name}: stopping every process and cleaning up")
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
