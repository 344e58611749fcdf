"""Predictions into the database fast: COPY, by way of a temporary twin of the table."""

from __future__ import annotations

import io
import uuid
from typing import Any

from sqlalchemy.orm import Session

from models.clv import ClvPrediction

_COLUMNS = [c.key for c in ClvPrediction.__table__.columns]
# RLS forbids COPY into the table itself: COPY into a temporary twin, then INSERT from it.
_STAGE = "CREATE TEMP TABLE IF NOT EXISTS clv_stage (LIKE clv_predictions) ON COMMIT DROP"
_COPY = f"COPY clv_stage ({', '.join(_COLUMNS)}) FROM STDIN"
_MOVE = "INSERT INTO clv_predictions SELECT * FROM clv_stage; TRUNCATE clv_stage"


def copy_predictions(
    session: Session, tenant_id: uuid.UUID, fit_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    """COPY a batch of predictions in: a fraction of the time of INSERTs for 100k customers.

    Every value is a number, a uuid or None, so COPY's text format needs no escaping.
    """
    buffer = io.StringIO()
    fixed = {"tenant_id": tenant_id, "fit_id": fit_id}
    for row in rows:
        buffer.write("\t".join(_cell(fixed.get(name, row.get(name))) for name in _COLUMNS))
        buffer.write("\n")
    buffer.seek(0)
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(_STAGE)
        cursor.copy_expert(_COPY, buffer)
        cursor.execute(_MOVE)
    finally:
        cursor.close()


def _cell(value: Any) -> str:
    if value is None:
        return "\\N"
    return repr(value) if isinstance(value, float) else str(value)
