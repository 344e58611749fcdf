"""Database sessions of the dashboard API, as the role row-level security restricts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from cartwheel.settings import Settings
from models.db import get_sessionmaker

_SET_TENANT = text("SELECT set_config('cartwheel.tenant_id', :tenant, true)")


@contextmanager
def tenant_session(settings: Settings, tenant_id: uuid.UUID | str) -> Iterator[Session]:
    """A transaction that sees only `tenant_id`'s rows; commits on success, rolls back on error.

    The setting is transaction-local (`true`), so a pooled connection never carries a tenant
    into the next transaction; the policies read it on every row.
    """
    tenant = str(uuid.UUID(str(tenant_id)))
    with get_sessionmaker(settings.api_db_url).begin() as session:
        session.execute(_SET_TENANT, {"tenant": tenant})
        yield session


@contextmanager
def anonymous_session(settings: Settings) -> Iterator[Session]:
    """A transaction with no tenant: it sees no tenant rows (login uses a lookup function)."""
    with get_sessionmaker(settings.api_db_url).begin() as session:
        yield session
