"""Ranges of local days in an IANA time zone: defaults, limits and the time zone checks."""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Date, DateTime, cast, func, literal, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models import Tenant

DEFAULT_DAYS = 30
# Three years, leap day included: any report answers from the daily rollups over this span.
MAX_DAYS = 1096
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)
_DATABASE_ZONES: set[str] = set()
_EDGES: dict[DayRange, npt.NDArray[np.int64]] = {}
# Every local midnight from the first day to the one after the last, as epoch microseconds.
_DAY_EDGES = text(
    "SELECT (extract(epoch FROM timezone(:tz, d)) * 1000000)::bigint FROM generate_series("
    "CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 day') AS d"
)


class RangeError(ValueError):
    """A range the API refuses; `field` names the query argument at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DayRange:
    """Local days `start`..`end` (inclusive) in the IANA time zone `tz`."""

    start: date
    end: date
    tz: str

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        """[first local midnight, midnight after the last day) as instants, computed by SQL."""
        return self._midnight(self.start), self._midnight(self.end + timedelta(days=1))

    def _midnight(self, day: date) -> ColumnElement[Any]:
        # SQL owns the conversion so bounds and per-day buckets use the same tz database.
        local = cast(literal(day.isoformat()), DateTime(timezone=False))
        return func.timezone(self.tz, local)

    def micros(self, session: Session) -> tuple[int, int]:
        """`bounds` as microseconds since the epoch, for columns kept in memory
        (dashboard_api/queries/columns.py), converted by SQL all the same (once per process:
        the time zone database does not change under it)."""
        edges = self.day_edges(session)
        return int(edges[0]), int(edges[-1])

    def day_edges(self, session: Session) -> npt.NDArray[np.int64]:
        """Each day's local midnight and the one after the last day, as microseconds since the
        epoch (len(days) + 1 of them), converted by SQL with the same time zone database as
        `bounds` and cached per process (it does not change under it; 8 bytes a day)."""
        found = _EDGES.get(self)
        if found is None:
            params = {"tz": self.tz, "first": self.start, "last": self.end + timedelta(days=1)}
            edges = list(session.scalars(_DAY_EDGES, params))
            found = _EDGES[self] = np.asarray(edges, dtype=np.int64)
            while len(_EDGES) > 4096:  # the oldest first
                del _EDGES[next(iter(_EDGES))]
        return found

    def local_day(self, instant: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(func.timezone(self.tz, instant), Date)


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """IANA zone names (`Europe/Berlin`), not POSIX strings PostgreSQL would also take."""
    return frozenset(zoneinfo.available_timezones())


def database_knows_zone(session: Session, name: str) -> bool:
    """PostgreSQL's tz database has `name` too (checked once per process and name)."""
    if name in _DATABASE_ZONES:
        return True
    try:
        with session.begin_nested():
            session.execute(select(func.timezone(name, func.now())))
    except DBAPIError:
        return False
    _DATABASE_ZONES.add(name)
    return True


def zone_known(name: str) -> bool:
    """Whether `name` already passed `check_zone` in this process (no database needed)."""
    return name in _DATABASE_ZONES and name in iana_zones()


def tenant_timezone(session: Session, *, tenant_id: uuid.UUID) -> str:
    """The shop's own time zone setting."""
    zone = session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id))
    return zone or "UTC"


def check_zone(session: Session, name: str) -> str:
    """`name` if both Python and PostgreSQL know it as an IANA zone; RangeError otherwise."""
    if name not in iana_zones() or not database_knows_zone(session, name):
        raise RangeError("tz", f"Not an IANA time zone name: {name[:64]!r}.")
    return name


def resolve_range(start: date | None, end: date | None, tz: str, now: datetime) -> DayRange:
    """Fill in the defaults (the last 30 days up to today in `tz`) and enforce the limits."""
    today = now.astimezone(zoneinfo.ZoneInfo(tz)).date()
    for field, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise RangeError(field, f"Must be between {EARLIEST} and {LATEST}.")
    end = end or (max(today, start) if start else today)
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise RangeError("to", "Must not be before `from`.")
    if (end - start).days + 1 > MAX_DAYS:
        raise RangeError("to", f"The range may span at most {MAX_DAYS} days.")
    return DayRange(start, end, tz)
