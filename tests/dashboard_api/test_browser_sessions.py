"""Browser sessions (POST /login/session): tokens in cookies scripts cannot read, a CSRF token
on every change, rotation on refresh, and a sign-out that ends the session."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.plugins.dashboard import PASSWORD

Account = dict[str, Any]
HTTPS = "https://localhost"


def sign_in(api_client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return api_client.post(
        "/login/session", json={"email": email, "password": password}, base_url=HTTPS
    )


def cookie(api_client: FlaskClient, name: str, path: str = "/") -> str | None:
    found = api_client.get_cookie(name, domain="localhost", path=path)
    return found.value if found else None


def set_cookie_headers(response: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def test_a_sign_in_leaves_its_tokens_in_cookies_only(
    api_client: FlaskClient, owner: Account
) -> None:
    response = sign_in(api_client, owner["email"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user"]["email"] == owner["email"]
    assert "access_token" not in body and "refresh_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    cookies = set_cookie_headers(response)
    for name in ("cartwheel_access", "cartwheel_refresh", "cartwheel_csrf"):
        assert "Secure" in cookies[name] and "SameSite=Strict" in cookies[name], cookies[name]
    assert "HttpOnly" in cookies["cartwheel_access"]
    assert "HttpOnly" in cookies["cartwheel_refresh"]
    assert "Path=/login/session" in cookies["cartwheel_refresh"]
    assert "HttpOnly" not in cookies["cartwheel_csrf"]  # the page's script echoes it

    me = api_client.get("/api/me", base_url=HTTPS)
    assert me.status_code == 200 and me.get_json()["email"] == owner["email"]


def test_a_wrong_password_leaves_no_cookie(api_client: FlaskClient, owner: Account) -> None:
    response = sign_in(api_client, owner["email"], "not the password at all")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"
    assert "cartwheel_access" not in set_cookie_headers(response)
    assert api_client.get("/api/me", base_url=HTTPS).status_code == 401


def test_a_change_by_cookie_needs_the_csrf_token(api_client: FlaskClient, owner: Account) -> None:
    assert sign_in(api_client, owner["email"]).status_code == 200
    invite = {"email": "someone@example.com", "role": "analyst"}

    refused = api_client.post("/api/invites", json=invite, base_url=HTTPS)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "csrf_failed"
    forged = api_client.post(
        "/api/invites", json=invite, base_url=HTTPS, headers={"X-CSRF-Token": "x" * 43}
    )
    assert forged.status_code == 403
    assert api_client.get("/api/invites", base_url=HTTPS).get_json() == []  # nothing changed

    token = cookie(api_client, "cartwheel_csrf")
    made = api_client.post(
        "/api/invites", json=invite, base_url=HTTPS, headers={"X-CSRF-Token": token}
    )
    assert made.status_code == 201, made.get_json()


def test_another_sessions_csrf_token_does_not_do(
    api_client: FlaskClient, owner: Account, make_user: Any
) -> None:
    admin = make_user("admin")
    assert sign_in(api_client, admin["email"]).status_code == 200
    theirs = cookie(api_client, "cartwheel_csrf")
    assert sign_in(api_client, owner["email"]).status_code == 200
    response = api_client.post(
        "/api/invites",
        json={"email": "x@example.com", "role": "analyst"},
        base_url=HTTPS,
        headers={"X-CSRF-Token": theirs},
    )
    assert response.status_code == 403


def test_a_refresh_rotates_the_cookies(api_client: FlaskClient, owner: Account) -> None:
    assert sign_in(api_client, owner["email"]).status_code == 200
    old = cookie(api_client, "cartwheel_refresh", "/login/session")
    csrf = {"X-CSRF-Token": cookie(api_client, "cartwheel_csrf")}

    assert api_client.post("/login/session/refresh", base_url=HTTPS).status_code == 403
    response = api_client.post("/login/session/refresh", base_url=HTTPS, headers=csrf)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["email"] == owner["email"]
    new = cookie(api_client, "cartwheel_refresh", "/login/session")
    assert new and new != old
    assert api_client.get("/api/me", base_url=HTTPS).status_code == 200

    # The old refresh token used again is a theft: the session's family is revoked.
    api_client.set_cookie("cartwheel_refresh", old, domain="localhost", path="/login/session")
    reused = api_client.post("/login/session/refresh", base_url=HTTPS, headers=csrf)
    assert reused.status_code == 401


def test_a_sign_out_ends_the_session(api_client: FlaskClient, owner: Account) -> None:
    assert sign_in(api_client, owner["email"]).status_code == 200
    access = cookie(api_client, "cartwheel_access")
    csrf = {"X-CSRF-Token": cookie(api_client, "cartwheel_csrf")}
    assert api_client.delete("/login/session", base_url=HTTPS).status_code == 403

    response = api_client.delete("/login/session", base_url=HTTPS, headers=csrf)
    assert response.status_code == 204
    assert cookie(api_client, "cartwheel_access") is None
    # The access token itself stops working, even if a copy was kept.
    revoked = api_client.get(
        "/api/me", base_url=HTTPS, headers={"Authorization": f"Bearer {access}"}
    )
    assert revoked.status_code == 401


def test_bearer_tokens_need_no_csrf_token(api_client: FlaskClient, owner: Account) -> None:
    response = api_client.post(
        "/api/invites",
        json={"email": "bearer@example.com", "role": "analyst"},
        headers=owner["headers"],
    )
    assert response.status_code == 201
