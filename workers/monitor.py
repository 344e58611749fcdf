"""The Celery worker's Prometheus endpoint: task metrics of every pool process, plus the backlog.

The main worker process serves /metrics on Settings.worker_metrics_port. With
PROMETHEUS_MULTIPROC_DIR set (the launcher and docker-compose set it) the counters that the pool
processes write are aggregated; the stream backlog and dead letters are read on each scrape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from core.settings import Settings
from core.wire import StreamConsumer
from models import DeadLetter
from models.db import sqlalchemy_url

log = logging.getLogger(__name__)


class BacklogCollector(Collector):
    """Stream length and pending entries per shard, and dead letters waiting, read on scrape."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2
        )
        # NullPool: no connection is kept, so a pool process forked later inherits none.
        self._engine: Engine = create_engine(
            sqlalchemy_url(settings.database_url),
            poolclass=NullPool,
            connect_args={"connect_timeout": 2},
        )

    def describe(self) -> list[Metric]:
        # Nothing to declare up front, so registering never queries Redis or the database.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "cartwheel_monitor_up",
            "Whether the last scrape could read the source (redis, database)",
            labels=["source"],
        )
        yield from self._streams(up)
        yield from self._dead_letters(up)
        yield up

    def _streams(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        try:
            shards = StreamConsumer(self._client, self.settings, "monitor").backlog()
        except redis.RedisError as exc:
            log.warning("backlog unavailable", extra={"error": exc.__class__.__name__})
            up.add_metric(["redis"], 0)
            return
        up.add_metric(["redis"], 1)
        length = GaugeMetricFamily(
            "cartwheel_stream_length",
            "Entries in the stream shard not yet processed (waiting or pending)",
            labels=["shard"],
        )
        pending = GaugeMetricFamily(
            "cartwheel_stream_pending",
            "Entries delivered to a consumer and not yet acknowledged",
            labels=["shard"],
        )
        for shard, (_key, counts) in enumerate(shards.items()):
            length.add_metric([str(shard)], counts["length"])
            pending.add_metric([str(shard)], counts["pending"])
        yield length
        yield pending

    def _dead_letters(self, up: GaugeMetricFamily) -> Iterator[Metric]:
        query = select(func.count()).select_from(DeadLetter).where(DeadLetter.replayed_at.is_(None))
        try:
            with self._engine.connect() as conn:
                waiting = conn.scalar(query) or 0
        except SQLAlchemyError as exc:
            log.warning("dead letters unavailable", extra={"error": exc.__class__.__name__})
            up.add_metric(["database"], 0)
            return
        up.add_metric(["database"], 1)
        yield GaugeMetricFamily(
            "cartwheel_dead_letters_waiting", "Dead letters not yet replayed", value=waiting
        )


def metrics_registry(settings: Settings) -> CollectorRegistry:
    """Every pool process's metrics (multiprocess mode) or this process's, plus the backlog."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    registry.register(BacklogCollector(settings))
    return registry


_server: list[Any] = []


def serve_metrics(settings: Settings) -> None:
    """Start the metrics endpoint in the main worker process once the worker is ready."""
    if not settings.worker_metrics_port or _server:
        return
    try:
        server, _thread = start_http_server(
            settings.worker_metrics_port,
            addr=settings.worker_metrics_host,
            registry=metrics_registry(settings),
        )
    except OSError as exc:
        # Metrics are not worth refusing work over: say so loudly and keep draining.
        log.error(
            "worker metrics endpoint not started",
            extra={"port": settings.worker_metrics_port, "error": str(exc)},
        )
        return
    _server.append(server)
    log.info("worker metrics endpoint started", extra={"port": settings.worker_metrics_port})


def stop_metrics() -> None:
    """Close the metrics endpoint when the worker stops."""
    while _server:
        _server.pop().shutdown()


def forget_pool_process() -> None:
    """Drop an exiting pool process's live gauges from the multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(os.getpid())
