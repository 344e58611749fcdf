"""`db_session`: a session in a transaction that is rolled back after the test.

The session joins the test's outer transaction through a savepoint, so code under test may flush,
and even commit, without anything reaching other tests (as pypi/warehouse's tests do).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from models.db import get_engine


@pytest.fixture
def db_session(database_url: str) -> Iterator[Session]:
    with get_engine(database_url).connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
