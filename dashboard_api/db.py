"""Database sessions of the dashboard API, as the role row-level security restricts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from core.settings import Settings
from models import db


@contextmanager
def tenant_session(settings: Settings, tenant_id: uuid.UUID | str) -> Iterator[Session]:
    """A transaction as the API role that sees only `tenant_id`'s rows (models.db)."""
    with db.tenant_session(settings.api_db_url, tenant_id) as session:
        yield session


@contextmanager
def anonymous_session(settings: Settings) -> Iterator[Session]:
    """A transaction with no tenant: it sees no tenant rows (login uses a lookup function)."""
    with db.get_sessionmaker(settings.api_db_url).begin() as session:
        yield session
