"""`cartwheel simulate`: send realistic signed Shopify traffic to a receiver."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import click

from cartwheel.sending import Summary, send_all, webhook_url
from devtools.shapes import Shape
from devtools.traffic import Delivery, traffic
from devtools.traffic import history as past

# `cartwheel run` writes the demo tenant it seeded here (shop, secret, tenant_id, receiver_url).
DEMO_FILE = Path(".cartwheel") / "demo.json"
DEFAULT_RECEIVER = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Target:
    url: str
    shop: str
    secret: str


def resolve_target(
    shop: str | None, secret: str | None, url: str | None, demo_file: Path = DEMO_FILE
) -> Target:
    """Fill what the options leave out from the local stack's demo tenant."""
    demo = _read_demo(demo_file)
    if demo is None and not (shop or secret or url):
        raise click.ClickException(
            f"no target: {demo_file} is missing (start the local stack with `make run`), "
            "or pass --shop, --secret and --url"
        )
    demo = demo or {}
    if shop and demo.get("shop") and shop != demo["shop"] and not secret:
        raise click.ClickException(f"--secret is required for {shop} (not the demo shop)")
    shop, secret = shop or demo.get("shop"), secret or demo.get("secret")
    if not shop or not secret:
        missing = " and ".join(n for n, v in (("--shop", shop), ("--secret", secret)) if not v)
        raise click.ClickException(f"{missing} required: {demo_file} is missing")
    return Target(webhook_url(url or demo.get("receiver_url") or DEFAULT_RECEIVER), shop, secret)


def _read_demo(path: Path) -> dict[str, str] | None:
    if not path.exists():
        return None
    try:
        demo = json.loads(path.read_text())
    except ValueError as exc:
        raise click.ClickException(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(demo, dict):
        raise click.ClickException(f"{path} is not a JSON object")
    return {k: str(v) for k, v in demo.items() if v is not None}


def format_summary(summary: Summary) -> list[str]:
    """The lines printed at the end of a run."""
    kinds = summary.kinds
    rejected = sum(summary.rejected.values())
    by_status = ", ".join(f"{status}: {n}" for status, n in sorted(summary.rejected.items()))
    return [
        f"sent      {summary.sent} in {summary.seconds:.1f} s ({summary.rate:.1f}/s)",
        f"          {kinds['first']} first deliveries, {kinds['duplicate']} duplicates, "
        f"{kinds['late']} held back and delivered out of order",
        f"accepted  {summary.accepted}",
        f"rejected  {rejected}" + (f" ({by_status})" if by_status else ""),
    ]


@click.command("simulate")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Deliveries per second.",
)
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Deliveries to send in all.",
)
@click.option("--shop", help="Shop domain to sign for (default: the local demo tenant).")
@click.option("--secret", help="The shop's webhook secret (default: the demo tenant's).")
@click.option("--url", help="Receiver address (default: the local stack's receiver).")
@click.option("--seed", type=int, help="Replay the same traffic (same ids and webhook ids).")
@click.option(
    "--history",
    type=click.FloatRange(min=0, min_open=True),
    metavar="DAYS",
    help="Send a history instead: about --count deliveries spread over the last DAYS days.",
)
@click.option(
    "--api-version",
    default="2026-07",
    show_default=True,
    help="The API version the deliveries claim; their bodies take that version's shapes.",
)
def simulate(
    rate: float,
    count: int,
    shop: str | None,
    secret: str | None,
    url: str | None,
    seed: int | None,
    history: float | None,
    api_version: str,
) -> None:
    """Send realistic signed Shopify webhooks (with duplicates and out-of-order deliveries)."""
    try:
        Shape(api_version)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--api-version") from exc
    target = resolve_target(shop, secret, url)
    seed = secrets.randbelow(2**31) if seed is None else seed
    click.echo(
        f"sending {count} deliveries for {target.shop} to {target.url} "
        f"at up to {rate:g}/s (seed {seed})"
    )
    if history is not None:
        deliveries: Iterable[Delivery] = past(
            seed, shop=target.shop, secret=target.secret, days=history, count=count
        )
    else:
        deliveries = islice(
            traffic(seed, shop=target.shop, secret=target.secret, api_version=api_version), count
        )
    summary = send_all(deliveries, target.url, rate=rate)
    for line in format_summary(summary):
        click.echo(line)
    if summary.error:
        raise click.ClickException(summary.error)
    if summary.rejected:
        raise click.ClickException("some deliveries were rejected (see the statuses above)")
