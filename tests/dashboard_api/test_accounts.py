"""Accounts on the dashboard API: registration, login, tokens, roles, invites, keys, secrets."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.settings import Settings
from dashboard_api import create_app
from dashboard_api.accounts.passwords import HASHER
from dashboard_api.tokens import ALGORITHM, AUDIENCE, ISSUER, signing_keys
from models import ApiKey, User
from models.db import session_scope
from tests.plugins.dashboard import PASSWORD, login
from tests.support.samples import sample_json
from tests.support.webhooks import Sender

Account = dict[str, Any]


def client_for(settings: Settings, **overrides: Any) -> FlaskClient:
    app = create_app(settings.with_overrides(**overrides))
    app.testing = True
    return app.test_client()


def registration(**changes: Any) -> dict[str, Any]:
    body = {
        "name": "Fancy Socks",
        "email": f"ann-{uuid.uuid4().hex[:6]}@example.com",
        "password": PASSWORD,
        "store_url": f"socks-{uuid.uuid4().hex[:6]}",
        "webhook_secret": "shpss_" + uuid.uuid4().hex,
    }
    body.update(changes)
    return body


# --- registration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("store_url", "domain"),
    [
        ("fancy-socks", "fancy-socks.myshopify.com"),
        ("Fancy-Socks.myshopify.com", "fancy-socks.myshopify.com"),
        ("https://fancy-socks.myshopify.com/admin/orders", "fancy-socks.myshopify.com"),
    ],
)
def test_register_creates_tenant_and_owner(
    api_client: FlaskClient, settings: Settings, store_url: str, domain: str
) -> None:
    body = registration(store_url=store_url, email="Ann@Example.com", timezone="Europe/Berlin")
    response = api_client.post("/tenants/register", json=body)
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "accepted"
    assert "password" not in str(answer) and body["webhook_secret"] not in str(answer)
    tokens = login(api_client, "ann@example.com")
    assert tokens["user"]["role"] == "owner"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    tenant = api_client.get("/api/tenant", headers=headers).get_json()
    assert tenant["shop_domain"] == domain
    assert tenant["name"] == "Fancy Socks"
    assert tenant["timezone"] == "Europe/Berlin"
    assert tenant["verified_at"] is None  # a claim until the owner proves the shop is theirs
    with session_scope(settings.database_url) as session:
        user = session.scalars(select(User)).one()
        assert HASHER.verify(user.password_hash, PASSWORD)
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_registered_tenant_receives_webhooks_once_verified(
    api_client: FlaskClient, client: FlaskClient, make_owner: Callable[..., Account]
) -> None:
    owner = make_owner(verified=True)
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    assert sender.send("customers/create", sample_json("customers_create")).status_code == 200
    wrong = Sender(client, shop=owner["shop"], secret="not-the-secret")
    assert wrong.send("customers/create", sample_json("customers_create")).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "password"),
        ({"email": "jo.wilson@example.com", "password": "jo.wilson-2024!"}, "password"),
        ({"store_url": "shop.example.com"}, "store_url"),
        ({"store_url": "not a shop!"}, "store_url"),
        ({"email": "not-an-email"}, "email"),
        ({"name": "   "}, "name"),
        ({"webhook_secret": ""}, "webhook_secret"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"surprise": 1}, "surprise"),
        ({"name": None}, "name"),
        ({"password": 12345678901}, "password"),
    ],
)
def test_register_rejects_invalid_input_per_field(
    api_client: FlaskClient, changes: dict[str, Any], field: str
) -> None:
    response = api_client.post("/tenants/register", json=registration(**changes))
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "invalid_request"
    assert list(answer["fields"]) == [field]


def test_register_reports_every_missing_field(api_client: FlaskClient) -> None:
    response = api_client.post("/tenants/register", json={})
    assert response.status_code == 400
    assert set(response.get_json()["fields"]) == {
        "name",
        "email",
        "password",
        "store_url",
        "webhook_secret",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "{not json", "content_type": "application/json"},
        {"json": ["a", "list"]},
        {"data": "name=x", "content_type": "application/x-www-form-urlencoded"},
    ],
)
def test_register_rejects_bodies_that_are_not_objects(
    api_client: FlaskClient, kwargs: dict[str, Any]
) -> None:
    response = api_client.post("/tenants/register", **kwargs)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


# --- login, tokens ------------------------------------------------------------------------------


def test_login_returns_verifiable_tokens(
    api_client: FlaskClient, owner: Account, settings: Settings
) -> None:
    answer = login(api_client, owner["email"].upper())
    claims = jwt.decode(
        answer["access_token"],
        signing_keys(settings.secret_keys)[0],
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        issuer=ISSUER,
    )
    assert jwt.get_unverified_header(answer["access_token"])["alg"] == "HS256"
    assert claims["tid"] == owner["tenant_id"] == answer["tenant_id"]
    assert claims["sub"] == answer["user"]["id"]
    assert claims["role"] == "owner"
    assert claims["exp"] - claims["iat"] == settings.access_token_seconds
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == settings.access_token_seconds
    me = api_client.get("/api/me", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["last_login_at"] is not None


def test_unknown_user_and_wrong_password_get_the_same_answer(
    api_client: FlaskClient, owner: Account
) -> None:
    wrong = api_client.post("/login", json={"email": owner["email"], "password": "wrong" * 3})
    unknown = api_client.post("/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"] == "invalid_credentials"


def test_login_validates_input(api_client: FlaskClient) -> None:
    response = api_client.post("/login", json={"email": "a@example.com"})
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["password"]


def forged(settings: Settings, owner: Account, key: bytes | None = None, **changes: Any) -> str:
    """A token signed like the API's own (or with `key`), with some claims changed or removed."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": owner["user_id"],
        "tid": owner["tenant_id"],
        "role": "owner",
        "email": owner["email"],
        "gen": 0,
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key or signing_keys(settings.secret_keys)[0], algorithm="HS256")


@pytest.mark.parametrize(
    "make_header",
    [
        lambda s, o: None,
        lambda s, o: "Basic dXNlcjpwYXNz",
        lambda s, o: "Bearer",
        lambda s, o: "Bearer not.a.jwt",
        lambda s, o: "Bearer " + o["token"][:-4] + "AAAA",
        lambda s, o: "Bearer " + forged(s, o, exp=int(time.time()) - 60),
        lambda s, o: "Bearer " + forged(s, o, aud="someone-else"),
        lambda s, o: "Bearer " + forged(s, o, iss="someone-else"),
        lambda s, o: "Bearer " + forged(s, o, jti=None),
        lambda s, o: "Bearer " + forged(s, o, sid=None),
        lambda s, o: "Bearer " + forged(s, o, role="superuser"),
        lambda s, o: "Bearer " + forged(s, o, key=b"k" * 32),
        lambda s, o: "Bearer " + jwt.encode({"sub": o["user_id"]}, None, algorithm="none"),
    ],
    ids=[
        "missing",
        "basic",
        "empty",
        "garbage",
        "tampered",
        "expired",
        "audience",
        "issuer",
        "no-jti",
        "no-sid",
        "role",
        "other-key",
        "alg-none",
    ],
)
def test_bad_access_tokens_get_401(
    api_client: FlaskClient, owner: Account, settings: Settings, make_header: Callable[..., Any]
) -> None:
    header = make_header(settings, owner)
    response = api_client.get("/api/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.get_json()["error"] in ("missing_token", "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forged_token_with_the_right_key_is_accepted(
    api_client: FlaskClient, owner: Account, settings: Settings
) -> None:
    """The control for the test above: the forging helper itself makes valid tokens."""
    response = api_client.get(
        "/api/me", headers={"Authorization": "Bearer " + forged(settings, owner)}
    )
    assert response.status_code == 200


def test_expired_access_token_is_refused(settings: Settings, owner: Account) -> None:
    client = client_for(settings, access_token_seconds=-60)
    token = login(client, owner["email"])["access_token"]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_refresh_rotates_and_detects_reuse(api_client: FlaskClient, owner: Account) -> None:
    first = api_client.post("/token/refresh", json={"refresh_token": owner["refresh_token"]})
    assert first.status_code == 200
    rotated = first.get_json()
    assert rotated["refresh_token"] != owner["refresh_token"]
    headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert api_client.get("/api/me", headers=headers).status_code == 200
    # The old token again: someone else has it, so the whole family dies.
    reused = api_client.post("/token/refresh", json={"refresh_token": owner["refresh_token"]})
    assert reused.status_code == 401
    again = api_client.post("/token/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert again.status_code == 401
    assert api_client.get("/api/me", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "token", ["", "garbage", f"{uuid.UUID(int=7)}.nope", "not-a-uuid.secret", "." * 10]
)
def test_refresh_rejects_unknown_tokens(api_client: FlaskClient, token: str) -> None:
    response = api_client.post("/token/refresh", json={"refresh_token": token})
    assert response.status_code in (400, 401)
    assert response.get_json()["error"] in ("invalid_request", "invalid_token")


def test_expired_refresh_token_is_refused(settings: Settings, owner: Account) -> None:
    client = client_for(settings, refresh_token_seconds=0)
    refresh_token = login(client, owner["email"])["refresh_token"]
    response = client.post("/token/refresh", json={"refresh_token": refresh_token})
    assert response.status_code == 401


def test_logout_revokes_refresh_and_access_token(api_client: FlaskClient, owner: Account) -> None:
    response = api_client.post(
        "/logout", json={"refresh_token": owner["refresh_token"]}, headers=owner["headers"]
    )
    assert response.status_code == 204
    refresh = api_client.post("/token/refresh", json={"refresh_token": owner["refresh_token"]})
    assert refresh.status_code == 401
    assert api_client.get("/api/me", headers=owner["headers"]).status_code == 401
    # Other sessions of the same user are untouched.
    other = login(api_client, owner["email"])
    assert (
        api_client.get(
            "/api/me", headers={"Authorization": f"Bearer {other['access_token']}"}
        ).status_code
        == 200
    )


def test_logout_with_unknown_token_is_204(api_client: FlaskClient) -> None:
    response = api_client.post("/logout", json={"refresh_token": f"{uuid.uuid4()}.unknown"})
    assert response.status_code == 204


# --- rate limiting: tests/dashboard_api/test_lockout.py ---------------------------------------


# --- roles --------------------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    ("GET", "/api/me", None, {"owner", "admin", "analyst"}),
    ("GET", "/api/tenant", None, {"owner", "admin", "analyst"}),
    ("GET", "/api/users", None, {"owner", "admin", "analyst"}),
    ("GET", "/api/ingest-keys", None, {"owner", "admin", "analyst"}),
    ("GET", "/api/invites", None, {"owner", "admin"}),
    ("POST", "/api/invites", {"email": "new@example.com", "role": "analyst"}, {"owner", "admin"}),
    ("POST", "/api/ingest-keys", {"name": "shop sync"}, {"owner", "admin"}),
    # Owners only: whoever knows the secret can sign shop/redact (test_shop_ownership.py).
    ("POST", "/api/tenant/webhook-secret", {"webhook_secret": "s3cr3t-new"}, {"owner"}),
    ("GET", "/api/compliance/holds", None, {"owner"}),
    ("GET", "/api/tenant/verification", None, {"owner", "admin", "analyst"}),
]


@pytest.mark.parametrize("role", ["owner", "admin", "analyst"])
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
def test_role_matrix(
    api_client: FlaskClient,
    owner: Account,
    make_user: Callable[..., Account],
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    allowed: set[str],
) -> None:
    caller = owner if role == "owner" else make_user(role)
    response = api_client.open(path, method=method, json=body, headers=caller["headers"])
    if role in allowed:
        assert response.status_code in (200, 201), response.get_json()
    else:
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"


def test_analyst_cannot_change_roles_or_revoke(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    analyst = make_user("analyst")
    key = api_client.post("/api/ingest-keys", json={"name": "k"}, headers=owner["headers"])
    attempts = [
        ("PATCH", f"/api/users/{analyst['user_id']}", {"role": "admin"}),
        ("DELETE", f"/api/ingest-keys/{key.get_json()['id']}", None),
        ("DELETE", f"/api/invites/{uuid.uuid4()}", None),
    ]
    for method, path, body in attempts:
        response = api_client.open(path, method=method, json=body, headers=analyst["headers"])
        assert response.status_code == 403, path


def test_role_change_takes_effect_at_once(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    analyst = make_user("analyst")
    response = api_client.patch(
        f"/api/users/{analyst['user_id']}", json={"role": "admin"}, headers=owner["headers"]
    )
    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"
    # The old token carried the old role: it no longer works; a refresh gives the new role.
    assert api_client.get("/api/me", headers=analyst["headers"]).status_code == 401
    renewed = api_client.post("/token/refresh", json={"refresh_token": analyst["refresh_token"]})
    assert renewed.status_code == 200
    assert renewed.get_json()["user"]["role"] == "admin"
    headers = {"Authorization": f"Bearer {renewed.get_json()['access_token']}"}
    invite = {"email": "x@example.com", "role": "analyst"}
    assert api_client.post("/api/invites", json=invite, headers=headers).status_code == 201


def test_admins_cannot_touch_owners(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    admin = make_user("admin")
    analyst = make_user("analyst")
    promote = api_client.patch(
        f"/api/users/{analyst['user_id']}", json={"role": "owner"}, headers=admin["headers"]
    )
    assert promote.status_code == 403
    demote = api_client.patch(
        f"/api/users/{owner['user_id']}", json={"role": "analyst"}, headers=admin["headers"]
    )
    assert demote.status_code == 403
    invite = api_client.post(
        "/api/invites",
        json={"email": "boss@example.com", "role": "owner"},
        headers=admin["headers"],
    )
    assert invite.status_code == 403
    ok = api_client.patch(
        f"/api/users/{analyst['user_id']}", json={"role": "admin"}, headers=admin["headers"]
    )
    assert ok.status_code == 200


def test_a_tenant_keeps_one_owner(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    alone = api_client.patch(
        f"/api/users/{owner['user_id']}", json={"role": "admin"}, headers=owner["headers"]
    )
    assert alone.status_code == 409
    assert alone.get_json()["error"] == "last_owner"
    second = make_user("owner")
    response = api_client.patch(
        f"/api/users/{owner['user_id']}", json={"role": "admin"}, headers=second["headers"]
    )
    assert response.status_code == 200


@pytest.mark.parametrize("body", [{"role": "god"}, {}, {"role": "admin", "extra": 1}])
def test_role_change_validates_input(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account], body: Any
) -> None:
    analyst = make_user("analyst")
    response = api_client.patch(
        f"/api/users/{analyst['user_id']}", json=body, headers=owner["headers"]
    )
    assert response.status_code == 400


def test_users_list_and_get(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    analyst = make_user("analyst")
    listed = api_client.get("/api/users", headers=owner["headers"]).get_json()
    assert {(u["email"], u["role"]) for u in listed} == {
        (owner["email"], "owner"),
        (analyst["email"], "analyst"),
    }
    one = api_client.get(f"/api/users/{analyst['user_id']}", headers=owner["headers"])
    assert one.get_json()["email"] == analyst["email"]
    missing = api_client.get(f"/api/users/{uuid.uuid4()}", headers=owner["headers"])
    assert missing.status_code == 404
    assert api_client.get("/api/users/not-a-uuid", headers=owner["headers"]).status_code == 404


# --- invites ------------------------------------------------------------------------------------


def invite(client: FlaskClient, by: Account, email: str, role: str = "analyst") -> Any:
    return client.post("/api/invites", json={"email": email, "role": role}, headers=by["headers"])


def test_invite_lifecycle(api_client: FlaskClient, owner: Account) -> None:
    created = invite(api_client, owner, "Bob@Example.com", "admin")
    assert created.status_code == 201
    body = created.get_json()
    assert body["email"] == "bob@example.com" and body["status"] == "pending"
    listed = api_client.get("/api/invites", headers=owner["headers"]).get_json()
    assert [i["status"] for i in listed] == ["pending"] and "token" not in listed[0]
    accepted = api_client.post(
        "/invites/accept", json={"token": body["token"], "password": PASSWORD}
    )
    assert accepted.status_code == 201
    assert accepted.get_json()["user"]["role"] == "admin"
    assert accepted.get_json()["tenant"]["id"] == owner["tenant_id"]
    assert login(api_client, "bob@example.com")["user"]["role"] == "admin"
    again = api_client.post("/invites/accept", json={"token": body["token"], "password": PASSWORD})
    assert again.status_code == 401
    assert again.get_json()["error"] == "invalid_invite"
    listed = api_client.get("/api/invites", headers=owner["headers"]).get_json()
    assert [i["status"] for i in listed] == ["accepted"]
    withdraw = api_client.delete(f"/api/invites/{body['id']}", headers=owner["headers"])
    assert withdraw.status_code == 409


def test_withdrawn_and_replaced_invites_stop_working(
    api_client: FlaskClient, owner: Account
) -> None:
    first = invite(api_client, owner, "carol@example.com").get_json()
    second = invite(api_client, owner, "carol@example.com").get_json()
    stale = api_client.post("/invites/accept", json={"token": first["token"], "password": PASSWORD})
    assert stale.status_code == 401
    withdraw = api_client.delete(f"/api/invites/{second['id']}", headers=owner["headers"])
    assert withdraw.status_code == 204
    response = api_client.post(
        "/invites/accept", json={"token": second["token"], "password": PASSWORD}
    )
    assert response.status_code == 401
    statuses = {
        i["id"]: i["status"]
        for i in api_client.get("/api/invites", headers=owner["headers"]).get_json()
    }
    assert statuses == {first["id"]: "revoked", second["id"]: "revoked"}


def test_expired_invite_is_refused(settings: Settings, owner: Account) -> None:
    client = client_for(settings, invite_seconds=0)
    token = invite(client, owner, "late@example.com").get_json()["token"]
    response = client.post("/invites/accept", json={"token": token, "password": PASSWORD})
    assert response.status_code == 401


def test_invite_for_a_registered_email_conflicts(
    api_client: FlaskClient, owner: Account, make_owner: Callable[..., Account]
) -> None:
    elsewhere = make_owner()
    for email in (owner["email"], elsewhere["email"].upper()):
        response = invite(api_client, owner, email)
        assert response.status_code == 409
        assert response.get_json()["error"] == "email_taken"


def test_accepting_checks_the_password(api_client: FlaskClient, owner: Account) -> None:
    token = invite(api_client, owner, "dave.smith@example.com").get_json()["token"]
    for weak in ("short", "dave.smith-rocks"):
        response = api_client.post("/invites/accept", json={"token": token, "password": weak})
        assert response.status_code == 400
        assert list(response.get_json()["fields"]) == ["password"]
    ok = api_client.post("/invites/accept", json={"token": token, "password": PASSWORD})
    assert ok.status_code == 201


@pytest.mark.parametrize("token", ["nonsense", f"{uuid.UUID(int=9)}.abc", ""])
def test_accept_with_a_bad_token(api_client: FlaskClient, token: str) -> None:
    response = api_client.post("/invites/accept", json={"token": token, "password": PASSWORD})
    assert response.status_code in (400, 401)


# --- webhook secret -----------------------------------------------------------------------------


def test_webhook_secret_rotation(
    api_client: FlaskClient, client: FlaskClient, owner: Account
) -> None:
    response = api_client.post(
        "/api/tenant/webhook-secret",
        json={"webhook_secret": "brand-new-secret"},
        headers=owner["headers"],
    )
    assert response.status_code == 200
    assert response.get_json()["previous_secret_valid_until"]
    payload = sample_json("customers_create")
    new = Sender(client, shop=owner["shop"], secret="brand-new-secret")
    old = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    stranger = Sender(client, shop=owner["shop"], secret="never-was-the-secret")
    assert new.send("customers/create", payload).status_code == 200
    assert old.send("customers/create", payload).status_code == 200
    assert stranger.send("customers/create", payload).status_code == 401
    empty = api_client.post(
        "/api/tenant/webhook-secret", json={"webhook_secret": " "}, headers=owner["headers"]
    )
    assert empty.status_code == 400


def test_tenant_endpoint(api_client: FlaskClient, owner: Account) -> None:
    body = api_client.get("/api/tenant", headers=owner["headers"]).get_json()
    assert body["id"] == owner["tenant_id"]
    assert body["shop_domain"] == owner["shop"]
    assert body["status"] == "active"


# --- ingest API keys ----------------------------------------------------------------------------


def test_api_keys_are_shown_once_and_stored_hashed(
    api_client: FlaskClient, owner: Account, settings: Settings
) -> None:
    created = api_client.post(
        "/api/ingest-keys", json={"name": "ERP sync"}, headers=owner["headers"]
    )
    assert created.status_code == 201
    body = created.get_json()
    key = body["key"]
    assert key.startswith("cwk_") and key.startswith(body["prefix"]) and len(key) > 40
    listed = api_client.get("/api/ingest-keys", headers=owner["headers"]).get_json()
    assert [k["name"] for k in listed] == ["ERP sync"]
    assert "key" not in listed[0] and key not in str(listed)
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(ApiKey)).one()
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in str([row.name, row.prefix, row.key_hash])
    revoked = api_client.delete(f"/api/ingest-keys/{body['id']}", headers=owner["headers"])
    assert revoked.status_code == 204
    listed = api_client.get("/api/ingest-keys", headers=owner["headers"]).get_json()
    assert listed[0]["revoked_at"] is not None
    again = api_client.delete(f"/api/ingest-keys/{body['id']}", headers=owner["headers"])
    assert again.status_code == 204
    missing = api_client.delete(f"/api/ingest-keys/{uuid.uuid4()}", headers=owner["headers"])
    assert missing.status_code == 404


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": 5}])
def test_api_key_name_is_validated(api_client: FlaskClient, owner: Account, body: Any) -> None:
    response = api_client.post("/api/ingest-keys", json=body, headers=owner["headers"])
    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["name"]


# --- the API as a whole -------------------------------------------------------------------------


def test_openapi_spec_and_docs(api_client: FlaskClient) -> None:
    spec = api_client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("/tenants/register", "/login", "/token/refresh", "/logout", "/invites/accept"):
        assert "security" not in spec["paths"][path]["post"]
    for path, operations in spec["paths"].items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                assert operation["security"] == [{"bearerAuth": []}], path
                assert "401" in operation["responses"], path
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "message"]
    docs = api_client.get("/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.data


def test_errors_are_json(api_client: FlaskClient, settings: Settings) -> None:
    missing = api_client.get("/nowhere")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong_method = api_client.get("/login")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"] == "method_not_allowed"
    assert "POST" in wrong_method.headers["Allow"]
    huge = api_client.post("/login", data=b"x" * (2 * 1024 * 1024), content_type="application/json")
    assert huge.status_code == 413 and huge.get_json()["error"] == "request_entity_too_large"


def test_ops_routes(api_client: FlaskClient) -> None:
    assert api_client.get("/healthz").get_json() == {"status": "ok"}
    assert api_client.get("/readyz").status_code == 200
    assert api_client.get("/metrics").status_code == 200


def test_lost_redis_answers_503(settings: Settings, owner: Account) -> None:
    from tests.support.services import free_port

    client = client_for(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    response = client.post("/login", json={"email": owner["email"], "password": PASSWORD})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert client.get("/api/me", headers=owner["headers"]).status_code == 503
