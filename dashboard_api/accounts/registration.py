"""Registering a tenant with its owner, reading it, rotating its webhook secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.crypto import encrypt
from dashboard_api.accounts.users import create_user
from dashboard_api.errors import Conflict, NotFound
from models import Tenant, User
from shops.registration import rotate_secret


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
) -> tuple[Tenant, User]:
    """Create the tenant and its owner; Conflict when the shop or the email is taken.

    `tenant_id` is chosen by the caller because the session must already be scoped to it:
    the row-level security policy only lets the API insert the tenant it is acting for.
    """
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
    except IntegrityError as exc:
        raise Conflict(f"The shop {shop_domain} is already registered.", code="shop_taken") from exc
    owner = create_user(
        session, tenant_id=tenant_id, email=email, password_hash=password_hash, role="owner"
    )
    session.refresh(tenant)
    return tenant, owner


def get_tenant(session: Session, *, tenant_id: uuid.UUID) -> Tenant:
    """The tenant itself; NotFound if it is gone."""
    tenant = session.scalar(select(Tenant).where(Tenant.id == tenant_id))
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


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
