"""The drain's tasks: thin wrappers over workers/drain/loop.py."""

from __future__ import annotations

from celery import Task

from core import jobs
from workers.drain.loop import drain, reclaim
from workers.runtime import job, resources


@job(jobs.DRAIN)
def drain_streams(self: Task) -> int:
    """Drain the event streams; chain another drain while a backlog remains."""
    result = drain(resources())
    if result.more:
        drain_streams.apply_async()
    return result.processed


@job(jobs.RECLAIM)
def reclaim_pending(self: Task) -> int:
    """Take over and process entries left pending by dead consumers."""
    return reclaim(resources())
