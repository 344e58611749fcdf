"""A tenant's rows of one table as integer columns in this process's memory, current at each read.

Some insights count over every row of a range: distinct buyers, repeat buyers, the top
customers, checkouts and carts by status. Over three years that is a million rows, too many to
aggregate in SQL within a request. So each dashboard process keeps, per tenant and table, the
few integer columns those figures need (numpy arrays, money in ten-thousandths) and counts in
memory:

- The first read of a tenant's table reads every row of it, packed by PostgreSQL into one
  bytea of fixed-width big-endian records, with the snapshot it was read under.
- Every later read first reads the rows written since: those whose `written_xid` (stamped by
  a trigger on every insert and update, migration 0017) is not visible in that snapshot, and
  applies them. It reads under a new snapshot, which the next read starts from. So a read sees
  every transaction committed before it, as a query would, and costs one index range scan.
- Rows are never deleted but with their tenant (a deletion is a tombstone, `deleted_at`, which
  is an update), so applying the rows written is all it takes. A table whose rows are deleted
  in bulk (the product rollup, by a rebuild) names a `generation`, read in the same statement,
  which the bulk deletion changes: a read that finds another generation reads in full again.
- At most `MAX_ROWS` rows are kept per process; the tenants read least recently are dropped
  first and read in full again when next asked.

The figures computed from these columns are in dashboard_api/queries/buyers.py and
dashboard_api/queries/insights.py; the tests compare them with a computation from the
delivered payloads, and with the same figures after further writes.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_ROWS = 8_000_000
# An instant that is in no range (a NULL time).
NEVER = -(2**62)
# Money columns are kept in ten-thousandths, the scale of the Money type (models/base.py).
MONEY_SCALE = 10_000


def micros(column: str) -> str:
    """SQL: an instant as microseconds since the epoch, NEVER for NULL."""
    return f"COALESCE(CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS bigint), {NEVER})"


def units(column: str) -> str:
    """SQL: an amount of money in ten-thousandths, 0 for NULL (as a SUM would skip it)."""
    return f"CAST(COALESCE({column}, 0) * {MONEY_SCALE} AS bigint)"


@dataclass(frozen=True)
class Table:
    """Which rows of which table, keyed how, with which columns (SQL bigint expressions over
    the row `t`, never NULL); `coded` columns also get dense codes 0..n-1 (`<name>_code`) for
    counting per value."""

    name: str
    key: str
    columns: tuple[tuple[str, str], ...]
    coded: tuple[str, ...] = ()
    # Flags and small codes (-128..127), kept as int8: a scan of them reads an eighth as much.
    small: tuple[str, ...] = ()
    # SQL: a bigint (for :tenant) that changes whenever the tenant's rows are deleted.
    generation: str = "0"

    def statement(self, *, since: bool) -> Any:
        record = " || ".join(
            f"int8send(CAST({sql} AS bigint))" for sql in (self.key, *(c for _, c in self.columns))
        )
        where = "t.tenant_id = :tenant"
        if since:
            snap = "CAST(:snap AS pg_snapshot)"
            where += (
                f" AND t.written_xid >= pg_snapshot_xmin({snap})"
                f" AND NOT pg_visible_in_snapshot(t.written_xid, {snap})"
            )
        # One statement, so the snapshot given is the one the rows were read under.
        return text(
            "SELECT CAST(pg_current_snapshot() AS text) AS snap, "  # noqa: S608 (constants)
            f"(SELECT string_agg({record}, ''::bytea) FROM {self.name} AS t WHERE {where}) AS pack,"
            f" COALESCE(({self.generation}), 0) AS generation"
        )


class Columns:
    """One tenant's rows of one table: `keys` and one int64 array per column, row i of each
    being the same row; `size` rows."""

    def __init__(self, table: Table, snap: str, pack: bytes | None, generation: int = 0) -> None:
        self.table = table
        self.snap = snap
        self.generation = generation
        keys, values = self._unpack(pack)
        order = np.argsort(keys, kind="stable")
        self.keys = keys
        self._sorted_keys, self._sorted_at = keys[order], order
        self.values = values
        self._codes: dict[str, _Codes] = {}
        self._derived: dict[str, Any] = {}
        for name in table.coded:
            self._codes[name] = _Codes(values[name])
            self.values[f"{name}_code"] = self._codes[name].of(values[name])

    @property
    def size(self) -> int:
        return len(self.keys)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def derived(self, name: str, compute: Callable[[Columns], Any]) -> Any:
        """`compute(self)`, kept until rows are next applied."""
        if name not in self._derived:
            self._derived[name] = compute(self)
        return self._derived[name]

    def code_keys(self, name: str) -> np.ndarray:
        """The values of a coded column, by code."""
        return self._codes[name].values

    def _unpack(self, pack: bytes | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        width = 1 + len(self.table.columns)
        records = np.frombuffer(pack or b"", dtype=">i8").reshape(-1, width)
        keys = records[:, 0].astype(np.int64)
        values = {
            name: records[:, i + 1].astype(np.int8 if name in self.table.small else np.int64)
            for i, (name, _) in enumerate(self.table.columns)
        }
        return keys, values

    def apply(self, snap: str, pack: bytes | None) -> None:
        """The rows written since the last read, each replacing the row of its key or added."""
        self.snap = snap
        keys, values = self._unpack(pack)
        if not len(keys):
            return
        self._derived.clear()
        # A key written twice in one pack cannot happen (one row per key), but keep the last.
        keys, last = np.unique(keys[::-1], return_index=True)
        rows = {name: column[::-1][last] for name, column in values.items()}
        for name, codes in self._codes.items():
            rows[f"{name}_code"] = codes.of(rows[name])
        at = np.searchsorted(self._sorted_keys, keys)
        found = at < len(self._sorted_keys)
        found[found] = self._sorted_keys[at[found]] == keys[found]
        where = self._sorted_at[at[found]]
        for name, column in rows.items():
            self.values[name][where] = column[found]
        fresh = ~found
        if fresh.any():
            start = len(self.keys)
            self.keys = np.concatenate([self.keys, keys[fresh]])
            for name, column in rows.items():
                self.values[name] = np.concatenate([self.values[name], column[fresh]])
            slots = np.searchsorted(self._sorted_keys, keys[fresh])
            self._sorted_keys = np.insert(self._sorted_keys, slots, keys[fresh])
            added = np.arange(start, len(self.keys), dtype=np.int64)
            self._sorted_at = np.insert(self._sorted_at, slots, added)


class _Codes:
    """Dense codes for the values of a column, in order of first sight, kept as values come."""

    def __init__(self, column: np.ndarray) -> None:
        # Codes in sorted order of the values at first; later ones are appended.
        self.values = np.unique(column)
        self._sorted = self.values.copy()
        self._code_of_sorted = np.arange(len(self.values), dtype=np.int64)

    def of(self, column: np.ndarray) -> np.ndarray:
        """The code of each value, new values getting new codes."""
        at = np.searchsorted(self._sorted, column)
        inside = at < len(self._sorted)
        known = inside.copy()
        known[inside] = self._sorted[at[inside]] == column[inside]
        if not known.all():
            new = np.unique(column[~known])
            codes = np.arange(len(self.values), len(self.values) + len(new), dtype=np.int64)
            self.values = np.concatenate([self.values, new])
            slots = np.searchsorted(self._sorted, new)
            self._sorted = np.insert(self._sorted, slots, new)
            self._code_of_sorted = np.insert(self._code_of_sorted, slots, codes)
            at = np.searchsorted(self._sorted, column)
        return self._code_of_sorted[at]


_kept: OrderedDict[tuple[str, str, uuid.UUID], Columns] = OrderedDict()
_locks: dict[tuple[str, str, uuid.UUID], threading.Lock] = {}
_guard = threading.Lock()


@contextmanager
def reading(session: Session, table: Table, tenant_id: uuid.UUID) -> Iterator[Columns]:
    """The tenant's rows of `table` as of now, read on the session's connection (its tenant's
    row-level security). The arrays are only read inside the block: the next read of the same
    tenant's table, which may change them, waits for it."""
    key = (str(session.get_bind().engine.url), table.name, tenant_id)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        with _guard:
            kept = _kept.get(key)
        params: dict[str, Any] = {"tenant": tenant_id}
        if kept is not None:
            since = session.execute(table.statement(since=True), params | {"snap": kept.snap})
            snap, pack, generation = since.one()
            if generation == kept.generation:
                kept.apply(snap, pack)
            else:
                kept = None
        if kept is None:
            full = session.execute(table.statement(since=False), params).one()
            kept = Columns(table, full.snap, full.pack, full.generation)
        with _guard:
            _kept[key] = kept
            _kept.move_to_end(key)
            _evict()
        yield kept


def _evict() -> None:
    total = sum(c.size for c in _kept.values())
    while total > MAX_ROWS and len(_kept) > 1:
        _, dropped = _kept.popitem(last=False)
        total -= dropped.size


def held(tenant_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each of the tenant's tables this process holds."""
    with _guard:
        return {table: c.size for (_, table, tenant), c in _kept.items() if tenant == tenant_id}
