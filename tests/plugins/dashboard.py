"""Dashboard API fixtures: a test client, and tenants and users made through its endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from dashboard_api import create_app
from models.db import session_scope
from shops.registration import normalize_shop, verify_shop

PASSWORD = "correct horse battery staple"


@pytest.fixture
def api_client(settings: Settings) -> FlaskClient:
    """A test client of the dashboard API, built with this test's settings."""
    app = create_app(settings)
    app.testing = True
    return app.test_client()


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in through POST /login; returns the token answer (asserts it succeeded)."""
    response = client.post("/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _account(tokens: dict[str, Any], email: str, password: str, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": tokens["tenant_id"],
        "user_id": tokens["user"]["id"],
        "role": tokens["user"]["role"],
        "email": email,
        "password": password,
        "token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "headers": {"Authorization": f"Bearer {tokens['access_token']}"},
        **extra,
    }


@pytest.fixture
def make_owner(api_client: FlaskClient, settings: Settings) -> Callable[..., dict[str, Any]]:
    """Register a new tenant through POST /tenants/register and log its owner in; the tenant
    is then verified as an operator would (`cartwheel tenants verify`) unless told not to."""

    def make(
        shop: str | None = None,
        email: str | None = None,
        password: str = PASSWORD,
        webhook_secret: str | None = None,
        name: str = "Test shop",
        verified: bool = True,
    ) -> dict[str, Any]:
        shop = shop or f"shop-{uuid.uuid4().hex[:8]}.myshopify.com"
        email = email or f"owner-{uuid.uuid4().hex[:8]}@example.com"
        webhook_secret = webhook_secret or uuid.uuid4().hex
        response = api_client.post(
            "/tenants/register",
            json={
                "name": name,
                "email": email,
                "password": password,
                "store_url": shop,
                "webhook_secret": webhook_secret,
            },
        )
        assert response.status_code == 202, response.get_json()
        tokens = login(api_client, email, password)
        if verified:
            with session_scope(settings.database_url) as session:
                assert verify_shop(session, tenant_id=uuid.UUID(tokens["tenant_id"]))
        return _account(
            tokens, email, password, shop=normalize_shop(shop), webhook_secret=webhook_secret
        )

    return make


@pytest.fixture
def owner(make_owner: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The owner of a freshly registered tenant."""
    return make_owner()


@pytest.fixture
def make_user(api_client: FlaskClient, owner: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """A user with `role` in the owner's tenant (or `of`'s), invited, accepted and logged in."""

    def make(
        role: str, of: dict[str, Any] | None = None, password: str = PASSWORD
    ) -> dict[str, Any]:
        inviter = of or owner
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        invited = api_client.post(
            "/api/invites", json={"email": email, "role": role}, headers=inviter["headers"]
        )
        assert invited.status_code == 201, invited.get_json()
        accepted = api_client.post(
            "/invites/accept", json={"token": invited.get_json()["token"], "password": password}
        )
        assert accepted.status_code == 201, accepted.get_json()
        return _account(login(api_client, email, password), email, password)

    return make
