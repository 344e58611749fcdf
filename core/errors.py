"""The base of every cartwheel error, and which failures are worth retrying."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

# serialization_failure, deadlock_detected: retry the transaction
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


class CartwheelError(Exception):
    """Anything cartwheel refuses or fails at on purpose; the command line prints its message."""


class TransientError(CartwheelError):
    """A failure that should go away by itself (database or Redis unreachable, conflicts)."""


def is_transient(exc: BaseException) -> bool:
    """Connection losses and serialization conflicts are transient; bad data is not."""
    if isinstance(
        exc, OperationalError | InterfaceError | redis.ConnectionError | redis.TimeoutError
    ):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return getattr(exc.orig, "pgcode", None) in _RETRYABLE_SQLSTATES
    return False


@contextmanager
def transient_errors() -> Iterator[None]:
    """Re-raise transient database and Redis failures as TransientError (which tasks retry)."""
    try:
        yield
    except (SQLAlchemyError, redis.RedisError) as exc:
        if is_transient(exc):
            raise TransientError(str(exc)) from exc
        raise
