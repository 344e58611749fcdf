"""The pipeline runs as a role that owns its database and is no superuser (cartwheel/roles.py).

The whole suite connects as that role (tests/support/services.py); these tests check the role
itself, and that a database a superuser once migrated (an older local stack's) is handed over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from cartwheel.migrate import upgrade
from cartwheel.roles import PIPELINE_ROLE, pipeline_database
from core.settings import Settings
from dashboard_api.db import tenant_session
from models import Customer
from models.db import get_engine, session_scope
from receiver import create_app as create_receiver
from shops.registration import add_tenant
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.webhooks import Sender


def _scalar(url: str, sql: str) -> object:
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_the_suite_pipeline_is_no_superuser_and_owns_the_tables(settings: Settings) -> None:
    url = settings.database_url
    assert make_url(url).username == PIPELINE_ROLE
    flags = "SELECT rolsuper OR rolbypassrls OR rolcreaterole FROM pg_roles"
    assert _scalar(url, f"{flags} WHERE rolname = current_user") is False
    assert _scalar(url, f"{flags} WHERE rolname = 'cartwheel_api'") is False
    owners = "SELECT array_agg(DISTINCT tableowner) FROM pg_tables WHERE schemaname = 'public'"
    assert _scalar(url, owners) == [PIPELINE_ROLE]


@pytest.fixture
def superuser_database(pg_server: str) -> Iterator[tuple[str, str]]:
    """A database created and migrated by the superuser; (superuser DSN, database name)."""
    name = f"cartwheel_legacy_{uuid.uuid4().hex[:8]}"
    admin = make_url(pg_server.replace("postgres://", "postgresql://", 1))
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        upgrade(admin.set(database=name).render_as_string(hide_password=False))
        yield dsn, name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()


def test_a_database_the_superuser_migrated_is_handed_to_the_pipeline_role(
    superuser_database: tuple[str, str], settings: Settings
) -> None:
    admin, name = superuser_database
    url = pipeline_database(admin, name)
    assert make_url(url).username == PIPELINE_ROLE
    upgrade(url)  # the pipeline role can migrate it from now on
    owned = settings.with_overrides(database_url=url)
    owners = "SELECT array_agg(DISTINCT tableowner) FROM pg_tables WHERE schemaname = 'public'"
    assert _scalar(url, owners) == [PIPELINE_ROLE]
    policy = (
        "SELECT array_agg(DISTINCT roles::text) FROM pg_policies WHERE policyname = 'pipeline_all'"
    )
    assert _scalar(url, policy) == ["{cartwheel}"]

    # And the pipeline works there: a signed delivery drains to a row the tenant's API sees.
    shop = f"legacy-{uuid.uuid4().hex[:6]}.myshopify.com"
    with session_scope(url) as session:
        tenant_id = add_tenant(
            session,
            shop=shop,
            name="Legacy",
            webhook_secret="legacy-secret",
            secret_keys=settings.secret_keys,
            verified=True,
        ).id
    sender = Sender(create_receiver(owned).test_client(), shop=shop, secret="legacy-secret")
    assert sender.send("customers/create", sample_json("customers_create")).status_code == 200
    assert drain_all(owned) == 1
    with tenant_session(owned, tenant_id) as session:
        assert len(session.scalars(select(Customer)).all()) == 1
    for engine_url in (owned.database_url, owned.api_db_url):
        get_engine(engine_url).dispose()
