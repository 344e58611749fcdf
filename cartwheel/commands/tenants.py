"""`cartwheel tenants ...`: register shops, list them, rotate their webhook secrets."""

from __future__ import annotations

import secrets as pysecrets

import click

from cartwheel.commands.common import load_settings
from models.db import session_scope
from shops.registration import TenantError, add_tenant, find_tenant, list_tenants, rotate_secret


@click.group("tenants")
def tenants() -> None:
    """Register and manage shops (tenants)."""


@tenants.command("add")
@click.option("--shop", required=True, help="The shop's myshopify.com domain.")
@click.option("--name", required=True, help="A display name for the tenant.")
@click.option(
    "--webhook-secret", required=True, help="The app's client secret that signs webhooks."
)
def add(shop: str, name: str, webhook_secret: str) -> None:
    """Register a shop; prints the new tenant id."""
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            tenant = add_tenant(
                session,
                shop=shop,
                name=name,
                webhook_secret=webhook_secret,
                secret_keys=settings.secret_keys,
            )
            tenant_id = tenant.id
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(tenant_id))


@tenants.command("list")
def list_() -> None:
    """List every tenant."""
    settings = load_settings()
    with session_scope(settings.database_url) as session:
        rows = list_tenants(session)
    if not rows:
        click.echo("no tenants")
        return
    click.echo(f"{'id':36}  {'shop':40}  {'status':11}  name")
    for t in rows:
        note = (
            f"  (previous secret valid until {t.rotating_until:%Y-%m-%d %H:%M} UTC)"
            if t.rotating_until
            else ""
        )
        click.echo(f"{t.id!s:36}  {t.shop_domain:40}  {t.status:11}  {t.name}{note}")


@tenants.command("rotate-secret")
@click.argument("tenant")
@click.option("--webhook-secret", help="The new secret (default: generate one and print it).")
@click.option(
    "--grace-seconds", type=int, help="How long the old secret keeps verifying (default 3600)."
)
def rotate(tenant: str, webhook_secret: str | None, grace_seconds: int | None) -> None:
    """Make a new webhook secret current; the old one stays valid for the grace period."""
    settings = load_settings()
    new_secret = webhook_secret or pysecrets.token_hex(32)
    grace = settings.secret_grace_seconds if grace_seconds is None else grace_seconds
    try:
        with session_scope(settings.database_url) as session:
            until = rotate_secret(
                session,
                tenant=find_tenant(session, tenant),
                new_secret=new_secret,
                secret_keys=settings.secret_keys,
                grace_seconds=grace,
            )
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    if not webhook_secret:
        click.echo(f"new webhook secret: {new_secret}")
    click.echo(f"previous secret accepted until {until:%Y-%m-%d %H:%M:%S} UTC")
