"""The dashboard API's sync endpoints: credentials never come back, backfills run as tasks."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from core.settings import Settings
from devtools.fake_shopify import ServerThread
from models import ShopCredential
from models.db import session_scope
from shops.credentials import set_admin_url
from tests.support.fake_admin import expected_orders, stored_orders
from tests.support.processes import celery_worker
from workers.runtime import Resources
from workers.sync.reconcile import reconcile_tenant


def test_credentials_are_stored_encrypted_and_never_returned(
    api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    token = "shpat_" + uuid.uuid4().hex
    body = {"access_token": token, "api_version": "2026-07"}
    put = api_client.put("/api/sync/credentials", json=body, headers=owner["headers"])
    assert put.status_code == 200, put.get_json()
    got = api_client.get("/api/sync/credentials", headers=owner["headers"])
    assert got.status_code == 200
    for response in (put, got):
        assert token not in response.get_data(as_text=True)
        assert response.get_json()["has_token"] is True
        assert response.get_json()["api_version"] == "2026-07"
    with session_scope(settings.database_url) as s:
        [stored] = s.scalars(select(ShopCredential))
    assert token.encode() not in bytes(stored.access_token)
    assert token not in api_client.get("/openapi.json").get_data(as_text=True)


def test_only_owners_and_admins_touch_sync(
    api_client: FlaskClient, make_user: Any, owner: dict[str, Any]
) -> None:
    analyst = make_user("analyst")
    admin = make_user("admin")
    body = {"access_token": "shpat_x", "api_version": "2026-07"}
    for path in ("/api/sync/credentials", "/api/sync/backfills", "/api/sync/reconcile-runs"):
        assert api_client.get(path, headers=analyst["headers"]).status_code == 403
        assert api_client.get(path).status_code == 401
    put = api_client.put("/api/sync/credentials", json=body, headers=admin["headers"])
    assert put.status_code == 200
    assert api_client.get("/api/sync/credentials", headers=owner["headers"]).status_code == 200


def test_bad_input_and_missing_credentials(api_client: FlaskClient, owner: dict[str, Any]) -> None:
    h = owner["headers"]
    assert api_client.get("/api/sync/credentials", headers=h).status_code == 404
    bad = api_client.put(
        "/api/sync/credentials", json={"access_token": "x", "api_version": "v9"}, headers=h
    )
    assert bad.status_code == 400 and bad.get_json()["error"]
    early = api_client.post("/api/sync/backfills", json={}, headers=h)
    assert early.status_code == 409 and "credentials" in early.get_json()["message"]
    wrong = api_client.post("/api/sync/backfills", json={"resources": ["carts"]}, headers=h)
    assert wrong.status_code == 400
    assert api_client.get(f"/api/sync/backfills/{uuid.uuid4()}", headers=h).status_code == 404
    assert api_client.get("/api/sync/backfills/not-a-uuid", headers=h).status_code == 404


def test_a_dashboard_backfill_runs_as_a_celery_task_and_reports_progress(
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_owner: Any,
    settings: Settings,
    fake_admin: ServerThread,
    tmp_path: Path,
) -> None:
    shop = fake_admin.fake.add_shop(owner["shop"], plan="plus")
    shop.seed(orders=500, customers=50, products=5)
    body = {"access_token": shop.token, "api_version": "2026-07"}
    h = owner["headers"]
    assert api_client.put("/api/sync/credentials", json=body, headers=h).status_code == 200
    with session_scope(settings.database_url) as s:  # the fake's address: an operator setting
        set_admin_url(s, tenant_id=uuid.UUID(owner["tenant_id"]), admin_url=fake_admin.url)
    settings = settings.with_overrides(bulk_poll_interval=0.1)
    with celery_worker(settings, tmp_path) as worker:
        started = api_client.post("/api/sync/backfills", json={"resources": ["orders"]}, headers=h)
        assert started.status_code == 202, started.get_json()
        run = started.get_json()
        assert run["status"] == "queued" and run["task_id"] and not run["resumed"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            view = api_client.get(f"/api/sync/backfills/{run['id']}", headers=h).get_json()
            if view["status"] in ("completed", "failed"):
                break
            time.sleep(0.2)
        assert f"cartwheel.backfill[{run['task_id']}]" in worker.output()
    assert view["status"] == "completed", view
    assert view["progress"] == [
        {
            "resource": "orders",
            "status": "completed",
            "rows_expected": 500,
            "rows_seen": 500,
            "rows_written": 500,
            "buckets_done": 1,
            "bucket_count": 1,
        }
    ]
    tenant_id = uuid.UUID(owner["tenant_id"])
    assert stored_orders(settings, tenant_id) == expected_orders(shop)
    # Another tenant sees none of it.
    other = make_owner()
    assert (
        api_client.get(f"/api/sync/backfills/{run['id']}", headers=other["headers"]).status_code
        == 404
    )
    assert api_client.get("/api/sync/backfills", headers=other["headers"]).get_json() == {
        "items": []
    }

    reconcile_tenant(Resources(settings), tenant_id=tenant_id)
    runs = api_client.get("/api/sync/reconcile-runs", headers=h).get_json()["items"]
    assert len(runs) == 1 and runs[0]["status"] == "completed"
    assert runs[0]["missing"] == 0 and runs[0]["resources"]["orders"]["missing"] == 0
