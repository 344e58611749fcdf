"""Shop Admin API credentials: stored encrypted, read back only to call Shopify.

Where the Admin API is reached is not a tenant's choice: a tenant's calls go to
`https://<its shop domain>`, and any other address (a fake Admin API, a proxy) is an operator
setting stored through the command line. The stored `admin_url` is therefore always an
operator's, and the client trusts it as such; see `core.egress`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.crypto import decrypt, encrypt
from core.errors import CartwheelError
from models import ShopCredential, Tenant
from models.base import table_of

_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")


class CredentialError(CartwheelError, ValueError):
    """Credentials that cannot be stored or used."""


@dataclass(frozen=True)
class CredentialInfo:
    """What may be shown about a credential: everything but the token."""

    tenant_id: uuid.UUID
    api_version: str
    admin_url: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AdminApi:
    """Everything a client needs to call one shop's Admin API (holds the token in clear)."""

    tenant_id: uuid.UUID
    shop_domain: str
    graphql_url: str
    access_token: str
    api_version: str
    operator_url: str | None = None  # set: the address is an operator's, trusted as configured

    def __repr__(self) -> str:  # never print the token
        return f"AdminApi(shop={self.shop_domain!r}, url={self.graphql_url!r})"


def check_tenant_admin_url(shop_domain: str, admin_url: str | None) -> None:
    """Refuse any Admin API address but the shop's own (`https://<shop domain>`)."""
    if admin_url is None:
        return
    try:
        parts = urlsplit(admin_url.strip())
        port = parts.port
    except ValueError as exc:
        raise CredentialError("admin_url is not a URL") from exc
    own = (
        parts.scheme == "https"
        and (parts.hostname or "") == shop_domain.lower()
        and port in (None, 443)
        and not (parts.username or parts.password or parts.query or parts.fragment)
        and parts.path in ("", "/")
    )
    if not own:
        raise CredentialError(
            f"admin_url may only be https://{shop_domain}; "
            "another Admin API address is an operator setting"
        )


def validate(token: str, api_version: str, admin_url: str | None) -> None:
    """Raise CredentialError for an empty token, a malformed version or URL."""
    if not token.strip():
        raise CredentialError("the access token must not be empty")
    if not _VERSION.match(api_version):
        raise CredentialError(f"{api_version!r} is not an API version such as 2026-07")
    if admin_url:
        parts = urlsplit(admin_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CredentialError(f"{admin_url!r} is not an http(s) URL")


def credential_row(
    *, tenant_id: uuid.UUID, token: str, api_version: str, admin_url: str | None, secret_keys: str
) -> dict[str, object]:
    """The row to store (token encrypted); validates first."""
    validate(token, api_version, admin_url)
    return {
        "tenant_id": tenant_id,
        "access_token": encrypt(secret_keys, token.strip()),
        "api_version": api_version,
        "admin_url": admin_url.rstrip("/") if admin_url else None,
    }


def set_credentials(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    token: str,
    api_version: str,
    admin_url: str | None,
    secret_keys: str,
) -> None:
    """Store (or replace) a tenant's Admin API credentials, as an operator (any address)."""
    row = credential_row(
        tenant_id=tenant_id,
        token=token,
        api_version=api_version,
        admin_url=admin_url,
        secret_keys=secret_keys,
    )
    _store(session, row, keep_admin_url=False)


def set_tenant_credentials(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    token: str,
    api_version: str,
    admin_url: str | None,
    secret_keys: str,
) -> None:
    """Store a tenant's token and version; an operator's Admin API address stays as it is.

    `admin_url` is accepted only as the shop's own address (which is the default anyway).
    """
    tenant = session.execute(
        select(Tenant.shop_domain, Tenant.verified_at).where(Tenant.id == tenant_id)
    ).first()
    if tenant is None:
        raise CredentialError(f"no tenant {tenant_id}")
    if tenant.verified_at is None:
        # An unverified claim runs no sync jobs: without credentials nothing is pulled.
        raise CredentialError("verify the shop first (docs/api.md#shop-verification)")
    shop = tenant.shop_domain
    check_tenant_admin_url(shop, admin_url)
    row = credential_row(
        tenant_id=tenant_id,
        token=token,
        api_version=api_version,
        admin_url=None,
        secret_keys=secret_keys,
    )
    _store(session, row, keep_admin_url=True)


def set_admin_url(session: Session, *, tenant_id: uuid.UUID, admin_url: str | None) -> None:
    """Point a tenant's stored credentials at another Admin API address (an operator's)."""
    validate("-", "unstable", admin_url)
    cred = table_of(ShopCredential)
    updated = session.execute(
        update(cred)
        .where(cred.c.tenant_id == tenant_id)
        .values(admin_url=admin_url.rstrip("/") if admin_url else None, updated_at=func.now())
    )
    if not getattr(updated, "rowcount", 0):
        raise CredentialError(f"tenant {tenant_id} has no Admin API credentials yet")


def _store(session: Session, row: dict[str, object], *, keep_admin_url: bool) -> None:
    # UPDATE, then INSERT: the dashboard's role may not read the token column, and PostgreSQL
    # wants that for INSERT ... ON CONFLICT DO UPDATE under row-level security.
    cred = table_of(ShopCredential)
    skip = {"tenant_id", "admin_url"} if keep_admin_url else {"tenant_id"}
    changes = {k: v for k, v in row.items() if k not in skip}
    updated = session.execute(
        update(cred)
        .where(cred.c.tenant_id == row["tenant_id"])
        .values(**changes, updated_at=func.now())
    )
    if not getattr(updated, "rowcount", 0):
        session.execute(insert(cred).values(row).on_conflict_do_nothing())


def credential_info(session: Session, *, tenant_id: uuid.UUID) -> CredentialInfo | None:
    """The stored credential's metadata, or None."""
    row = session.execute(
        select(
            ShopCredential.api_version, ShopCredential.admin_url, ShopCredential.updated_at
        ).where(ShopCredential.tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        return None
    return CredentialInfo(tenant_id, row.api_version, row.admin_url, row.updated_at)


def admin_api(session: Session, *, tenant_id: uuid.UUID, secret_keys: str) -> AdminApi:
    """The decrypted credentials of a tenant; raises CredentialError when there are none."""
    row = session.execute(
        select(ShopCredential, Tenant.shop_domain)
        .join(Tenant, Tenant.id == ShopCredential.tenant_id)
        .where(ShopCredential.tenant_id == tenant_id)
    ).one_or_none()
    if row is None:
        raise CredentialError(
            f"tenant {tenant_id} has no Admin API credentials (cartwheel tenants set-credentials)"
        )
    cred, shop = row
    base = cred.admin_url or f"https://{shop}"
    return AdminApi(
        tenant_id=tenant_id,
        shop_domain=shop,
        graphql_url=f"{base}/admin/api/{cred.api_version}/graphql.json",
        access_token=decrypt(secret_keys, cred.access_token),
        api_version=cred.api_version,
        operator_url=cred.admin_url,
    )


def tenants_with_credentials(session: Session) -> list[uuid.UUID]:
    """Active tenants that can be reconciled."""
    return list(
        session.scalars(
            select(ShopCredential.tenant_id)
            .join(Tenant, Tenant.id == ShopCredential.tenant_id)
            .where(Tenant.status == "active")
            .order_by(ShopCredential.tenant_id)
        )
    )
