"""The demo tenant that `cartwheel run` seeds, and a signed curl delivering a real sample to it."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import devtools
from core.crypto import SecretBoxError, decrypt
from core.errors import CartwheelError
from core.settings import Settings
from models import Tenant
from models.db import session_scope
from receiver.signature import sign
from shops.registration import add_tenant

DEMO_SHOP = "demo-shop.myshopify.com"
SAMPLES = Path(devtools.__file__).resolve().parent / "samples"
API_VERSION = "2026-07"


class DemoError(CartwheelError, RuntimeError):
    """The demo tenant exists but cannot be used (its secret does not decrypt)."""


@dataclass(frozen=True)
class DemoTenant:
    """What ./.cartwheel/demo.json holds (`cartwheel simulate` reads it by default)."""

    shop: str
    secret: str
    tenant_id: str
    receiver_url: str


def demo_tenant(session: Session, *, secret_keys: str, new_secret: str) -> tuple[Tenant, str]:
    """The demo shop's tenant and webhook secret; registered with new_secret if missing."""
    tenant = session.scalar(
        select(Tenant).where(Tenant.shop_domain == DEMO_SHOP, Tenant.verified_at.is_not(None))
    )
    if tenant is None:
        # Registered by the launcher, an operator: verified, so other claims of it go.
        tenant = add_tenant(
            session,
            shop=DEMO_SHOP,
            name="Demo shop",
            webhook_secret=new_secret,
            secret_keys=secret_keys,
        )
        return tenant, new_secret
    try:
        return tenant, decrypt(secret_keys, tenant.webhook_secret)
    except SecretBoxError as exc:
        raise DemoError(
            f"the secret of {DEMO_SHOP} does not decrypt with CARTWHEEL_SECRET_KEYS "
            "(was the key changed?); no demo webhook this time"
        ) from exc


def ensure_demo_tenant(settings: Settings, path: Path, receiver_url: str) -> DemoTenant:
    """Create the demo tenant on first start and (re)write its details to path (mode 0600)."""
    previous = json.loads(path.read_text()) if path.exists() else {}
    with session_scope(settings.database_url) as session:
        tenant, secret = demo_tenant(
            session,
            secret_keys=settings.secret_keys,
            new_secret=previous.get("secret") or secrets.token_hex(32),
        )
        demo = DemoTenant(DEMO_SHOP, secret, str(tenant.id), receiver_url)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(demo), f, indent=2)
    return demo


def sample_curl(
    demo: DemoTenant, sample: str = "orders_create", topic: str = "orders/create"
) -> str:
    """A ready-to-paste curl delivering one of Shopify's sample payloads, signed, fresh ids."""
    path = SAMPLES / f"{sample}.json"
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": demo.shop,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "X-Shopify-API-Version": API_VERSION,
        # Signed over the file's exact bytes, which --data-binary sends unchanged.
        "X-Shopify-Hmac-Sha256": sign(demo.secret, path.read_bytes()),
    }
    resource = topic.split("/", 1)[0]
    lines = [f"curl -sS -w '\\n' -X POST {shlex.quote(f'{demo.receiver_url}/webhooks/{resource}')}"]
    lines += [f"  -H {shlex.quote(f'{name}: {value}')}" for name, value in headers.items()]
    lines.append(f"  --data-binary @{shlex.quote(str(path))}")
    return " \\\n".join(lines)
