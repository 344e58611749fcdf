"""Registering a tenant with its owner, reading it, verifying its shop, rotating its secret.

A registration is a claim: the tenant is unverified until its owner proves control of the
shop (docs/api.md#shop-verification), and receives no webhooks until then. Claims never block
one another, and the answer to a registration is the same whether or not the shop or the
email address is known already, so registering tells nobody who else is registered.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import encrypt
from core.settings import Settings
from dashboard_api.accounts.users import create_user, find_login
from dashboard_api.errors import Conflict, NotFound, RateLimited
from models import Tenant, User
from shops.registration import rotate_secret, verify_shop


def register_tenant(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    name: str,
    shop_domain: str,
    timezone: str,
    webhook_secret: str,
    secret_keys: str,
    email: str,
    password_hash: str,
) -> tuple[Tenant, User] | None:
    """Create an unverified tenant and its owner; None (nothing created) when the email
    address has an account already.

    `tenant_id` is chosen by the caller because the session must already be scoped to it:
    the row-level security policy only lets the API insert the tenant it is acting for.
    """
    if find_login(session, email) is not None:
        return None
    tenant = Tenant(
        id=tenant_id,
        shop_domain=shop_domain,
        name=name,
        timezone=timezone,
        webhook_secret=encrypt(secret_keys, webhook_secret),
    )
    try:
        with session.begin_nested():
            session.add(tenant)
            session.flush()
            owner = create_user(
                session,
                tenant_id=tenant_id,
                email=email,
                password_hash=password_hash,
                role="owner",
            )
    except Conflict:
        return None  # the address was taken meanwhile by a concurrent registration
    session.refresh(tenant)
    return tenant, owner


def get_tenant(session: Session, *, tenant_id: uuid.UUID) -> Tenant:
    """The tenant itself; NotFound if it is gone."""
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


def mark_verified(session: Session, *, tenant_id: uuid.UUID) -> Tenant:
    """Make the tenant its shop's verified owner; Conflict when another tenant is already."""
    if not verify_shop(session, tenant_id=tenant_id):
        raise Conflict(
            "Another account already holds this shop verified.", code="shop_verified_elsewhere"
        )
    return get_tenant(session, tenant_id=tenant_id)


def rotate_webhook_secret(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    new_secret: str,
    secret_keys: str,
    grace_seconds: int,
) -> datetime:
    """Make `new_secret` current; the old one verifies until the returned time."""
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    if tenant is None:
        raise NotFound("No such tenant.")
    return rotate_secret(
        session,
        tenant=tenant,
        new_secret=new_secret,
        secret_keys=secret_keys,
        grace_seconds=grace_seconds,
    )


class RegistrationLimiter:
    """Registrations per client address in a fixed window, counted in Redis."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._settings = settings
        self._client = client

    def take(self, address: str) -> None:
        """Count one registration; raise RateLimited (429, Retry-After) past the limit."""
        key = f"{self._settings.namespace}:registrations:address:{address}"
        pipe = self._client.pipeline(transaction=True)
        # SET NX EX opens the window; INCR counts (works on Redis 6, unlike EXPIRE NX).
        pipe.set(key, 0, ex=self._settings.register_window_seconds, nx=True)
        pipe.incr(key)
        pipe.pttl(key)
        _, count, ttl = pipe.execute()
        if int(count) > self._settings.register_max_per_address:
            wait = max(1, math.ceil((int(ttl) if int(ttl) > 0 else 1000) / 1000))
            raise RateLimited(
                "Too many registrations from this address; try again later.",
                headers={"Retry-After": str(wait)},
            )
