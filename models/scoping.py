"""The one helper that builds tenant-scoped selects."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, Table, select
from sqlalchemy.orm import DeclarativeBase


def tenant_select(
    source: type[DeclarativeBase] | Table, *columns: Any, tenant_id: uuid.UUID
) -> Select[Any]:
    """`select(columns or source)` of one tenant's rows of `source` (a model or a table).

    Row-level security keeps the dashboard API's sessions inside their tenant anyway; this keeps
    every query saying so itself, which is also what lets the planner use the tenant-led keys.
    """
    table: Any = source if isinstance(source, Table) else source.__table__
    stmt = select(*columns) if columns else select(source)
    return stmt.where(table.c.tenant_id == tenant_id)
