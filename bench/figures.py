"""What the latency phases share: timing a request, its percentiles, their table rows, and the
stand-alone entry point (`python -m bench.<phase> [server URL] [redis URL]`)."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bench.services import delete_keys, fresh_database
from cartwheel.migrate import upgrade
from core.crypto import generate_key
from core.settings import Settings
from dashboard_api.app import create_app
from dashboard_api.tokens import issue_access_token
from models.db import get_engine

Row = tuple[str, str, str, str, str, str]  # figure, measured, baseline, ratio, target, result


def api_client(settings: Settings, tenant_id: uuid.UUID) -> tuple[FlaskClient, dict[str, str]]:
    """A test client of the dashboard API and the headers of an analyst of the tenant."""
    client = create_app(settings).test_client()
    token = issue_access_token(
        settings, tenant_id=tenant_id, user_id=uuid.uuid4(), role="analyst",
        email="bench@example.com", generation=0,
    )  # fmt: skip
    return client, {"Authorization": f"Bearer {token}"}


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p95 of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"p50_ms": pick(0.5) * 1000, "p95_ms": pick(0.95) * 1000, "n": len(ordered)}


def timed(call: Callable[[], TestResponse], before: Callable[[], None] | None = None) -> float:
    """Seconds one request takes (after `before`, untimed); anything but a 200 is an error."""
    if before:
        before()
    started = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
    return elapsed


def sampled(client: FlaskClient, url: str, headers: dict[str, str], samples: int) -> dict:
    """Percentiles of `samples` GETs of one URL, after two that warm its caches and plans."""
    get = lambda: client.get(url, headers=headers)  # noqa: E731
    for _ in range(2):
        timed(get)
    return percentiles([timed(get) for _ in range(samples)])


def p95_row(label: str, figure: dict[str, float], target_ms: float | None = None) -> Row:
    """A percentile figure's table row, judged against its target when it has one."""
    p95 = figure["p95_ms"]
    target = "-" if target_ms is None else f"<= {target_ms:g} ms"
    verdict = "-" if target_ms is None else ("pass" if p95 <= target_ms else "FAIL")
    return (label, f"{p95:.1f} ms", f"p50 {figure['p50_ms']:.1f} ms", "-", target, verdict)


def standalone(prefix: str, run: Callable[[Settings], dict[str, Any]], rows: Callable) -> None:
    """Run one phase on a database of its own (argv: server URL, Redis URL), print its figures."""
    server = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url = sys.argv[2] if len(sys.argv) > 2 else "redis://127.0.0.1:6379/0"
    with fresh_database(server) as url:
        upgrade(url)
        namespace = f"cwbench-{prefix}-{os.getpid()}"
        settings = Settings(url, redis_url, generate_key(), namespace=namespace)
        try:
            result = run(settings)
        finally:
            get_engine(url).dispose()
            delete_keys(redis_url, settings.namespace)
    print(json.dumps(result, indent=2))
    for row in rows(result):
        print("  ".join(row))
