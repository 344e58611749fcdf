"""Stage rows with COPY into temporary tables, so that batches are merged by set-based SQL.

A batch's rows are streamed to the server with one COPY per table instead of being bound as
statement parameters: building, quoting and parsing a multi-row INSERT costs several times more,
on both sides, than the COPY text format. Each target table has a staging twin,
`cw_stage_<table>`: the same columns without constraints, plus a group number that tells apart
the row sets staged in one transaction, plus where a row's payload comes from. The twins are
temporary tables of the connection, emptied at every commit.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

GROUP = "cw_group"  # which row set of the transaction a staged row belongs to
PAYLOAD_FROM = "cw_payload_webhook"  # the payload is this delivery's body, in the event log...
PAYLOAD_FIELD = "cw_payload_field"  # ...or the object under this key of it
_metadata = MetaData()


@cache
def stage_of(table: Table) -> Table:
    """The staging twin of a table."""
    columns = [Column(c.name, c.type) for c in table.columns]
    columns += [Column(GROUP, Integer), Column(PAYLOAD_FROM, Text), Column(PAYLOAD_FIELD, Text)]
    return Table(
        f"cw_stage_{table.name}",
        _metadata,
        *columns,
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DELETE ROWS",
    )


@cache
def _create_sql(table: Table) -> str:
    ddl = CreateTable(stage_of(table), if_not_exists=True)
    return str(ddl.compile(dialect=postgresql.dialect())).strip()


class Stager:
    """Stages row sets in one transaction; each `copy` gets a group number of its own.

    Group numbers come from the session, so that several writes in one transaction (a backfill
    bucket written in chunks) never read each other's staged rows.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._created: set[str] = set()

    def copy(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """COPY `rows` (values in `columns` order) into the table's twin; returns the group."""
        stage = stage_of(table)
        group = self.session.info.get(GROUP, 0) + 1
        self.session.info[GROUP] = group
        buffer = io.StringIO()
        write = buffer.write
        suffix = f"\t{group}\n"
        for row in rows:
            write("\t".join([_text(v) for v in row]))
            write(suffix)
        buffer.seek(0)
        names = ", ".join([*columns, GROUP])
        cursor = self._cursor(table)
        try:
            cursor.copy_expert(f"COPY {stage.name} ({names}) FROM STDIN", buffer)
        finally:
            cursor.close()
        return group

    def _cursor(self, table: Table) -> Any:
        dbapi = self.session.connection().connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        if table.name not in self._created:
            # Temporary tables live as long as the connection, but a rolled back transaction
            # takes their creation with it: ask again in every transaction that stages.
            # A staged payload is compressed on its way in; lz4, where the server has it, costs
            # a fraction of the default pglz (the tables it lands in use lz4 already).
            prefix = "SET LOCAL default_toast_compression = lz4; " if _has_lz4(dbapi) else ""
            cursor.execute(prefix + _create_sql(table))
            self._created.add(table.name)
        return cursor


_LZ4 = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
_lz4_servers: dict[str, bool] = {}


def _has_lz4(dbapi: Any) -> bool:
    dsn = dbapi.dsn
    if dsn not in _lz4_servers:
        with dbapi.cursor() as cursor:
            cursor.execute(_LZ4)
            _lz4_servers[dsn] = bool(cursor.fetchone()[0])
    return _lz4_servers[dsn]


def _escape(text: str) -> str:
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    if "\r" in text:
        text = text.replace("\r", "\\r")
    if "\t" in text:
        text = text.replace("\t", "\\t")
    return text


def _text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is int or kind is Decimal or kind is uuid.UUID:
        return str(value)
    if isinstance(value, str):
        return _escape(value)
    if kind is datetime:
        return value.isoformat()
    if kind is bool:
        return "t" if value else "f"
    if kind is dict or kind is list:
        return _escape(json.dumps(value))
    raise TypeError(f"cannot stage a {kind.__name__}")
