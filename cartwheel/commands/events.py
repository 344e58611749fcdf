"""`cartwheel events ...`: look through the event log and dead letters, replay dead letters."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import click
import redis

from cartwheel.commands.common import load_settings
from core.settings import Settings
from core.wire import QueueFull, StreamWriter
from eventlog.listing import (
    STATUSES,
    EventFilter,
    EventRow,
    EventsError,
    find_events,
    list_events,
)
from eventlog.replay import replay_dead_letters, replay_unhandled
from models.db import session_scope
from shops.registration import TenantError, find_tenant


class Timestamp(click.ParamType):
    """An ISO 8601 time such as 2026-03-01 or 2026-03-01T12:00:00+02:00 (UTC when no offset)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time", param, ctx)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _filters(f: Any) -> Any:
    for option in reversed(
        [
            click.option("--tenant", help="Tenant id or shop domain."),
            click.option("--topic", help="Exact topic, e.g. orders/create."),
            click.option("--since", type=Timestamp(), help="From this time (inclusive)."),
            click.option("--until", type=Timestamp(), help="Up to this time (exclusive)."),
        ]
    ):
        f = option(f)
    return f


def _tenant_id(settings: Settings, ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    try:
        with session_scope(settings.database_url) as session:
            return find_tenant(session, ref).id
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("events")
def events() -> None:
    """The event log, dead letters, and their replay."""


@events.command("list")
@_filters
@click.option(
    "--status",
    type=click.Choice(STATUSES),
    help="Event log status, or dead / replayed for dead letters.",
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(
    tenant: str | None,
    topic: str | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List event log entries and dead letters, newest first."""
    settings = load_settings()
    flt = EventFilter(_tenant_id(settings, tenant), topic, status, since, until, limit)
    with session_scope(settings.database_url) as session:
        rows = list_events(session, flt)
    if as_json:
        for row in rows:
            click.echo(json.dumps(_jsonable(row)))
        return
    if not rows:
        click.echo("no events")
        return
    click.echo(f"{'time':24}  {'status':9}  {'ref':>8}  {'topic':24}  webhook id")
    for r in rows:
        ref = f"#{r.dead_letter_id}" if r.dead_letter_id else ""
        click.echo(
            f"{r.at:%Y-%m-%d %H:%M:%S%z}  {r.status:9}  {ref:>8}  {r.topic:24}  {r.webhook_id}"
        )


@events.command("show")
@click.argument("ref")
@click.option("--tenant", help="Tenant id or shop domain (webhook ids are unique per tenant).")
@click.option("--body", is_flag=True, help="Print the stored payload too.")
def show(ref: str, tenant: str | None, body: bool) -> None:
    """Show a delivery by webhook id, or a dead letter by its number."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        found = find_events(session, ref.lstrip("#"), tenant_id=_tenant_id(settings, tenant))
    if not found:
        raise click.ClickException(f"no event or dead letter {ref!r}")
    for row in found:
        data = _jsonable(row)
        if not body:
            data.pop("body", None)
        click.echo(json.dumps(data, indent=2))


@events.command("replay")
@click.argument("ids", nargs=-1, type=int)
@_filters
@click.option("--all", "everything", is_flag=True, help="Every dead letter matching the filters.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def replay(
    ids: tuple[int, ...],
    tenant: str | None,
    topic: str | None,
    since: datetime | None,
    until: datetime | None,
    everything: bool,
    limit: int,
) -> None:
    """Put dead letters back through the pipeline (by number, or --all with filters)."""
    if bool(ids) == everything:
        raise click.UsageError("give dead-letter numbers, or --all (with filters), not both")
    settings = load_settings()
    flt = EventFilter(_tenant_id(settings, tenant), topic, None, since, until, limit)
    client = redis.Redis.from_url(settings.redis_url)
    writer = StreamWriter(client, settings)
    try:
        with session_scope(settings.database_url) as session:
            result = replay_dead_letters(
                session, writer, now=datetime.now(UTC), ids=list(ids) or None, flt=flt
            )
    except (EventsError, QueueFull, redis.RedisError) as exc:
        raise click.ClickException(f"replay failed: {exc}") from exc
    finally:
        client.close()
    click.echo(f"replayed {len(result.replayed)} dead letter(s)")
    if result.skipped:
        numbers = ", ".join(f"#{i}" for i in result.skipped)
        click.echo(f"skipped (already replayed, or not found): {numbers}")


@events.command("replay-unhandled")
@_filters
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
def replay_unhandled_(
    tenant: str | None,
    topic: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> None:
    """Put deliveries recorded as unhandled, of topics handled now, through the pipeline."""
    settings = load_settings()
    flt = EventFilter(_tenant_id(settings, tenant), topic, None, since, until, limit)
    client = redis.Redis.from_url(settings.redis_url)
    try:
        with session_scope(settings.database_url) as session:
            result = replay_unhandled(session, StreamWriter(client, settings), flt)
    except (QueueFull, redis.RedisError) as exc:
        raise click.ClickException(f"replay failed: {exc}") from exc
    finally:
        client.close()
    click.echo(f"replayed {len(result.replayed)} unhandled delivery(ies); {result.left} left")


def _jsonable(row: EventRow) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {
        "kind": row.kind,
        "dead_letter_id": row.dead_letter_id,
        "tenant_id": str(row.tenant_id),
        "webhook_id": row.webhook_id,
        "topic": row.topic,
        "status": row.status,
        "at": row.at.isoformat(),
        "attempts": row.attempts,
        "error": row.error,
        **plain(row.details),
        "body": row.body,
    }
