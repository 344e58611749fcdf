"""Input PostgreSQL cannot store is refused with a clear 400 and changes nothing."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.settings import Settings
from models import Tenant
from models.db import session_scope


def test_nul_in_a_json_body_is_400_and_registers_nothing(
    api_client: FlaskClient, settings: Settings
) -> None:
    response = api_client.post(
        "/tenants/register",
        json={
            "name": "Bad\u0000Shop",
            "email": "nul@example.com",
            "password": "correct horse battery staple",
            "store_url": "nul-shop",
            "webhook_secret": "s3cret",
        },
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "NUL" in response.json["message"]
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(Tenant)) == 0


def test_nul_in_a_query_argument_is_400(api_client: FlaskClient, owner: dict[str, Any]) -> None:
    response = api_client.get("/api/customers?search=a%00b", headers=owner["headers"])
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
