"""CORS: off by default; the origins CARTWHEEL_CORS_ORIGINS names may call the API with bearer
tokens, and no other origin may read an answer."""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from dashboard_api import create_app

ADMIN = "https://admin.example.com"
PREFLIGHT = {
    "Origin": ADMIN,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


def test_no_origin_is_allowed_by_default(api_client: Any, owner: dict[str, Any]) -> None:
    answer = api_client.get("/api/me", headers=owner["headers"] | {"Origin": ADMIN})
    assert answer.status_code == 200
    assert "Access-Control-Allow-Origin" not in answer.headers
    assert (
        "Access-Control-Allow-Origin"
        not in api_client.options("/api/me", headers=PREFLIGHT).headers
    )


def test_a_configured_origin_may_call_with_a_bearer_token(
    settings: Settings, owner: dict[str, Any]
) -> None:
    app = create_app(settings.with_overrides(cors_origins=f"{ADMIN}, https://other.example.com"))
    client = app.test_client()
    preflight = client.options("/api/insights", headers=PREFLIGHT)
    assert preflight.headers["Access-Control-Allow-Origin"] == ADMIN
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in preflight.headers

    answer = client.get("/api/me", headers=owner["headers"] | {"Origin": ADMIN})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ADMIN
    assert "X-Cache" in answer.headers["Access-Control-Expose-Headers"]

    stranger = client.get("/api/me", headers=owner["headers"] | {"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    # The web dashboard's own pages are not for other origins.
    page = client.get("/app/", headers={"Origin": ADMIN})
    assert "Access-Control-Allow-Origin" not in page.headers
