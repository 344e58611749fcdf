"""Fixtures: real PostgreSQL (schema built by Alembic) and real Redis, isolated per test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import text

from cartwheel.crypto import generate_key
from cartwheel.migrate import upgrade
from cartwheel.settings import Settings
from cartwheel.tenants import add_tenant
from models.db import get_engine, session_scope
from receiver import create_app
from tests import services
from tests.dashboard_fixtures import api_client, make_owner, make_user, owner  # noqa: F401
from tests.webhooks import Sender


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
    keys = list(client.scan_iter(match=f"{s.namespace}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests write through the real pipeline, which commits; wipe the tables afterwards."""
    yield
    if "database_url" in request.fixturenames:
        url = request.getfixturevalue("database_url")
        with get_engine(url).begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))


@pytest.fixture
def make_tenant(settings: Settings) -> Callable[..., dict[str, Any]]:
    """Register a shop and return its id, domain and secret."""

    def make(
        shop: str | None = None, secret: str | None = None, name: str = "Test shop"
    ) -> dict[str, Any]:
        shop = shop or f"shop-{uuid.uuid4().hex[:8]}.myshopify.com"
        secret = secret or uuid.uuid4().hex
        with session_scope(settings.database_url) as session:
            tenant = add_tenant(
                session,
                shop=shop,
                name=name,
                webhook_secret=secret,
                secret_keys=settings.secret_keys,
            )
            tenant_id = tenant.id
        return {"id": tenant_id, "shop": shop, "secret": secret}

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_tenant()


@pytest.fixture
def client(settings: Settings) -> FlaskClient:
    app = create_app(settings)
    app.testing = True
    return app.test_client()


@pytest.fixture
def sender(client: FlaskClient, tenant: dict[str, Any]) -> Sender:
    return Sender(client, shop=tenant["shop"], secret=tenant["secret"])


def fixture_body(name: str) -> bytes:
    """The exact bytes of one of Shopify's sample payloads."""
    return (services.FIXTURES / f"{name}.json").read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_body(name))
