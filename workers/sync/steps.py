"""A sync run (backfill, reconcile) goes in steps, one task execution each.

A step works until it has to wait (a bulk operation still running, a rate limit, Retry-After,
a free bulk slot) or until its time is used up, then raises `SyncWait`: the task retries itself
with that countdown and the next step continues from the run's checkpoint. No pool process
sleeps on one tenant's behalf, so sync jobs of any number of tenants never hold processes
others need. A run still unfinished `sync_run_deadline` seconds after it started fails with
`RunDeadline`; its checkpoint is kept, and starting it again resumes there.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from core.errors import CartwheelError
from core.settings import Settings


class SyncWait(CartwheelError):
    """This step cannot go on now: continue the run in `seconds`."""

    def __init__(self, seconds: float, why: str, *, bulk_operation: str | None = None) -> None:
        super().__init__(f"{why}: continuing in {seconds:.1f}s")
        self.seconds = max(0.0, seconds)
        self.why = why
        self.bulk_operation = bulk_operation  # the operation waited for, if any


class RunDeadline(CartwheelError):
    """The run went on longer than its deadline (sync_run_deadline)."""


def overdue(settings: Settings, started_at: datetime | None) -> str | None:
    """Why a run that started at `started_at` must stop now, or None while it may go on."""
    if started_at is None:
        return None
    if started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    elapsed = (datetime.now(UTC) - started_at).total_seconds()
    if elapsed <= settings.sync_run_deadline:
        return None
    return (
        f"deadline exceeded: still unfinished after {elapsed:.0f}s "
        f"(CARTWHEEL_SYNC_RUN_DEADLINE is {settings.sync_run_deadline:.0f}s); "
        "its checkpoint is kept, start it again to resume"
    )


class StepClock:
    """The time one step may take; `check` ends the step (between units of work) once it is up."""

    def __init__(self, seconds: float | None) -> None:
        self.until = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.until is not None and time.monotonic() > self.until:
            raise SyncWait(0.0, "step time used up")
