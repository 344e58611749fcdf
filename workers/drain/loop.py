"""Drain the event streams into PostgreSQL: read a batch, write it in one transaction, then ack.

Nothing is acknowledged before its commit. A batch that the database rejects is retried one
delivery per transaction so a single poison event cannot hold back the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import redis
from sqlalchemy.exc import SQLAlchemyError

from core.errors import TransientError, is_transient
from core.settings import Settings
from core.wire import Delivery, StreamConsumer
from models.db import session_scope
from workers.drain import metrics
from workers.drain.batch import (
    BatchOutcome,
    ParsedBatch,
    Poison,
    dead_letter,
    ingest_batch,
    parse_deliveries,
)
from workers.drain.fair import FairReader
from workers.sync.refresh import request_refresh
from writes.events import write_dead_letters

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class DrainResult:
    processed: int = 0
    batches: int = 0
    more: bool = False  # stopped on the time budget with entries still flowing


def drain(res: Resources, *, budget: float | None = None) -> DrainResult:
    """Process this consumer's own pending entries, then new ones until empty or out of time.

    Batches are tenant-fair (workers/drain/fair.py): the drain reads ahead of what it writes,
    and each batch gives every tenant in the window an equal share. The next batch is read and
    parsed in a second thread while the current one is written: parsing is Python work, writing
    mostly waiting for PostgreSQL, so the two overlap. Entries read ahead are this consumer's
    pending entries until they are written and acknowledged like any other, so a process dying
    in between loses nothing; out of time, the drain writes what it carries and stops.
    """
    settings, consumer = res.settings, res.consumer
    deadline = time.monotonic() + (settings.drain_time_budget if budget is None else budget)
    result = DrainResult()
    reader = FairReader(consumer, settings, _read_for)
    batch = reader.first()
    parsed = parse_deliveries(batch) if batch else None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drain-ahead") as ahead:
        while batch:
            stopping = time.monotonic() >= deadline
            upcoming = ahead.submit(_read_ahead, reader, not stopping)
            process(res, batch, parsed)
            result.processed += len(batch)
            result.batches += 1
            batch, parsed = upcoming.result()
            if stopping:
                result.more = True
    return result


def _read_ahead(reader: FairReader, fresh: bool) -> tuple[list[Delivery], Any]:
    batch = reader.next(fresh=fresh)
    return batch, parse_deliveries(batch) if batch else None


def _read_for(
    consumer: StreamConsumer, count: int, block_ms: int | None, pending: bool
) -> list[Delivery]:
    return _read(consumer, count, block_ms, pending=pending)


def reclaim(res: Resources) -> int:
    """Take over entries left pending by dead consumers and process them here."""
    settings, consumer = res.settings, res.consumer
    claimed = _guard(lambda: consumer.reclaim(settings.reclaim_idle_ms, settings.drain_batch_size))
    if claimed:
        metrics.RECLAIMED.inc(len(claimed))
        log.warning("reclaimed pending entries", extra={"count": len(claimed)})
        try:
            process(res, claimed)
        except TransientError:
            # Only a consumer dying mid-batch counts towards max_deliveries; an outage that
            # outlasts a few reclaim ticks must not turn every pending entry into a dead letter.
            _guard(lambda: consumer.forgive(claimed))
            raise
    return len(claimed)


def process(
    res: Resources, deliveries: list[Delivery], parsed: ParsedBatch | None = None
) -> BatchOutcome:
    """Write one batch (or isolate its poison), then acknowledge every entry in it."""
    settings, consumer = res.settings, res.consumer
    started = time.perf_counter()
    worn_out = [d for d in deliveries if d.reclaims > settings.max_deliveries]
    fresh = [d for d in deliveries if d.reclaims <= settings.max_deliveries]
    if worn_out:
        parsed = None  # parsed for the whole batch; the fresh part is parsed again
    try:
        with session_scope(settings.database_url) as session:
            outcome = ingest_batch(session, fresh, parsed)
            write_dead_letters(session, [dead_letter(_worn_out(d)) for d in worn_out])
    except Exception as exc:
        # Anything but a transient failure would fail again on every retry: isolate it.
        if is_transient(exc):
            raise TransientError(str(exc)) from exc
        log.warning(
            "batch rejected, isolating", extra={"size": len(deliveries), "error": _reason(exc)}
        )
        outcome = _isolate(settings, fresh)
        with session_scope(settings.database_url) as session:
            write_dead_letters(session, [dead_letter(_worn_out(d)) for d in worn_out])
    outcome.poison.extend(_worn_out(d) for d in worn_out)
    _guard(lambda: consumer.ack(deliveries))
    _after_commit(res, outcome)
    metrics.BATCH_SIZE.observe(len(deliveries))
    metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
    return outcome


def _isolate(settings: Settings, deliveries: list[Delivery]) -> BatchOutcome:
    total = BatchOutcome()
    for d in deliveries:
        try:
            with session_scope(settings.database_url) as session:
                one = ingest_batch(session, [d])
        except Exception as exc:
            if is_transient(exc):
                raise TransientError(str(exc)) from exc
            one = BatchOutcome(poison=[Poison(d, f"database rejected the event: {_reason(exc)}")])
            try:
                with session_scope(settings.database_url) as session:
                    write_dead_letters(session, [dead_letter(p) for p in one.poison])
            except SQLAlchemyError as again:
                if is_transient(again):
                    raise TransientError(str(again)) from again
                log.error(
                    "could not dead-letter", extra={"entry": d.entry_id, "error": _reason(again)}
                )
                one = BatchOutcome(dropped=1)
        total.add(one)
    return total


def _worn_out(d: Delivery) -> Poison:
    return Poison(d, f"delivered {d.reclaims + 1} times without completing (consumers died)")


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:500]


def _after_commit(res: Resources, outcome: BatchOutcome) -> None:
    for change in outcome.applied:
        metrics.EVENTS.labels(change.resource, "applied").inc()
    for change in outcome.stale:
        metrics.EVENTS.labels(change.resource, "stale").inc()
    if outcome.recorded:
        metrics.EVENTS.labels("none", "recorded").inc(len(outcome.recorded))
    if outcome.unhandled:
        metrics.EVENTS.labels("none", "unhandled").inc(len(outcome.unhandled))
    metrics.DUPLICATES.inc(outcome.duplicates)
    metrics.STALE.inc(len(outcome.stale))
    metrics.DEAD_LETTERS.inc(len(outcome.poison))
    metrics.DROPPED.inc(outcome.dropped)
    for p in outcome.poison:
        envelope = p.delivery.salvage()
        log.warning(
            "dead letter",
            extra={
                "tenant": envelope.tenant_id,
                "topic": envelope.topic,
                "webhook_id": envelope.webhook_id,
                "error": p.error[:300],
            },
        )
    # Dashboard caches key on this version, so an answer is never staler than the data.
    _guard(lambda: res.bump_versions((), strict=True, changes=outcome.changes))
    # Entities a delivery carried only in part are read again through the Admin API.
    _guard(lambda: request_refresh(res, [p.row for p in outcome.applied if p.row is not None]))


def _read(
    consumer: StreamConsumer, count: int, block_ms: int | None, *, pending: bool = False
) -> list[Delivery]:
    return _guard(lambda: consumer.read(count, block_ms, pending=pending))


def _guard(call: Callable[[], T]) -> T:
    """Redis hiccups are transient: let the task retry instead of failing for good."""
    try:
        return call()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise TransientError(str(exc)) from exc
