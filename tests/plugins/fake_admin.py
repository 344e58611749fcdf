"""Fixtures for Admin API pulls: the fake Shopify served from a thread, a tenant wired to it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from core.settings import Settings
from devtools.fake_shopify import FakeShopify, ServerThread, ShopData
from devtools.fake_shopify.throttle import LeakyBucket
from models.db import session_scope
from shops.credentials import set_credentials


@dataclass
class Wired:
    """A tenant whose credentials point at a shop of the fake."""

    tenant_id: uuid.UUID
    shop: ShopData
    bucket: LeakyBucket
    fake: FakeShopify
    url: str
    secret: str


@pytest.fixture
def fake_admin() -> Iterator[ServerThread]:
    server = ServerThread(FakeShopify()).start()
    yield server
    server.stop()


@pytest.fixture
def wire_shop(
    settings: Settings, make_tenant: Callable[..., dict[str, Any]], fake_admin: ServerThread
) -> Callable[..., Wired]:
    """Register a tenant and a fake shop of the same domain; store its credentials.

    The fake's loopback address is stored as an operator stores it (`set_credentials`, what
    `cartwheel tenants set-credentials --admin-url` calls): a tenant could not set it.
    """

    def wire(plan: str = "plus", **options: Any) -> Wired:
        tenant = make_tenant()
        shop = fake_admin.fake.add_shop(tenant["shop"], plan=plan, **options)
        with session_scope(settings.database_url) as session:
            set_credentials(
                session,
                tenant_id=tenant["id"],
                token=shop.token,
                api_version="2026-07",
                admin_url=fake_admin.url,
                secret_keys=settings.secret_keys,
            )
        bucket = fake_admin.fake.bucket(shop)
        return Wired(tenant["id"], shop, bucket, fake_admin.fake, fake_admin.url, tenant["secret"])

    return wire
