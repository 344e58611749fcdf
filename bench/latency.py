"""Webhook-to-row latency at a steady rate, through the whole production path.

gunicorn receiver -> Redis stream -> drain ticks from a real Celery beat (redbeat) -> real
Celery worker -> PostgreSQL. The sender is open-loop: delivery i is due at t0 + i/rate whatever
happened to the others, and latency runs from that due time, so a slow answer cannot hide
queueing (no coordinated omission).
"""

from __future__ import annotations

import http.client
import itertools
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import text

from bench import payloads
from bench.services import analyze, child, child_env, delete_keys, gunicorn
from core import jobs
from core.settings import Settings
from models.db import get_engine

# Enough in flight that a slow answer delays no other delivery's departure.
SENDER_THREADS = 32
POLL_SECONDS = 0.2


class Sent:
    """Per delivery: when it was due, when it went out, when and how it was answered."""

    def __init__(self, count: int) -> None:
        self.due = [0.0] * count
        self.sent = [0.0] * count
        self.answered = [0.0] * count
        self.status = [0] * count


def run_latency(
    settings: Settings,
    tenants: Sequence[dict[str, str]],
    *,
    rate: float,
    seconds: float,
    workers: int,
    workdir: Path,
) -> dict[str, Any]:
    """p50/p99 from due time to the row's transaction, with what the sender and receiver did."""
    count = int(rate * seconds)
    deliveries = spread_over(tenants, count + 20, start=20_000_000)
    warm, measured = deliveries[:20], deliveries[20:]
    env = child_env(settings)
    engine = get_engine(settings.database_url)
    try:
        with (
            gunicorn("receiver:create_app()", env, workdir / "lat-receiver.log", workers) as base,
            celery_pipeline(env, settings, workdir),
        ):
            send_open_loop(base, warm, rate=20)
            wait_for_rows(engine, [w for w, *_ in warm], timeout=60)
            analyze(settings.database_url)
            offset = _clock_offset(engine)
            seen: dict[str, float] = {}
            with _poller(engine, seen):
                sent = send_open_loop(base, measured, rate=rate)
                accepted = [w for (w, *_), s in zip(measured, sent.status, strict=True) if s == 200]
                missing = wait_for_rows(engine, accepted, timeout=30)
        committed = processed_at(engine, accepted)
    finally:
        delete_keys(settings.redis_url, settings.namespace)
    due = {w: sent.due[i] for i, (w, *_) in enumerate(measured)}
    by_commit = [committed[w] - offset - due[w] for w in accepted if w in committed]
    by_poll = [seen[w] - due[w] for w in accepted if w in seen]
    went = {w: sent.sent[i] for i, (w, *_) in enumerate(measured)}
    from_send = [committed[w] - offset - went[w] for w in accepted if w in committed]
    late = [s - d for s, d in zip(sent.sent, sent.due, strict=True)]
    answer = [a - s for a, s in zip(sent.answered, sent.sent, strict=True)]
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": count,
        "accepted": len(accepted),
        "not_accepted": count - len(accepted),
        "rows_missing": len(missing),
        "to_processed_at": summary(by_commit),
        "to_seen_by_poll": summary(by_poll) | {"poll_interval": POLL_SECONDS},
        # From when the request actually went out: without the sender's queueing when the
        # receiver cannot keep up with the rate.
        "sent_to_processed_at": summary(from_send),
        "sender_lateness": summary(late),
        "receiver_answer": summary(answer),
        "clock_offset_s": round(offset, 4),
    }


def spread_over(
    tenants: Sequence[dict[str, str]], count: int, *, start: int
) -> list[tuple[str, bytes, dict[str, str]]]:
    """`count` signed deliveries of the realistic mix (ids from `start`), the tenants taking
    turns: (webhook id, body, headers)."""
    return [
        (d.webhook_id, d.body, d.headers(tenants[i % len(tenants)]["shop"],
                                         tenants[i % len(tenants)]["secret"]))
        for i, d in enumerate(payloads.mixed(count, start=start))
    ]  # fmt: skip


def summary(values: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in seconds (nearest rank)."""
    if not values:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 4)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": round(ordered[-1], 4)}


@contextmanager
def celery_pipeline(
    env: dict[str, str], settings: Settings, workdir: Path, prefix: str = "lat"
) -> Iterator[None]:
    """A Celery worker (default concurrency) and a redbeat beat, as the Procfile runs them."""
    celery = [sys.executable, "-m", "celery", "-A", "workers.runtime"]
    # No gossip/mingle/heartbeat: other workers may share this Redis and must not be mixed in.
    worker_args = [
        *celery, "worker", "-Q", ",".join(jobs.queues(settings)), "-n", f"{settings.namespace}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
    ]  # fmt: skip
    beat_args = [*celery, "beat", "-l", "INFO"]
    with child(worker_args, env, workdir / f"{prefix}-worker.log", cwd=workdir) as worker:
        worker.wait_for_text("ready.", timeout=60)
        with child(beat_args, env, workdir / f"{prefix}-beat.log", cwd=workdir) as beat:
            beat.wait_for_text("beat: Starting", timeout=60)
            yield


def send_open_loop(
    base: str, deliveries: list[tuple[str, bytes, dict[str, str]]], rate: float
) -> Sent:
    """Open-loop: every delivery goes out at its due time, from whichever thread is free."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port
    sent = Sent(len(deliveries))
    start = time.time() + 0.2
    numbers = itertools.count()  # next() on it is atomic under the GIL

    def loop() -> None:
        while (i := next(numbers)) < len(deliveries):
            due = start + i / rate
            sent.due[i] = due
            time.sleep(max(0.0, due - time.time()))
            _, body, headers = deliveries[i]
            sent.sent[i] = time.time()
            conn = http.client.HTTPConnection(host, port, timeout=10)
            try:
                conn.request("POST", "/webhooks", body, headers)
                response = conn.getresponse()
                response.read()
                sent.status[i] = response.status
            except (OSError, http.client.HTTPException):
                sent.status[i] = -1
            finally:
                conn.close()
            sent.answered[i] = time.time()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(SENDER_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent


def wait_for_rows(engine: Any, webhook_ids: list[str], timeout: float) -> set[str]:
    """Wait until every id is in the event log; returns the ones still missing."""
    wanted = set(webhook_ids)
    deadline = time.monotonic() + timeout
    while wanted and time.monotonic() < deadline:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT webhook_id FROM webhook_events WHERE webhook_id = ANY(:ids)"),
                {"ids": list(wanted)},
            ).scalars()
            wanted.difference_update(found)
        if wanted:
            time.sleep(0.2)
    return wanted


def processed_at(engine: Any, webhook_ids: list[str]) -> dict[str, float]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT webhook_id, extract(epoch FROM processed_at)::float8 "
                "FROM webhook_events WHERE webhook_id = ANY(:ids)"
            ),
            {"ids": webhook_ids},
        )
        return {w: float(t) for w, t in rows}


def _clock_offset(engine: Any) -> float:
    """Database clock minus ours (zero on one machine, but the URLs may point elsewhere)."""
    with engine.connect() as conn:
        before = time.time()
        db = float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
        after = time.time()
    return db - (before + after) / 2


@contextmanager
def _poller(engine: Any, seen: dict[str, float]) -> Iterator[None]:
    """Note when each row first becomes visible (an upper bound on its commit time)."""
    stop = threading.Event()
    query = text(
        "SELECT webhook_id FROM webhook_events "
        "WHERE processed_at > now() - make_interval(secs => 5)"
    )

    def poll() -> None:
        with engine.connect() as conn:
            while not stop.is_set():
                ids = conn.execute(query).scalars().all()
                conn.rollback()  # a fresh snapshot (and a fresh now()) next time
                now = time.time()
                for w in ids:
                    seen.setdefault(w, now)
                stop.wait(POLL_SECONDS)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
