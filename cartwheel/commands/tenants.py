"""`cartwheel tenants ...`: register and verify shops, list them, rotate their webhook secrets,
and decide held erasure requests (shop/redact, customers/redact) as an operator."""

from __future__ import annotations

import secrets as pysecrets

import click

from cartwheel.commands.common import load_settings
from models.db import session_scope
from shops.holds import HoldError, decide_hold, list_holds
from shops.registration import (
    TenantError,
    add_tenant,
    find_tenant,
    list_tenants,
    rotate_secret,
    verify_shop,
)


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
    """Register a shop, verified (the operator vouches for it); prints the new tenant id."""
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
    click.echo(f"{'id':36}  {'shop':40}  {'status':11}  {'verified':8}  name")
    for t in rows:
        note = (
            f"  (previous secret valid until {t.rotating_until:%Y-%m-%d %H:%M} UTC)"
            if t.rotating_until
            else ""
        )
        verified = "yes" if t.verified else "no"
        click.echo(f"{t.id!s:36}  {t.shop_domain:40}  {t.status:11}  {verified:8}  {t.name}{note}")


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


@tenants.command("verify")
@click.argument("tenant")
def verify(tenant: str) -> None:
    """Mark a tenant its shop's verified owner (other claims of the shop are discarded)."""
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            found = find_tenant(session, tenant)
            if not verify_shop(session, tenant_id=found.id):
                raise TenantError(f"another tenant holds {found.shop_domain} verified")
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("verified")


@tenants.command("holds")
@click.argument("tenant", required=False)
@click.option("--all", "show_all", is_flag=True, help="Decided holds too.")
def holds(tenant: str | None, show_all: bool) -> None:
    """List held erasure requests (of one tenant, or of all), the nearest deadline first."""
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            tenant_id = find_tenant(session, tenant).id if tenant else None
            rows = list_holds(session, tenant_id=tenant_id, undecided_only=not show_all)
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc
    if not rows:
        click.echo("no holds")
        return
    for h in rows:
        state = h.decision or ("OVERDUE" if h.overdue else "waiting")
        click.echo(
            f"{h.tenant_id!s:36}  {h.webhook_id:40}  {h.topic:16}  "
            f"due {h.deadline_at:%Y-%m-%d %H:%M} UTC  {state}"
        )


def _decide(tenant: str, webhook_id: str, decision: str) -> None:
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            decide_hold(
                session,
                tenant_id=find_tenant(session, tenant).id,
                webhook_id=webhook_id,
                decision=decision,
                by="operator",
            )
    except (TenantError, HoldError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{decision}; the compliance job acts on it in its next run")


@tenants.command("confirm-hold")
@click.argument("tenant")
@click.argument("webhook_id")
def confirm_hold(tenant: str, webhook_id: str) -> None:
    """Confirm a held erasure request: it is carried out."""
    _decide(tenant, webhook_id, "confirmed")


@tenants.command("reject-hold")
@click.argument("tenant")
@click.argument("webhook_id")
def reject_hold(tenant: str, webhook_id: str) -> None:
    """Reject a held erasure request: nothing is erased."""
    _decide(tenant, webhook_id, "rejected")
