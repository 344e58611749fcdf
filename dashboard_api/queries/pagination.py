"""Keyset (cursor) pagination: stable while rows arrive, because a page starts after a key.

The cursor is opaque to clients: base64url of JSON holding the sort it belongs to, the last
row's sort value and its primary key. NULL sort values sort as the highest value, which is
PostgreSQL's own default (ASC NULLS LAST, DESC NULLS FIRST), so plain b-tree indexes serve
both directions.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

_DECIMAL = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,10})?$")


@dataclass(frozen=True)
class Segment:
    """One part of the rows after a cursor: a condition (None: all rows) and its order."""

    where: ColumnElement[bool] | None
    order_by: list[Any]


class CursorError(ValueError):
    """A cursor that this API did not make, or that belongs to another sort order."""


@dataclass(frozen=True)
class Sort:
    """`created_at` (ascending) or `-created_at` (descending), resolved to its column.

    `key` is the primary key after the tenant: one column, or several for a composite key
    (an inventory level is one item at one location). The key breaks ties, so every row has
    one place in the order; sorting by the key's first column sorts by the whole key.
    """

    name: str
    column: InstrumentedAttribute[Any]
    key: tuple[InstrumentedAttribute[Any], ...]
    descending: bool

    @classmethod
    def parse(
        cls,
        spec: str,
        columns: dict[str, InstrumentedAttribute[Any]],
        key: tuple[InstrumentedAttribute[Any], ...],
    ) -> Sort:
        descending = spec.startswith("-")
        name = spec.removeprefix("-")
        return cls(spec, columns[name], key, descending)

    def segments(self, after: tuple[Any, tuple[Any, ...]] | None) -> list[Segment]:
        """The rows after the cursor as index-friendly parts, to read in turn until a page fills.

        One `col > v OR col IS NULL` would make PostgreSQL filter from the start of the index
        on every page; split at the NULLs, each part is a plain range scan.
        """
        col, pk = self.column, self.key
        by_key = self._by(*pk)
        if col is pk[0]:
            if after is None:
                return [Segment(None, by_key)]
            return [Segment(self._after(pk, after[1]), by_key)]
        both = self._by(col, *pk)
        if after is None:
            return [Segment(None, both)]
        value, key = after
        if self.descending:  # NULLs first
            if value is None:
                return [
                    Segment(and_(col.is_(None), self._after(pk, key)), by_key),
                    Segment(col.is_not(None), both),
                ]
            return [Segment(self._after((col, *pk), (value, *key)), both)]
        if value is None:  # ascending: NULLs last
            return [Segment(and_(col.is_(None), self._after(pk, key)), by_key)]
        return [
            Segment(self._after((col, *pk), (value, *key)), both),
            Segment(col.is_(None), by_key),
        ]

    def _after(self, columns: tuple[Any, ...], values: tuple[Any, ...]) -> ColumnElement[bool]:
        """Rows past `values` in this direction: a plain comparison, or a row comparison."""
        left = columns[0] if len(columns) == 1 else tuple_(*columns)
        right = values[0] if len(values) == 1 else tuple_(*values)
        return left < right if self.descending else left > right

    def _by(self, *columns: Any) -> list[Any]:
        return [c.desc() if self.descending else c.asc() for c in columns]

    def encode(self, row: Any) -> str:
        """The cursor that continues after `row`."""
        keys = [_dump(row[k.key]) for k in self.key]
        doc = {"s": self.name, "v": _dump(row[self.column.key]), "k": _pack(keys)}
        raw = json.dumps(doc, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[Any, tuple[Any, ...]]:
        """(sort value, key values) from a cursor this sort made; CursorError otherwise."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            doc = json.loads(raw)
            if not isinstance(doc, dict) or doc.get("s") != self.name:
                raise CursorError("The cursor belongs to another sort order.")
            value = _load(doc["v"], _python_type(self.column))
            raw_keys = _unpack(doc["k"], len(self.key))
            key = tuple(_load(v, _python_type(k)) for v, k in zip(raw_keys, self.key, strict=True))
        except (binascii.Error, ValueError, KeyError, TypeError, OverflowError) as exc:
            if isinstance(exc, CursorError):
                raise
            raise CursorError("The cursor is not valid.") from exc
        if any(k is None for k in key):
            raise CursorError("The cursor is not valid.")
        return value, key


def _pack(keys: list[str | None]) -> str | list[str | None] | None:
    """A one-column key as its value (the cursors of single keys stay as they were), else a list."""
    return keys[0] if len(keys) == 1 else keys


def _unpack(raw: Any, width: int) -> list[Any]:
    if width == 1:
        return [raw]
    if not isinstance(raw, list) or len(raw) != width:
        raise CursorError("The cursor is not valid.")
    return raw


def _python_type(column: InstrumentedAttribute[Any]) -> type:
    return column.property.columns[0].type.python_type


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _load(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CursorError("The cursor is not valid.")
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise CursorError("The cursor is not valid.")
        return parsed.astimezone(UTC)
    if kind is Decimal:
        # Plain digits only: "1E+999999" is a finite Decimal that PostgreSQL cannot hold.
        if not _DECIMAL.match(value):
            raise CursorError("The cursor is not valid.")
        return Decimal(value)
    if kind is int:
        integer = int(value)
        if not -(2**63) <= integer < 2**63:
            raise CursorError("The cursor is not valid.")
        return integer
    if len(value) > 1000 or "\x00" in value:
        raise CursorError("The cursor is not valid.")
    return value
