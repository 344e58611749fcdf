"""A tenant cannot point the Admin API anywhere but its own shop, nor read an answer's body."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from models.db import session_scope
from shops.credentials import credential_info, set_admin_url
from tests.support.fake_admin import Canned
from workers.runtime import Resources
from workers.sync.backfill import run_backfill

SECRET = "INTERNAL-SERVICE-SECRET-19c2"


def internal_urls(server: Canned, shop: str) -> list[str]:
    port = server.url.rsplit(":", 1)[1]
    return [
        server.url,
        f"https://127.0.0.1:{port}",
        f"https://localhost:{port}",
        "https://169.254.169.254",
        f"http://{shop}",  # the shop, but not HTTPS
        f"https://{shop}:{port}",
        f"https://{shop}@127.0.0.1:{port}",
        f"https://{shop}.evil.example",
        f"https://{shop}/admin?x=1",
    ]


def test_a_tenant_admin_url_pointing_inside_is_refused_and_changes_nothing(
    api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    h = owner["headers"]
    with Canned(lambda path: (200, {}, [SECRET.encode()])) as internal:
        for url in internal_urls(internal, owner["shop"]):
            body = {"access_token": "shpat_x", "api_version": "2026-07", "admin_url": url}
            put = api_client.put("/api/sync/credentials", json=body, headers=h)
            assert put.status_code == 400, (url, put.get_json())
            assert put.get_json()["error"] and put.get_json()["message"]
            assert api_client.get("/api/sync/credentials", headers=h).status_code == 404
        assert internal.requests == []


@pytest.mark.parametrize("own", ["https://{shop}", "https://{shop}/", "HTTPS://{shop}:443", None])
def test_the_shop_itself_is_accepted(
    api_client: FlaskClient, owner: dict[str, Any], own: str | None
) -> None:
    url = own and own.format(shop=owner["shop"])
    body = {"access_token": "shpat_x", "api_version": "2026-07", "admin_url": url}
    put = api_client.put("/api/sync/credentials", json=body, headers=owner["headers"])
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["operator_address"] is False  # the default: https://<shop>


def test_a_tenant_update_keeps_the_operator_address(
    api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    h, tenant_id = owner["headers"], uuid.UUID(owner["tenant_id"])
    body = {"access_token": "shpat_x", "api_version": "2026-07"}
    assert api_client.put("/api/sync/credentials", json=body, headers=h).status_code == 200
    with session_scope(settings.database_url) as s:
        set_admin_url(s, tenant_id=tenant_id, admin_url="http://127.0.0.1:8090")
    again = api_client.put("/api/sync/credentials", json={**body, "access_token": "y"}, headers=h)
    assert again.status_code == 200
    assert again.get_json()["operator_address"] is True
    assert "127.0.0.1" not in again.get_data(as_text=True)  # an operator's address stays private
    with session_scope(settings.database_url) as s:
        info = credential_info(s, tenant_id=tenant_id)
    assert info is not None and info.admin_url == "http://127.0.0.1:8090"


def test_an_error_body_is_never_read_back_through_the_api(
    api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    """The reproduction: an internal service's body read back via GET /api/sync/backfills/<id>.
    Here the operator's address answers 400 with a secret body; the tenant sees the status."""
    h, tenant_id = owner["headers"], uuid.UUID(owner["tenant_id"])
    body = {"access_token": "shpat_x", "api_version": "2026-07"}
    assert api_client.put("/api/sync/credentials", json=body, headers=h).status_code == 200
    with Canned(lambda path: (400, {}, [SECRET.encode()])) as server:
        with session_scope(settings.database_url) as s:
            set_admin_url(s, tenant_id=tenant_id, admin_url=server.url)
        started = api_client.post("/api/sync/backfills", json={"resources": ["orders"]}, headers=h)
        assert started.status_code == 202, started.get_json()
        run_id = uuid.UUID(started.get_json()["id"])
        with pytest.raises(Exception, match="HTTP 400"):
            run_backfill(Resources(settings), tenant_id=tenant_id, run_id=run_id)
        assert server.requests  # the operator's address was called
    view = api_client.get(f"/api/sync/backfills/{run_id}", headers=h)
    listing = api_client.get("/api/sync/backfills", headers=h)
    assert view.get_json()["status"] == "failed" and "HTTP 400" in view.get_json()["error"]
    for response in (view, listing):
        assert SECRET not in response.get_data(as_text=True)
