"""Registered shops (tenants), committed as `cartwheel tenants add` commits them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from core.settings import Settings
from models.db import session_scope
from shops.registration import add_tenant


@pytest.fixture
def make_tenant(settings: Settings) -> Callable[..., dict[str, Any]]:
    """Register a shop (verified unless told otherwise) and return its id, domain and secret."""

    def make(
        shop: str | None = None,
        secret: str | None = None,
        name: str = "Test shop",
        verified: bool = True,
    ) -> dict[str, Any]:
        shop = shop or f"shop-{uuid.uuid4().hex[:8]}.myshopify.com"
        secret = secret or uuid.uuid4().hex
        with session_scope(settings.database_url) as session:
            tenant = add_tenant(
                session,
                shop=shop,
                name=name,
                webhook_secret=secret,
                secret_keys=settings.secret_keys,
                verified=verified,
            )
            tenant_id = tenant.id
        return {"id": tenant_id, "shop": shop, "secret": secret}

    return make


@pytest.fixture
def tenant(make_tenant: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return make_tenant()
