"""Which failures are worth retrying."""

from __future__ import annotations

import redis
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# serialization_failure, deadlock_detected: retry the transaction
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


class TransientError(Exception):
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
