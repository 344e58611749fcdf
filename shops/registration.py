"""Tenant administration: register shops, verify who owns them, list them, rotate secrets.

A tenant is a claim on a shop domain until it is verified (docs/api.md#shop-verification).
Claims of one shop may coexist; the first to be verified keeps the shop and the others go.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.crypto import encrypt
from core.errors import CartwheelError
from models import Tenant

# Matched with fullmatch: `$` would let a trailing newline through.
SHOP_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_VERIFY = text("SELECT cartwheel_verify_shop(:tenant)")


class TenantError(CartwheelError, ValueError):
    """A tenant request that cannot be carried out."""


@dataclass(frozen=True)
class TenantSummary:
    id: uuid.UUID
    shop_domain: str
    name: str
    status: str
    created_at: datetime
    rotating_until: datetime | None
    verified: bool


def normalize_shop(value: str) -> str:
    """`Foo.myshopify.com`, `https://foo.myshopify.com/admin` or `foo` -> `foo.myshopify.com`."""
    if _CONTROL.search(value):
        raise TenantError(f"{value!r} is not a *.myshopify.com shop domain")
    shop = value.strip(" ").lower()
    shop = re.sub(r"^[a-z]+://", "", shop).split("/", 1)[0]
    if "." not in shop:
        shop = f"{shop}.myshopify.com"
    if not SHOP_PATTERN.fullmatch(shop):
        raise TenantError(f"{value!r} is not a *.myshopify.com shop domain")
    return shop


def add_tenant(
    session: Session,
    *,
    shop: str,
    name: str,
    webhook_secret: str,
    secret_keys: str,
    verified: bool = True,
) -> Tenant:
    """Register a shop, verified unless told otherwise (an operator vouches for it); raises
    TenantError if another verified tenant has the shop."""
    if not webhook_secret.strip():
        raise TenantError("the webhook secret must not be empty")
    if not name.strip():
        raise TenantError("the name must not be empty")
    tenant = Tenant(
        shop_domain=normalize_shop(shop),
        name=name.strip(),
        webhook_secret=encrypt(secret_keys, webhook_secret),
    )
    try:
        with session.begin_nested():
            session.add(tenant)
    except IntegrityError as exc:
        raise TenantError(f"shop {tenant.shop_domain} is already registered") from exc
    if verified and not verify_shop(session, tenant_id=tenant.id):
        raise TenantError(f"shop {tenant.shop_domain} is already registered")
    return tenant


def verify_shop(session: Session, *, tenant_id: uuid.UUID) -> bool:
    """Make the tenant the verified owner of its shop and discard every other claim of it;
    False when another tenant already holds the shop verified (the first verification wins)."""
    verified = bool(session.scalar(_VERIFY, {"tenant": tenant_id}))
    session.expire_all()
    return verified


def list_tenants(session: Session) -> list[TenantSummary]:
    """Every tenant, oldest first."""
    now = datetime.now(UTC)
    rows = session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.shop_domain))
    return [
        TenantSummary(
            id=t.id,
            shop_domain=t.shop_domain,
            name=t.name,
            status=t.status,
            created_at=t.created_at,
            rotating_until=t.previous_secret_expires_at
            if t.previous_secret_expires_at and t.previous_secret_expires_at > now
            else None,
            verified=t.verified_at is not None,
        )
        for t in rows
    ]


def find_tenant(session: Session, ref: str) -> Tenant:
    """A tenant by id or shop domain; raises TenantError if there is none."""
    try:
        tenant = session.get(Tenant, uuid.UUID(ref))
    except ValueError:
        # The verified tenant of the shop, else its oldest claim.
        tenant = session.scalar(
            select(Tenant)
            .where(Tenant.shop_domain == normalize_shop(ref))
            .order_by(Tenant.verified_at.is_(None), Tenant.created_at)
            .limit(1)
        )
    if tenant is None:
        raise TenantError(f"no tenant {ref!r}")
    return tenant


def rotate_secret(
    session: Session, *, tenant: Tenant, new_secret: str, secret_keys: str, grace_seconds: int
) -> datetime:
    """Make `new_secret` current; the old one keeps verifying for the grace period."""
    if not new_secret.strip():
        raise TenantError("the webhook secret must not be empty")
    until = datetime.now(UTC) + timedelta(seconds=grace_seconds)
    tenant.previous_webhook_secret = tenant.webhook_secret
    tenant.previous_secret_expires_at = until
    tenant.webhook_secret = encrypt(secret_keys, new_secret)
    tenant.updated_at = func.now()
    session.flush()
    return until
