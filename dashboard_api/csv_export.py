"""CSV answers of the lists and reports: streamed row by row, so memory stays flat however many
rows there are, with exact decimals, instants in the shop's time zone, and text cells that a
spreadsheet cannot take for a formula.

A view asks `wants_csv(args)`; if so it returns `csv_response(columns, rows, ...)`, where
`rows` is any iterable of mappings (a generator reading the database in batches keeps memory
constant) and `columns` usually comes from the JSON answer's own schema (`columns_of(schema)`),
so the CSV carries the same scalar figures as the JSON, under the same names. Query arguments:
inherit `CsvFormatArgs` to document and accept `format=csv`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request, stream_with_context
from marshmallow import Schema, fields, validate

CSV_MIMETYPE = "text/csv"
# Characters a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
# Rows written per chunk sent: fewer, larger writes to the socket.
_ROWS_PER_CHUNK = 500


class CsvFormatArgs(Schema):
    """The `format` query argument: `json` (the default) or `csv`."""

    format = fields.String(
        validate=validate.OneOf(["json", "csv"]),
        metadata={
            "description": "`csv` answers text/csv, streamed (as does `Accept: text/csv`): a "
            "header row, then every row; money as exact decimals, instants in the shop's "
            "time zone."
        },
    )


def document_csv(blp: Any) -> Callable[[Any], Any]:
    """A view decorator documenting the text/csv answer beside the JSON one (status 200)."""
    return blp.alt_response(
        200,
        schema={"type": "string"},
        content_type=CSV_MIMETYPE,
        description="With `format=csv` or `Accept: text/csv`: the rows as CSV, streamed.",
        success=True,
    )


def wants_csv(args: Mapping[str, Any]) -> bool:
    """`format=csv`; without `format`, an Accept header that ranks text/csv above JSON."""
    if args.get("format"):
        return bool(args["format"] == "csv")
    accept = request.accept_mimetypes
    return accept[CSV_MIMETYPE] > accept["application/json"]


@dataclass(frozen=True)
class Column:
    """One CSV column: its header, and how a row gives its value (text, or a value `cell`
    writes: Decimal, int, bool, date, datetime, None)."""

    name: str
    get: Callable[[Mapping[str, Any]], Any]


def column(name: str, attribute: str | None = None) -> Column:
    """A column reading `attribute` (default: `name`) of each row as it is."""
    key = attribute or name
    return Column(name, lambda row: row.get(key))


def columns_of(schema: Schema | type[Schema], *, skip: Sequence[str] = ()) -> list[Column]:
    """The scalar fields of a JSON schema as columns, in its order, each written as the JSON
    writes it (ids, money) except instants, which `cell` puts in the shop's zone. Nested
    objects and lists, which a CSV row cannot hold, are left out."""
    instance = schema() if isinstance(schema, type) else schema
    out = []
    for name, field in instance.fields.items():
        header = field.data_key or name
        if isinstance(field, fields.Nested | fields.List | fields.Dict) or header in skip:
            continue
        out.append(Column(header, _getter(field, field.attribute or name)))
    return out


# Fields whose values `cell` writes as the JSON does: read as they are, which is faster.
_PLAIN = (fields.String, fields.Integer, fields.Boolean, fields.DateTime, fields.Date)


def _getter(field: fields.Field, attribute: str) -> Callable[[Mapping[str, Any]], Any]:
    if type(field) in _PLAIN or isinstance(field, fields.DateTime):
        return lambda row: row.get(attribute)
    convert = field._serialize  # the field's own text (ids as digits, exact money)

    def get(row: Mapping[str, Any]) -> Any:
        value = row.get(attribute)
        return None if value is None else convert(value, attribute, row)

    return get


_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def cell(value: Any, tz: ZoneInfo) -> str:
    """One value as CSV text: exact decimals, ISO instants in `tz`, `true`/`false`, empty for
    None; text that a spreadsheet would run as a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_lines(
    columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], tz: ZoneInfo
) -> Iterator[str]:
    """The header, then each row, as CSV text (RFC 4180, CRLF), a few hundred rows a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.name for c in columns])
    for count, row in enumerate(rows, 1):
        writer.writerow([cell(c.get(row), tz) for c in columns])
        if count % _ROWS_PER_CHUNK == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def csv_response(
    columns: Sequence[Column],
    rows: Iterable[Mapping[str, Any]],
    *,
    filename: str,
    tz: ZoneInfo | str = "UTC",
) -> Response:
    """A streamed text/csv answer (an attachment named `filename`.csv).

    `rows` is consumed while the answer is sent, inside the request's context, so a
    generator may hold a database session open and read it in batches."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    safe = _FILENAME.sub("-", filename).strip("-") or "export"
    response = Response(stream_with_context(csv_lines(columns, rows, zone)), mimetype=CSV_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
