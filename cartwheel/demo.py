"""The demo tenant that `cartwheel run` seeds: its owner's login, its history sent through the
real receiver, and a signed curl delivering a real sample to it."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import devtools
from cartwheel.sending import Summary, send_all, webhook_url
from core import jobs
from core.crypto import SecretBoxError, decrypt
from core.errors import CartwheelError
from core.settings import Settings
from dashboard_api.accounts.passwords import hash_password, verify_password
from dashboard_api.accounts.users import create_user, find_login, load_user, set_password
from dashboard_api.db import tenant_session
from devtools.traffic import history
from models import Order, Tenant
from models.db import session_scope
from receiver.signature import sign
from shops.registration import add_tenant

DEMO_SHOP = "demo-shop.myshopify.com"
DEMO_EMAIL = "demo@example.com"
# The demo shop's history on first start: about this many deliveries over this many days.
HISTORY_DAYS = 60
HISTORY_DELIVERIES = 20_000
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
    email: str = DEMO_EMAIL
    password: str = ""


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
        tenant_id = tenant.id
    password = demo_login(settings, tenant_id, previous.get("password") or "")
    demo = DemoTenant(DEMO_SHOP, secret, str(tenant_id), receiver_url, DEMO_EMAIL, password)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(demo), f, indent=2)
    return demo


def demo_login(settings: Settings, tenant_id: uuid.UUID, known: str) -> str:
    """The demo owner's password: `known` if it still signs in, else a new one set now."""
    with tenant_session(settings, tenant_id) as session:
        record = find_login(session, DEMO_EMAIL)
        if record is not None and record.tenant_id != tenant_id:
            raise DemoError(f"{DEMO_EMAIL} is a user of another tenant; no demo login")
        if record is not None and known and verify_password(record.password_hash, known):
            return known
        password = secrets.token_urlsafe(12)
        if record is None:
            create_user(
                session,
                tenant_id=tenant_id,
                email=DEMO_EMAIL,
                password_hash=hash_password(password),
                role="owner",
            )
        else:
            user = load_user(session, tenant_id=tenant_id, user_id=record.user_id)
            if user is None:
                raise DemoError(f"{DEMO_EMAIL} cannot be loaded in the demo tenant")
            set_password(session, user, hash_password(password))
        return password


def has_orders(settings: Settings, demo: DemoTenant) -> bool:
    """Whether the demo shop has any order yet (its history is sent once)."""
    with session_scope(settings.database_url) as session:
        mine = select(Order.shopify_id).where(Order.tenant_id == uuid.UUID(demo.tenant_id))
        return bool(session.scalar(select(mine.exists())))


def send_history(
    settings: Settings,
    demo: DemoTenant,
    *,
    days: float = HISTORY_DAYS,
    deliveries: int = HISTORY_DELIVERIES,
    wait: Callable[[], None] = lambda: None,
) -> Summary:
    """Send the demo shop `days` of generated history through the receiver, let `wait` return
    once the workers have drained it, then queue the analytics recompute (segments, cohorts)."""
    traffic = history(
        secrets.randbelow(2**31), shop=demo.shop, secret=demo.secret, days=days, count=deliveries
    )
    summary = send_all(traffic, webhook_url(demo.receiver_url), rate=10_000)
    wait()
    jobs.Producer(settings).enqueue(jobs.ANALYTICS_TENANT, {"tenant_id": demo.tenant_id})
    return summary


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
