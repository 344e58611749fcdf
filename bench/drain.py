"""Drain rate: the real drain from a pre-filled stream into PostgreSQL, against plain upserts."""

from __future__ import annotations

import cProfile
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg2
import redis
from psycopg2 import sql
from psycopg2.extras import Json, execute_values, register_uuid
from sqlalchemy import func, select

import resources
from bench import payloads
from bench.services import analyze, delete_keys, libpq_url, server_cpu_seconds
from core.settings import Settings
from core.wire import Envelope, shard_of, stream_keys
from models import Checkout, Customer, Order, WebhookEvent
from models.db import session_scope
from workers.drain.loop import drain
from workers.drain.parse import Parsed, parse_envelope
from workers.runtime import Resources

BASELINE_ROWS_PER_STATEMENT = 500
# Keeps `make bench` within its few minutes on a slow or busy machine; the rate stays exact.
MAX_DRAIN_SECONDS = 60.0
_VERSION = ("updated_at", "triggered_at", "webhook_id")
# resource -> (table, conflict key, typed columns written)
_SHAPES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    name: (r.table.name, ("tenant_id", r.key), r.columns)
    for name, r in resources.RESOURCES.items()
    if name in ("orders", "customers", "checkouts")
}


def run_drain(
    settings: Settings,
    tenant_ids: Sequence[str],
    *,
    events: int,
    warmup: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Both rates, their ratio, and a check that the drain wrote every row it should have.

    With `profile`, the measured drain runs under cProfile and its stats are written there."""

    def envelopes(count: int, start: int) -> list[Envelope]:
        deliveries = payloads.mixed(count, start=start)
        return [d.envelope(tenant_ids[i % len(tenant_ids)]) for i, d in enumerate(deliveries)]

    client = redis.Redis.from_url(settings.redis_url)
    try:
        res = Resources(settings, consumer_name="bench-drain")
        res.redis = client
        res.consumer.ensure_groups()
        _fill(client, settings, envelopes(warmup, 10_000_000))
        _drain_all(res, warmup)  # first batches pay for connections and imports
        analyze(settings.database_url)
        measured = envelopes(events, 0)
        changes = [parse_envelope(e) for e in measured]
        # The target's baseline: the same entity rows, raw payload included, as plain upserts.
        baseline = _baseline(settings.database_url, changes, with_payload=True)
        # For information: the typed columns alone, without the payload every row stores.
        typed_only = _baseline(settings.database_url, changes)
        started = time.perf_counter()
        _fill(client, settings, measured)
        enqueue_rate = events / (time.perf_counter() - started)
        drained = _measure_drain(res, events, profile)
    finally:
        client.close()
        delete_keys(settings.redis_url, settings.namespace)
    written = _count_rows(settings.database_url)
    return {
        "events": events,
        "batch_size": settings.drain_batch_size,
        "enqueue_per_s": round(enqueue_rate, 1),
        "drain": drained,
        "baseline": baseline,
        "ratio": drained["events_per_s"] / baseline["rows_per_s"],
        "baseline_typed_only": typed_only
        | {"ratio": drained["events_per_s"] / typed_only["rows_per_s"]},
        "rows_written": written,
        # Every processed entry is a logged row (a slow machine may stop at the time cap).
        "complete": written["webhook_events"] == warmup + drained["processed"],
        "stopped_at_time_cap": drained["processed"] < events,
    }


def _measure_drain(res: Resources, events: int, profile: Path | None) -> dict[str, Any]:
    settings = res.settings
    """Rate of the real drain, with the CPU it and PostgreSQL spent per event."""
    # CPU time, not wall time: on a busy machine waiting for a core would swamp the profile.
    profiler = cProfile.Profile(time.process_time) if profile else None
    server_cpu = server_cpu_seconds(settings.database_url)
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    processed, batches = _drain_all(res, events, cap=MAX_DRAIN_SECONDS)
    if profiler:
        profiler.disable()
        profiler.dump_stats(str(profile))
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_started
    server_after = server_cpu_seconds(settings.database_url)
    return {
        "events_per_s": round(processed / seconds, 1),
        "seconds": round(seconds, 2),
        "processed": processed,
        "mean_batch": round(processed / max(batches, 1)),
        # CPU per event, which a busy machine distorts much less than the wall-clock rate.
        "client_cpu_ms_per_event": round(1000 * client_cpu / max(processed, 1), 3),
        "postgres_cpu_ms_per_event": _per_item_ms(server_cpu, server_after, processed),
    }


def _per_item_ms(before: float | None, after: float | None, count: int) -> float | None:
    if before is None or after is None or not count:
        return None
    return round(1000 * (after - before) / count, 3)


def _fill(client: redis.Redis, settings: Settings, envelopes: list[Envelope]) -> None:
    """Enqueue the entries the receiver would have written, pipelined 500 at a time."""
    keys = stream_keys(settings)
    for i in range(0, len(envelopes), 500):
        pipe = client.pipeline(transaction=False)
        for envelope in envelopes[i : i + 500]:
            key = keys[shard_of(envelope.tenant_id, len(keys))]
            pipe.execute_command("XADD", key, "*", *envelope.to_fields())
        pipe.execute()


def _drain_all(res: Resources, expected: int, cap: float = 600.0) -> tuple[int, int]:
    """The real drain, in-process, until it has processed `expected` entries, stalls, or has
    run for `cap` seconds. Returns (entries processed, batches written)."""
    deadline = time.monotonic() + cap
    total = batches = 0
    while total < expected and time.monotonic() < deadline:
        result = drain(res, budget=max(0.0, deadline - time.monotonic()))
        total += result.processed
        batches += result.batches
        if not result.processed:
            break
    return total, batches


def _baseline(
    database_url: str, changes: list[Parsed], *, with_payload: bool = False
) -> dict[str, Any]:
    """Plain batched upserts of the same entity rows (typed columns, and with `with_payload`
    the raw JSONB payload each row keeps) into empty scratch copies of the entity tables."""
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for change in changes:
        rows[change.resource or ""].append(_typed_row(change, with_payload))
    register_uuid()
    conn = psycopg2.connect(libpq_url(database_url))
    try:
        with conn.cursor() as cur:
            statements = {r: _scratch_upsert(cur, r, with_payload).as_string(cur) for r in rows}
        conn.commit()
        server_cpu = server_cpu_seconds(database_url)
        started, cpu_started = time.perf_counter(), time.process_time()
        with conn.cursor() as cur:
            for resource, resource_rows in rows.items():
                for i in range(0, len(resource_rows), BASELINE_ROWS_PER_STATEMENT):
                    chunk = resource_rows[i : i + BASELINE_ROWS_PER_STATEMENT]
                    execute_values(cur, statements[resource], chunk, page_size=len(chunk))
                    conn.commit()  # one transaction per batch, as the drain does
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
        server_after = server_cpu_seconds(database_url)
    finally:
        conn.close()
    return {
        "rows_per_s": round(len(changes) / seconds, 1),
        "seconds": round(seconds, 2),
        "rows_per_statement": BASELINE_ROWS_PER_STATEMENT,
        "client_cpu_ms_per_row": round(1000 * client_cpu / len(changes), 3),
        "postgres_cpu_ms_per_row": _per_item_ms(server_cpu, server_after, len(changes)),
    }


def _typed_row(change: Parsed, with_payload: bool) -> tuple[Any, ...]:
    _, key, columns = _SHAPES[change.resource or ""]
    entity = change.row
    assert entity is not None
    values = {
        "tenant_id": change.tenant_id, key[1]: entity.key, "updated_at": entity.updated_at,
        "triggered_at": change.triggered_at, "webhook_id": change.envelope.webhook_id,
    }  # fmt: skip
    row = tuple(
        values[c] if c in values else entity.values.get(c) for c in (*key, *columns, *_VERSION)
    )
    # The payload as a parsed object, serialized by the driver as a plain upsert would.
    return (*row, Json(json.loads(change.body))) if with_payload else row


def _scratch_upsert(cur: Any, resource: str, with_payload: bool) -> sql.Composed:
    """Create an empty copy of the entity table (columns, defaults, indexes) and its upsert."""
    table, key, columns = _SHAPES[resource]
    scratch = sql.Identifier(f"bench_scratch_{table}{'_payload' if with_payload else ''}")
    cur.execute(
        sql.SQL(
            "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES "
            "INCLUDING COMPRESSION)"
        ).format(scratch, sql.Identifier(table))
    )
    names = [*key, *columns, *_VERSION, *(["payload"] if with_payload else [])]
    updates = [c for c in names if c not in key]
    return sql.SQL("INSERT INTO {} ({}) VALUES %s ON CONFLICT ({}) DO UPDATE SET {}").format(
        scratch,
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(map(sql.Identifier, key)),
        sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updates
        ),
    )


def _count_rows(database_url: str) -> dict[str, int]:
    with session_scope(database_url) as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (WebhookEvent, Order, Customer, Checkout)
        }
