"""A verified shop with its owner logged in, registered through the API in a time zone."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from core.settings import Settings
from models.db import session_scope
from shops.registration import verify_shop
from tests.plugins.dashboard import PASSWORD, login

Account = dict[str, Any]


def register_shop(
    api_client: FlaskClient, settings: Settings, zone: str, *, label: str = "shop"
) -> Account:
    """A shop in `zone` registered through POST /tenants/register, verified as an operator
    would, its owner logged in: `email`, `shop`, `webhook_secret`, `tenant_id` (a UUID) and
    `headers`."""
    tag = uuid.uuid4().hex[:8]
    email, secret = f"owner-{tag}@example.com", uuid.uuid4().hex
    shop = f"{label}-{tag}.myshopify.com"
    response = api_client.post(
        "/tenants/register",
        json={
            "name": f"{label.title()} {tag}",
            "email": email,
            "password": PASSWORD,
            "store_url": shop,
            "webhook_secret": secret,
            "timezone": zone,
        },
        # An address of its own: registrations are rate-limited per address, and a test may
        # register many shops.
        environ_base={
            "REMOTE_ADDR": "10." + ".".join(str(int(tag[n : n + 2], 16)) for n in (0, 2, 4))
        },
    )
    assert response.status_code == 202, response.get_json()
    tokens = login(api_client, email)
    tenant_id = uuid.UUID(tokens["tenant_id"])
    with session_scope(settings.database_url) as session:
        assert verify_shop(session, tenant_id=tenant_id)
    return {
        "email": email,
        "shop": shop,
        "webhook_secret": secret,
        "tenant_id": tenant_id,
        "headers": {"Authorization": f"Bearer {tokens['access_token']}"},
    }
