"""Users' lifecycle on the dashboard API: removal, passwords, resets, sessions, invites.

Each test replays an attack or a mistake against the real API, database and Redis and shows
that it now fails: a removed analyst keeps no access, a refresh chain ends, a demoted inviter's
invite dies, a password change ends the other sessions, a reset token works once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from core.settings import Settings
from dashboard_api import create_app
from models.accounts import RefreshToken
from models.db import session_scope, tenant_session
from tests.plugins.dashboard import PASSWORD, login

Account = dict[str, Any]
NEW_PASSWORD = "a different long passphrase"


def client_for(settings: Settings, **overrides: Any) -> FlaskClient:
    app = create_app(settings.with_overrides(**overrides))
    app.testing = True
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(client: FlaskClient, token: str) -> int:
    return client.get("/api/me", headers=bearer(token)).status_code


def refresh(client: FlaskClient, refresh_token: str) -> Any:
    return client.post("/token/refresh", json={"refresh_token": refresh_token})


# --- removing users -----------------------------------------------------------------------------


def test_a_removed_analyst_loses_access_and_refresh_tokens_at_once(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    analyst = make_user("analyst")
    tokens = {"access_token": analyst["token"], "refresh_token": analyst["refresh_token"]}
    for _ in range(3):  # the analyst keeps a session alive, as in the reported attack
        answer = refresh(api_client, tokens["refresh_token"])
        assert answer.status_code == 200
        tokens = answer.get_json()
    removed = api_client.delete(f"/api/users/{analyst['user_id']}", headers=owner["headers"])
    assert removed.status_code == 204
    assert me(api_client, tokens["access_token"]) == 401
    assert me(api_client, analyst["token"]) == 401
    assert refresh(api_client, tokens["refresh_token"]).status_code == 401
    relogin = api_client.post("/login", json={"email": analyst["email"], "password": PASSWORD})
    assert relogin.status_code == 401
    listed = api_client.get("/api/users", headers=owner["headers"]).get_json()
    assert analyst["user_id"] not in {u["id"] for u in listed}


def test_who_may_remove_whom(
    api_client: FlaskClient,
    owner: Account,
    make_owner: Callable[..., Account],
    make_user: Callable[..., Account],
) -> None:
    admin, analyst = make_user("admin"), make_user("analyst")
    url = f"/api/users/{owner['user_id']}"
    by_admin = api_client.delete(url, headers=admin["headers"])
    assert by_admin.status_code == 403 and by_admin.get_json()["error"] == "forbidden"
    # The last owner cannot remove themselves into an ownerless tenant.
    last = api_client.delete(url, headers=owner["headers"])
    assert last.status_code == 409 and last.get_json()["error"] == "last_owner"
    denied = api_client.delete(f"/api/users/{admin['user_id']}", headers=analyst["headers"])
    assert denied.status_code == 403
    other = make_owner()
    foreign = api_client.delete(f"/api/users/{other['user_id']}", headers=owner["headers"])
    assert foreign.status_code == 404
    missing = api_client.delete(f"/api/users/{uuid.uuid4()}", headers=owner["headers"])
    assert missing.status_code == 404
    assert me(api_client, other["token"]) == 200  # untouched
    # Admins remove analysts and other admins; with a second owner, an owner may go.
    assert api_client.delete(
        f"/api/users/{analyst['user_id']}", headers=admin["headers"]
    ).status_code == (204)
    second = make_user("owner")
    assert api_client.delete(url, headers=second["headers"]).status_code == 204
    assert me(api_client, owner["token"]) == 401


def test_ingest_keys_outlive_the_user_who_made_them(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    admin = make_user("admin")
    created = api_client.post("/api/ingest-keys", json={"name": "sync"}, headers=admin["headers"])
    assert created.status_code == 201
    assert api_client.delete(
        f"/api/users/{admin['user_id']}", headers=owner["headers"]
    ).status_code == (204)
    keys = api_client.get("/api/ingest-keys", headers=owner["headers"]).get_json()
    assert [(k["id"], k["created_by"], k["revoked_at"]) for k in keys] == [
        (created.get_json()["id"], None, None)
    ]


# --- refresh tokens: an absolute lifetime -------------------------------------------------------


def test_refreshing_never_extends_a_session_past_its_lifetime(
    settings: Settings, owner: Account
) -> None:
    client = client_for(settings, session_max_seconds=600, refresh_token_seconds=30 * 86400)
    tokens = login(client, owner["email"])
    assert tokens["refresh_expires_in"] <= 600
    for _ in range(3):
        answer = refresh(client, tokens["refresh_token"])
        assert answer.status_code == 200
        tokens = answer.get_json()
        assert 0 < tokens["refresh_expires_in"] <= 600
    with session_scope(settings.database_url) as session:
        chain = session.scalars(
            select(RefreshToken).where(RefreshToken.user_id == uuid.UUID(owner["user_id"]))
        ).all()
        ends = {t.session_id: t.session_expires_at for t in chain}
        assert all(t.expires_at <= ends[t.session_id] for t in chain)
        # The clock moves past the session's end (30 days in production).
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == uuid.UUID(owner["user_id"]))
            .values(session_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    ended = refresh(client, tokens["refresh_token"])
    assert ended.status_code == 401 and ended.get_json()["error"] == "invalid_token"


def test_logout_ends_every_access_token_of_the_session(
    api_client: FlaskClient, owner: Account
) -> None:
    rotated = refresh(api_client, owner["refresh_token"]).get_json()
    assert me(api_client, owner["token"]) == 200
    out = api_client.post("/logout", json={"refresh_token": rotated["refresh_token"]})
    assert out.status_code == 204
    assert me(api_client, owner["token"]) == 401
    assert me(api_client, rotated["access_token"]) == 401


# --- invites ------------------------------------------------------------------------------------


def _invite(client: FlaskClient, inviter: Account, role: str) -> str:
    answer = client.post(
        "/api/invites",
        json={"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "role": role},
        headers=inviter["headers"],
    )
    assert answer.status_code == 201, answer.get_json()
    token: str = answer.get_json()["token"]
    return token


def _accept(client: FlaskClient, token: str) -> Any:
    return client.post("/invites/accept", json={"token": token, "password": PASSWORD})


def test_a_demoted_admins_pending_invite_stops_working(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    admin = make_user("admin")
    token = _invite(api_client, admin, "admin")
    kept = _invite(api_client, admin, "analyst")
    demoted = api_client.patch(
        f"/api/users/{admin['user_id']}", json={"role": "analyst"}, headers=owner["headers"]
    )
    assert demoted.status_code == 200
    for stale in (token, kept):
        refused = _accept(api_client, stale)
        assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_invite"
    statuses = {
        i["role"]: i["status"]
        for i in api_client.get("/api/invites", headers=owner["headers"]).get_json()
        if i["invited_by"] == admin["user_id"]
    }
    assert statuses == {"admin": "revoked", "analyst": "revoked"}


def test_an_owner_invite_dies_when_its_inviter_is_no_longer_owner(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    second = make_user("owner")
    owner_invite = _invite(api_client, second, "owner")
    admin_invite = _invite(api_client, second, "admin")
    api_client.patch(
        f"/api/users/{second['user_id']}", json={"role": "admin"}, headers=owner["headers"]
    )
    assert _accept(api_client, owner_invite).status_code == 401
    # An admin may still invite admins, so that invite keeps working.
    assert _accept(api_client, admin_invite).status_code == 201


def test_a_removed_users_invites_stop_working(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    admin = make_user("admin")
    token = _invite(api_client, admin, "analyst")
    api_client.delete(f"/api/users/{admin['user_id']}", headers=owner["headers"])
    assert _accept(api_client, token).status_code == 401


# --- passwords ----------------------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions(
    api_client: FlaskClient, make_user: Callable[..., Account]
) -> None:
    user = make_user("analyst")
    other = login(api_client, user["email"])  # say, a stolen laptop
    change = api_client.post(
        "/api/account/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=user["headers"],
    )
    assert change.status_code == 204
    assert me(api_client, other["access_token"]) == 401
    assert refresh(api_client, other["refresh_token"]).status_code == 401
    # This session continues.
    assert me(api_client, user["token"]) == 200
    assert refresh(api_client, user["refresh_token"]).status_code == 200
    old = api_client.post("/login", json={"email": user["email"], "password": PASSWORD})
    assert old.status_code == 401
    login(api_client, user["email"], NEW_PASSWORD)


def test_a_password_change_needs_the_current_password(
    api_client: FlaskClient, make_user: Callable[..., Account]
) -> None:
    user = make_user("analyst")
    wrong = api_client.post(
        "/api/account/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=user["headers"],
    )
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "wrong_password"
    weak = api_client.post(
        "/api/account/password",
        json={"current_password": PASSWORD, "new_password": "aaaaaaaaaaaa"},
        headers=user["headers"],
    )
    assert weak.status_code == 400 and list(weak.get_json()["fields"]) == ["new_password"]
    login(api_client, user["email"], PASSWORD)  # nothing changed


def _reset(client: FlaskClient, owner: Account, user: Account) -> Any:
    return client.post(f"/api/users/{user['user_id']}/password-reset", headers=owner["headers"])


def test_a_reset_token_works_once(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    user = make_user("admin")
    created = _reset(api_client, owner, user)
    assert created.status_code == 201
    token = created.get_json()["token"]
    weak = api_client.post("/password/reset", json={"token": token, "password": "b" * 12})
    assert weak.status_code == 400  # and the token is not used up by bad input
    used = api_client.post("/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert used.status_code == 204
    # Every session of the user ends; the new password works, the old one does not.
    assert me(api_client, user["token"]) == 401
    assert refresh(api_client, user["refresh_token"]).status_code == 401
    login(api_client, user["email"], NEW_PASSWORD)
    again = api_client.post("/password/reset", json={"token": token, "password": PASSWORD})
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_reset_token"


def test_reset_tokens_expire_and_are_replaced(
    settings: Settings, api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    user = make_user("analyst")
    late = client_for(settings, password_reset_seconds=0)
    expired = _reset(late, owner, user).get_json()["token"]
    answer = late.post("/password/reset", json={"token": expired, "password": NEW_PASSWORD})
    assert answer.status_code == 401
    first = _reset(api_client, owner, user).get_json()["token"]
    second = _reset(api_client, owner, user).get_json()["token"]
    stale = api_client.post("/password/reset", json={"token": first, "password": NEW_PASSWORD})
    assert stale.status_code == 401
    fresh = api_client.post("/password/reset", json={"token": second, "password": NEW_PASSWORD})
    assert fresh.status_code == 204
    for bad in ("garbage", f"{uuid.uuid4()}.nope", f"{owner['tenant_id']}.nope"):
        refused = api_client.post("/password/reset", json={"token": bad, "password": NEW_PASSWORD})
        assert refused.status_code == 401


def test_only_owners_create_reset_tokens(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    admin, analyst = make_user("admin"), make_user("analyst")
    assert _reset(api_client, admin, analyst).status_code == 403
    assert _reset(api_client, admin, owner).status_code == 403
    missing = api_client.post(f"/api/users/{uuid.uuid4()}/password-reset", headers=owner["headers"])
    assert missing.status_code == 404


# --- sessions -----------------------------------------------------------------------------------


def test_sessions_are_listed_and_revoked_one_by_one_or_all_others(
    api_client: FlaskClient, owner: Account
) -> None:
    laptop = api_client.post(
        "/login",
        json={"email": owner["email"], "password": PASSWORD},
        headers={"User-Agent": "laptop-browser"},
    ).get_json()
    phone = login(api_client, owner["email"])
    listed = api_client.get("/api/account/sessions", headers=owner["headers"]).get_json()
    assert len(listed) == 3
    assert [s["current"] for s in listed].count(True) == 1
    assert "laptop-browser" in {s["user_agent"] for s in listed}
    by_agent = {s["user_agent"]: s["id"] for s in listed}
    ended = api_client.delete(
        f"/api/account/sessions/{by_agent['laptop-browser']}", headers=owner["headers"]
    )
    assert ended.status_code == 204
    assert me(api_client, laptop["access_token"]) == 401
    assert refresh(api_client, laptop["refresh_token"]).status_code == 401
    assert me(api_client, phone["access_token"]) == 200
    again = api_client.delete(
        f"/api/account/sessions/{by_agent['laptop-browser']}", headers=owner["headers"]
    )
    assert again.status_code == 404
    others = api_client.delete("/api/account/sessions", headers=owner["headers"])
    assert others.status_code == 204
    assert me(api_client, phone["access_token"]) == 401
    assert me(api_client, owner["token"]) == 200
    left = api_client.get("/api/account/sessions", headers=owner["headers"]).get_json()
    assert [s["current"] for s in left] == [True]


def test_nobody_ends_another_users_session_by_id(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    analyst = make_user("analyst")
    theirs = api_client.get("/api/account/sessions", headers=analyst["headers"]).get_json()
    answer = api_client.delete(f"/api/account/sessions/{theirs[0]['id']}", headers=owner["headers"])
    assert answer.status_code == 404
    assert me(api_client, analyst["token"]) == 200


def test_owners_and_admins_end_a_users_sessions(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    admin, analyst = make_user("admin"), make_user("analyst")
    ended = api_client.delete(f"/api/users/{analyst['user_id']}/sessions", headers=admin["headers"])
    assert ended.status_code == 204
    assert me(api_client, analyst["token"]) == 401
    assert refresh(api_client, analyst["refresh_token"]).status_code == 401
    login(api_client, analyst["email"])  # the user may log in again
    refused = api_client.delete(f"/api/users/{owner['user_id']}/sessions", headers=admin["headers"])
    assert refused.status_code == 403
    assert me(api_client, owner["token"]) == 200
    denied = api_client.delete(
        f"/api/users/{admin['user_id']}/sessions", headers=analyst["headers"]
    )
    assert denied.status_code == 401  # the analyst's own tokens ended above


# --- answers that carry secrets are never cached ------------------------------------------------


def _no_store(response: Any) -> bool:
    return (
        response.headers.get("Cache-Control") == "no-store"
        and response.headers.get("Pragma") == "no-cache"
    )


def test_answers_carrying_tokens_or_secrets_are_not_stored(
    api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    user = make_user("analyst")
    logged_in = api_client.post("/login", json={"email": owner["email"], "password": PASSWORD})
    refreshed = refresh(api_client, logged_in.get_json()["refresh_token"])
    invited = api_client.post(
        "/api/invites", json={"email": "x@example.com", "role": "analyst"}, headers=owner["headers"]
    )
    accepted = _accept(api_client, invited.get_json()["token"])
    key = api_client.post("/api/ingest-keys", json={"name": "k"}, headers=owner["headers"])
    reset = _reset(api_client, owner, user)
    redeemed = api_client.post(
        "/password/reset", json={"token": reset.get_json()["token"], "password": NEW_PASSWORD}
    )
    failed = api_client.post("/login", json={"email": owner["email"], "password": "wrong" * 3})
    answers = {
        "login": logged_in,
        "refresh": refreshed,
        "invite": invited,
        "accept": accepted,
        "ingest key": key,
        "reset token": reset,
        "reset": redeemed,
        "failed login": failed,
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "login": 200,
        "refresh": 200,
        "invite": 201,
        "accept": 201,
        "ingest key": 201,
        "reset token": 201,
        "reset": 204,
        "failed login": 401,
    }
    assert [name for name, r in answers.items() if not _no_store(r)] == []


def test_removed_users_rows_are_gone(
    settings: Settings, api_client: FlaskClient, owner: Account, make_user: Callable[..., Account]
) -> None:
    analyst = make_user("analyst")
    api_client.delete(f"/api/users/{analyst['user_id']}", headers=owner["headers"])
    with session_scope(settings.database_url) as session:
        tokens = session.scalars(
            select(RefreshToken).where(RefreshToken.user_id == uuid.UUID(analyst["user_id"]))
        ).all()
        assert tokens == []


def test_reset_tokens_stay_in_their_tenant(
    settings: Settings,
    api_client: FlaskClient,
    owner: Account,
    make_owner: Callable[..., Account],
    make_user: Callable[..., Account],
) -> None:
    user = make_user("analyst")
    token = _reset(api_client, owner, user).get_json()["token"]
    other = make_owner()
    with tenant_session(settings.api_db_url, other["tenant_id"]) as session:
        assert session.scalars(text("SELECT id FROM password_resets")).all() == []
    # The same secret under another tenant's id names nothing.
    moved = f"{other['tenant_id']}.{token.partition('.')[2]}"
    answer = api_client.post("/password/reset", json={"token": moved, "password": NEW_PASSWORD})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/password/reset", {}),
        ("/password/reset", {"token": "x", "password": 7}),
        ("/password/reset", ["token"]),
        ("/api/account/password", {}),
        ("/api/account/password", {"current_password": PASSWORD, "new_password": "short"}),
        ("/api/account/password", {"current_password": "", "new_password": NEW_PASSWORD}),
    ],
)
def test_bad_password_bodies_get_400(
    api_client: FlaskClient, owner: Account, path: str, body: Any
) -> None:
    answer = api_client.post(path, json=body, headers=owner["headers"])
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"
    assert me(api_client, owner["token"]) == 200
