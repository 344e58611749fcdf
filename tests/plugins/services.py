"""Fixtures of the real services: PostgreSQL (schema built by Alembic) and Redis, per test run.

Tests that commit -- through the pipeline, a session scope or a real process -- get the tables
emptied afterwards. Database unit tests take `db_session` instead (plugins/database.py), whose
transaction is rolled back, and leave nothing to empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from cartwheel.migrate import upgrade
from core.crypto import generate_key
from core.settings import Settings
from models.db import get_engine
from tests.support import services
from workers.runtime import Resources


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def pg_server(workdir: Path) -> Iterator[str]:
    with services.postgres_server(workdir) as url:
        yield url


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    with services.fresh_database(pg_server) as url:
        upgrade(url)
        yield url
        get_engine(url).dispose()


@pytest.fixture(scope="session")
def redis_url(workdir: Path) -> Iterator[str]:
    with services.redis_server(workdir) as url:
        yield url


@pytest.fixture(scope="session")
def secret_keys() -> str:
    return generate_key()


@pytest.fixture
def settings(database_url: str, redis_url: str, secret_keys: str) -> Iterator[Settings]:
    """Settings with a namespace of this test's own, so streams and queues never mix."""
    s = Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=secret_keys,
        namespace=f"cwtest-{uuid.uuid4().hex[:8]}",
        stream_shards=2,
        secret_cache_seconds=0.0,
        drain_block_ms=10,
        worker_metrics_port=0,  # several test workers may run at once
    )
    yield s
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{s.namespace}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    _empty_tables(database_url)


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


@pytest.fixture
def worker(settings: Settings) -> Iterator[Resources]:
    """What a worker process holds (Redis client, stream consumer), for in-process jobs."""
    res = Resources(settings, consumer_name="test-consumer")
    yield res
    res.close()


_TABLES = text(
    "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
)


def _empty_tables(database_url: str) -> None:
    with get_engine(database_url).begin() as conn:
        conn.execute(text(f"TRUNCATE {conn.execute(_TABLES).scalar()} CASCADE"))
