"""Test services: the URLs CI gives, or embedded PostgreSQL and Redis started for this run."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg2 import sql
from sqlalchemy.engine import make_url

from cartwheel.roles import autocommit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """A PostgreSQL server URL: TEST_DATABASE_URL, or the embedded one `make run` uses."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    from cartwheel.embedded import start_postgres

    # Not under pytest's temp root: another pytest run resets that to mode 0700, which locks
    # out the unprivileged user pgserver runs PostgreSQL as when tests run as root.
    state = Path(tempfile.mkdtemp(prefix="cartwheel-test-pg-"))
    state.chmod(0o755)
    server = start_postgres(state, database="postgres")
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards; its URL as the pipeline role.

    server_url is a superuser's, as TEST_DATABASE_URL is. The database belongs to the pipeline
    role, which is no superuser, as in production: the suite proves the pipeline needs no more.
    """
    from cartwheel.roles import pipeline_database

    name = f"cartwheel_test_{uuid.uuid4().hex[:10]}"
    admin = _psycopg_dsn(server_url)
    url = pipeline_database(admin, name)
    try:
        yield url
    finally:
        with autocommit(admin) as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A Redis URL: TEST_REDIS_URL, or the embedded one `make run` uses, on a free port."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield url
        return
    from cartwheel.embedded import start_redis

    server = start_redis(workdir, free_port())
    try:
        yield server.url
    finally:
        server.stop()


def _sa(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _psycopg_dsn(url: str) -> str:
    parsed = make_url(_sa(url))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
