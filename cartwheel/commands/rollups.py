"""`cartwheel rollups rebuild`: recompute the daily rollups from the rows.

The write path keeps the rollups in step by itself; a rebuild is for a shop that changed its
time zone (the rollups are bucketed in the zone they were built in) and for disaster recovery.
"""

from __future__ import annotations

import time
import uuid

import click
import redis
from sqlalchemy import select

from cartwheel.commands.common import load_settings
from core.versions import bump_versions
from models import Tenant
from models.db import session_scope
from shops.registration import TenantError, find_tenant
from writes.rollup_days import rebuild


@click.group()
def rollups() -> None:
    """The daily rollups behind the reports."""


@rollups.command("rebuild")
@click.option("--tenant", help="Tenant id or shop domain; default: every tenant.")
def rebuild_command(tenant: str | None) -> None:
    """Recompute every rollup row of one tenant, or of all, in the shop's zone now."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        try:
            ids = [find_tenant(session, tenant).id] if tenant else None
        except TenantError as exc:
            raise click.ClickException(str(exc)) from exc
        if ids is None:
            ids = list(session.scalars(select(Tenant.id).order_by(Tenant.id)))
    client = redis.Redis.from_url(settings.redis_url)
    try:
        for tenant_id in ids:
            _rebuild_one(settings.database_url, tenant_id)
            # Cached answers were computed from the old rollups: the next one is fresh.
            bump_versions(client, settings.namespace, [tenant_id])
    finally:
        client.close()


def _rebuild_one(url: str, tenant_id: uuid.UUID) -> None:
    """One tenant in one transaction: readers see the old rollups until it commits."""
    started = time.monotonic()
    with session_scope(url) as session:
        days = rebuild(session, tenant_id)[tenant_id]
    click.echo(f"{tenant_id}: {days} days in {time.monotonic() - started:.1f} s")
