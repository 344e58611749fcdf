"""Engines, session factories and the session scopes: the only places that commit."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and pin the psycopg2 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


class RawJSON(str):
    """JSON text that is already serialized (a webhook body): stored as it is, not re-encoded."""

    __slots__ = ()


def _json_serializer(value: Any) -> str:
    return value if isinstance(value, RawJSON) else json.dumps(value)


_urls: list[str] = []


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process, created on first use."""
    _urls.append(url)
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        json_serializer=_json_serializer,
        # No JIT: the statements are index lookups whose cost estimates can be far off (a
        # rollup's share of a batch of orders), and compiling them took seconds where running
        # them takes milliseconds.
        connect_args={"options": "-c jit=off"},
    )


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: commits on success, rolls back on error."""
    with get_sessionmaker(url).begin() as session:
        yield session


_SET_TENANT = text("SELECT set_config('cartwheel.tenant_id', :tenant, true)")


@contextmanager
def tenant_session(url: str, tenant_id: uuid.UUID | str) -> Iterator[Session]:
    """A transaction that sees only `tenant_id`'s rows under row-level security; commits on
    success, rolls back on error.

    The setting is transaction-local, so a pooled connection never carries a tenant into the
    next transaction; the policies read it on every row.
    """
    tenant = str(uuid.UUID(str(tenant_id)))
    with get_sessionmaker(url).begin() as session:
        session.execute(_SET_TENANT, {"tenant": tenant})
        yield session


def reset_engines_after_fork() -> None:
    """In a forked child: drop the parent's pooled connections without closing them (they are
    the parent's to close), so the child opens its own."""
    for engine in _engines():
        engine.dispose(close=False)


def _engines() -> list[Engine]:
    return [get_engine(url) for url in _urls]
