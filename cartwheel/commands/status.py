"""`cartwheel status`: rows per tenant and table, stream backlog, pending entries, dead letters."""

from __future__ import annotations

import json

import click
import redis
from sqlalchemy.exc import SQLAlchemyError

from cartwheel.commands.common import load_settings
from cartwheel.status import (
    ENTITY_TABLES,
    DeadLetterTotals,
    PipelineStatus,
    TenantStatus,
    dead_letter_totals,
    pipeline_status,
    status_json,
    tenant_counts,
)
from models.db import session_scope


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def status(as_json: bool) -> None:
    """Rows per tenant and table; stream backlog, pending entries, consumers and dead letters."""
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            tenants = tenant_counts(session)
            dead = dead_letter_totals(session)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the database: {_first_line(exc)}") from exc
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    pipeline: PipelineStatus | None = None
    error = None
    try:
        pipeline = pipeline_status(client, settings)
    except redis.RedisError as exc:
        error = f"cannot read Redis: {exc.__class__.__name__}: {exc}"
    finally:
        client.close()
    if as_json:
        click.echo(json.dumps(status_json(tenants, dead, pipeline, error), indent=2))
    else:
        for line in [*_tenant_lines(tenants), "", *_pipeline_lines(pipeline, dead, error)]:
            click.echo(line)
    if error:
        raise SystemExit(1)


def _tenant_lines(tenants: list[TenantStatus]) -> list[str]:
    if not tenants:
        return ["no tenants (add one with `cartwheel tenants add`)"]
    lines: list[str] = []
    for t in tenants:
        lines += [
            f"{t.shop}  {t.name!r} ({t.status})  {t.id}",
            f"  {'table':<16}{'rows':>9}{'deleted':>9}",
        ]
        for name, count in t.tables.items():
            deleted = count.deleted if name in ENTITY_TABLES else "-"
            lines.append(f"  {name:<16}{count.rows:>9}{deleted:>9}")
        lines.append("")
    return lines[:-1]


def _pipeline_lines(
    pipeline: PipelineStatus | None, dead: DeadLetterTotals, error: str | None
) -> list[str]:
    dead_line = f"  {'dead letters':<14}{dead.total} ({dead.waiting} not replayed)"
    if pipeline is None:
        return [f"pipeline: {error}", dead_line]
    width = max([6, *(len(s.stream) for s in pipeline.shards)])
    lines = [
        f"pipeline (consumer group {pipeline.group})",
        f"  {'stream':<{width}}  {'backlog':>9}  {'pending':>9}",
        *(f"  {s.stream:<{width}}  {s.backlog:>9}  {s.pending:>9}" for s in pipeline.shards),
        f"  {'total':<{width}}  {pipeline.backlog:>9}  {pipeline.pending:>9}",
    ]
    consumers = [
        f"{name} ({info['pending']} pending, idle {info['idle_ms'] / 1000:.1f} s)"
        for name, info in sorted(pipeline.consumers.items())
    ] or ["none"]
    for i, text in enumerate(consumers):
        lines.append(f"  {'consumers' if i == 0 else '':<14}{text}")
    lines.append(dead_line)
    return lines


def _first_line(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
