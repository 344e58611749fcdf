"""The `cartwheel` command line."""

from __future__ import annotations

import os
from typing import Any

import click

from cartwheel.commands.common import load_settings
from cartwheel.commands.events import events
from cartwheel.commands.rollups import rollups
from cartwheel.commands.run import run
from cartwheel.commands.simulate import simulate
from cartwheel.commands.status import status
from cartwheel.commands.sync import backfill, fake_shopify, reconcile, set_credentials_command
from cartwheel.commands.tenants import tenants
from core.errors import CartwheelError
from core.logs import configure_logging


class _Commands(click.Group):
    """Every cartwheel error ends a command with its message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CartwheelError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Commands)
@click.version_option(package_name="cartwheel")
def main() -> None:
    """cartwheel: Shopify webhooks into your own PostgreSQL."""
    # Log lines (warnings and worse, unless CARTWHEEL_LOG_LEVEL says otherwise) go to stderr as
    # JSON, as every other process writes them; what a command prints for you goes to stdout.
    configure_logging(os.environ.get("CARTWHEEL_LOG_LEVEL", "WARNING"))


@main.command()
def migrate() -> None:
    """Apply the database migrations (alembic upgrade head)."""
    from cartwheel.migrate import upgrade

    upgrade(load_settings().database_url)
    click.echo("database is at the newest schema")


main.add_command(tenants)
main.add_command(simulate)
main.add_command(status)
main.add_command(run)
tenants.add_command(set_credentials_command)
main.add_command(backfill)
main.add_command(reconcile)
main.add_command(fake_shopify)
main.add_command(events)
main.add_command(rollups)
