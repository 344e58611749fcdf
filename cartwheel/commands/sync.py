"""`cartwheel backfill`, `reconcile`, `fake-shopify` and `tenants set-credentials`."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import click

from cartwheel.commands.common import load_settings
from models.db import session_scope
from shops.credentials import CredentialError, set_admin_url, set_credentials
from shops.registration import TenantError, find_tenant
from shops.syncs import pullable, start_run


def _tenant_id(ref: str) -> uuid.UUID:
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            return find_tenant(session, ref).id
    except TenantError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("set-credentials")
@click.argument("tenant")
@click.option("--token", help="The shop's Admin API access token (shpat_...).")
@click.option("--api-version", help="Admin API version, e.g. 2026-07 (with --token).")
@click.option(
    "--admin-url",
    help="Base URL of the Admin API (default https://<shop>), e.g. the fake's. Trusted as "
    "given: only an operator sets it. Without --token, changes only the stored URL.",
)
def set_credentials_command(
    tenant: str, token: str | None, api_version: str | None, admin_url: str | None
) -> None:
    """Store a shop's Admin API token (encrypted) and address for backfill and reconcile."""
    if token is None and admin_url is None:
        raise click.UsageError("give --token and --api-version, or --admin-url, or both")
    if token is not None and api_version is None:
        raise click.UsageError("--token needs --api-version")
    settings = load_settings()
    tenant_id = _tenant_id(tenant)
    try:
        with session_scope(settings.database_url) as session:
            if token is None:
                set_admin_url(session, tenant_id=tenant_id, admin_url=admin_url)
            else:
                set_credentials(
                    session,
                    tenant_id=tenant_id,
                    token=token,
                    api_version=str(api_version),
                    admin_url=admin_url,
                    secret_keys=settings.secret_keys,
                )
    except CredentialError as exc:
        raise click.ClickException(str(exc)) from exc
    where = admin_url or "https://<shop>"
    click.echo(f"credentials stored for tenant {tenant_id} (Admin API at {where})")


class _Bars:
    """One click progress bar per resource, labelled with rows and rows per second."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.resource = ""
        self.started = 0.0
        self.first = 0
        self.done = 0

    def __call__(self, resource: str, done: int, total: int) -> None:
        if resource != self.resource:
            self.close()
            self.resource, self.started, self.first = resource, time.monotonic(), done
            self.bar = click.progressbar(
                length=max(total, 1), label=f"{resource:10}", item_show_func=self._label
            )
            self.bar.__enter__()
        self.bar.update(done - self.done, current_item=done)
        self.done = done

    def _label(self, done: int | None) -> str:
        if done is None:
            return ""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{done:,} rows  {(done - self.first) / elapsed:,.0f}/s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        self.bar, self.done = None, 0


@click.command("backfill")
@click.option("--tenant", "tenant", required=True, help="Tenant id or shop domain.")
@click.option(
    "--resources",
    default=",".join(pullable()),
    show_default=True,
    help="Comma-separated resources to pull.",
)
@click.option("--since", type=click.DateTime(), help="Only what was updated since (UTC).")
@click.option("--restart", is_flag=True, help="Start over instead of resuming an unfinished run.")
def backfill(tenant: str, resources: str, since: datetime | None, restart: bool) -> None:
    """Pull everything from the Admin API through bulk operations (resumable)."""
    from workers.runtime import Resources
    from workers.sync.backfill import run_backfill

    settings = load_settings()
    tenant_id = _tenant_id(tenant)
    since_utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    wanted = [r.strip() for r in resources.split(",") if r.strip()]
    with session_scope(settings.database_url) as session:
        run, resumed = start_run(
            session, tenant_id=tenant_id, resources=wanted, since=since_utc, restart=restart
        )
        run_id = run.id
    click.echo(f"{'resuming' if resumed else 'starting'} backfill {run_id}")
    bars = _Bars()
    res = Resources(settings)
    try:
        summary = run_backfill(res, tenant_id=tenant_id, run_id=run_id, on_progress=bars)
    finally:
        bars.close()
        res.close()
    for resource in [r for r in pullable() if r in summary]:
        counts = summary[resource]
        click.echo(
            f"{resource:10} {counts['seen']:>10,} rows pulled, {counts['written']:,} written"
        )


@click.command("reconcile")
@click.option("--tenant", "tenant", required=True, help="Tenant id or shop domain.")
def reconcile(tenant: str) -> None:
    """Pull what changed since the last watermark now, and report the drift found."""
    from workers.runtime import Resources
    from workers.sync.reconcile import reconcile_tenant

    res = Resources(load_settings())
    try:
        run = reconcile_tenant(res, tenant_id=_tenant_id(tenant), max_inline_wait=float("inf"))
    finally:
        res.close()
    click.echo(
        f"reconcile {run.run_id}: {run.seen:,} rows seen, {run.missing:,} missing, "
        f"{run.stale:,} stale, {run.written:,} written"
    )


@click.command("fake-shopify")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--shop", default="demo.myshopify.com", show_default=True)
@click.option("--token", default="shpat_fake_demo_token", show_default=True)
@click.option(
    "--plan",
    default="standard",
    show_default=True,
    type=click.Choice(["legacy", "standard", "advanced", "plus", "enterprise"]),
)
@click.option("--orders", default=1000, show_default=True, type=int)
@click.option("--customers", type=int, help="Default: a quarter of the orders.")
@click.option("--products", type=int, help="Default: a tenth of the orders, at most 200.")
@click.option("--checkouts", default=100, show_default=True, type=int)
@click.option("--webhook-url", help="Send bulk_operations/finish here (a cartwheel receiver).")
@click.option("--webhook-secret", help="The secret that signs those webhooks.")
def fake_shopify(
    host: str,
    port: int,
    shop: str,
    token: str,
    plan: str,
    orders: int,
    customers: int | None,
    products: int | None,
    checkouts: int,
    webhook_url: str | None,
    webhook_secret: str | None,
) -> None:
    """Serve a fake Shopify Admin API with generated data (for trying backfill locally)."""
    from devtools.fake_shopify import FakeShopify, ServerThread

    fake = FakeShopify()
    data = fake.add_shop(
        shop, token=token, plan=plan, webhook_url=webhook_url, webhook_secret=webhook_secret
    )
    data.seed(orders=orders, customers=customers, products=products, checkouts=checkouts)
    server = ServerThread(fake, host, port).start()
    click.echo(f"fake Shopify Admin API for {shop} at {server.url} ({plan} plan)")
    click.echo(
        f"  cartwheel tenants set-credentials {shop} --token {token} --api-version 2026-07 "
        f"--admin-url {server.url}"
    )
    click.echo(f"  cartwheel backfill --tenant {shop}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
