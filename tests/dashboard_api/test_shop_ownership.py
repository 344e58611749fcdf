"""Who owns a shop: registrations are claims until verified, through Shopify's OAuth install
(against the fake Admin API served over HTTP) or an Admin API token; squatters block nobody;
registration tells nobody what exists and is rate-limited; only owners rotate the secret."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from cartwheel.cli import main
from cartwheel.demo import DEMO_SHOP, demo_tenant
from core.settings import Settings
from dashboard_api import create_app
from dashboard_api.db import tenant_session
from devtools.fake_shopify import ServerThread
from devtools.fake_shopify.oauth import MERCHANT_COOKIE
from models import Tenant, User
from models.db import session_scope
from receiver import create_app as create_receiver
from shops.credentials import admin_api, tenants_with_credentials
from shops.ownership import query_hmac
from shops.registration import TenantError, normalize_shop
from tests.plugins.dashboard import PASSWORD
from tests.support.samples import sample_json
from tests.support.webhooks import Sender

CLIENT_ID, CLIENT_SECRET = "cartwheel-test-app", "shpss_" + "a1" * 16
RETURN_URL = "https://dashboard.example.com/oauth/return"
Account = dict[str, Any]


@pytest.fixture
def app_settings(settings: Settings, fake_admin: ServerThread) -> Settings:
    """The operator's Shopify app, and shops' admins reached at the fake."""
    return settings.with_overrides(
        shopify_client_id=CLIENT_ID,
        shopify_client_secret=CLIENT_SECRET,
        shopify_redirect_url=RETURN_URL,
        shop_url_template=f"{fake_admin.url}/shops/{{shop}}",
    )


@pytest.fixture
def api(app_settings: Settings, fake_admin: ServerThread) -> FlaskClient:
    fake_admin.fake.oauth.add_app(CLIENT_ID, CLIENT_SECRET)
    app = create_app(app_settings)
    app.testing = True
    return app.test_client()


def receiver(settings: Settings) -> FlaskClient:
    """A fresh receiver (its shop cache empty)."""
    app = create_receiver(settings)
    app.testing = True
    return app.test_client()


def register(
    api: FlaskClient, shop: str, *, email: str | None = None, address: str = "192.0.2.10"
) -> tuple[Any, Account]:
    """POST /tenants/register from `address`; the answer and what was sent."""
    body = {
        "name": "A shop",
        "email": email or f"u-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "store_url": shop,
        "webhook_secret": "shpss_" + uuid.uuid4().hex,
    }
    response = api.post("/tenants/register", json=body, environ_base={"REMOTE_ADDR": address})
    return response, body


def claim(api: FlaskClient, shop: str) -> Account:
    """Register a shop and log its (unverified) owner in."""
    response, body = register(api, shop)
    assert response.status_code == 202, response.get_json()
    tokens = api.post("/login", json={"email": body["email"], "password": PASSWORD})
    assert tokens.status_code == 200, tokens.get_json()
    access = tokens.get_json()["access_token"]
    return {**body, "headers": {"Authorization": f"Bearer {access}"}}


def deliver(settings: Settings, shop: str, secret: str) -> int:
    sender = Sender(receiver(settings), shop=shop, secret=secret)
    return sender.send("customers/create", sample_json("customers_create")).status_code


def tenants_of(settings: Settings, shop: str) -> int:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(Tenant).where(Tenant.shop_domain == shop))


def redirect_of(api: FlaskClient, account: Account, cookie: str | None) -> requests.Response:
    """Start the install as `account` and follow the authorize URL as a browser would."""
    started = api.post("/api/tenant/verification/oauth", headers=account["headers"])
    assert started.status_code == 200, started.get_json()
    cookies = {MERCHANT_COOKIE: cookie} if cookie else {}
    return requests.get(
        started.get_json()["authorize_url"], cookies=cookies, allow_redirects=False, timeout=10
    )


def callback(api: FlaskClient, account: Account, params: dict[str, str]) -> Any:
    return api.post(
        "/api/tenant/verification/oauth/callback", json=params, headers=account["headers"]
    )


# --- secret rotation --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_only_the_owner_rotates_the_webhook_secret(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    owner: Account,
    make_user: Callable[..., Account],
    role: str,
) -> None:
    """An admin who set a secret it knows could sign shop/redact; it may not set one."""
    attacker = make_user(role)
    known = "attacker-knows-this"
    response = api_client.post(
        "/api/tenant/webhook-secret", json={"webhook_secret": known}, headers=attacker["headers"]
    )
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    assert deliver(settings, owner["shop"], known) == 401
    assert deliver(settings, owner["shop"], owner["webhook_secret"]) == 200


# --- squatting --------------------------------------------------------------------------------


def test_a_squatter_does_not_block_the_real_owner(
    api: FlaskClient, app_settings: Settings, fake_admin: ServerThread
) -> None:
    shop = "demo-shop.myshopify.com"
    real = fake_admin.fake.add_shop(shop)
    squatter = claim(api, shop)
    assert deliver(app_settings, shop, squatter["webhook_secret"]) == 401  # a claim gets nothing

    owner = claim(api, shop)  # the real merchant is not turned away
    assert tenants_of(app_settings, shop) == 2
    refused = api.post(
        "/api/tenant/verification/token",
        json={"access_token": "shpat_" + "0" * 32},
        headers=squatter["headers"],
    )
    assert refused.status_code == 400 and refused.get_json()["error"] == "token_rejected"

    verified = api.post(
        "/api/tenant/verification/token",
        json={"access_token": real.token},
        headers=owner["headers"],
    )
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["verified"] is True
    assert tenants_of(app_settings, shop) == 1  # the first verification discards the claims
    gone = api.post("/login", json={"email": squatter["email"], "password": PASSWORD})
    assert gone.status_code == 401

    assert deliver(app_settings, shop, owner["webhook_secret"]) == 200
    assert deliver(app_settings, shop, squatter["webhook_secret"]) == 401


def test_a_second_verification_of_a_verified_shop_is_refused(
    api: FlaskClient, app_settings: Settings, fake_admin: ServerThread
) -> None:
    shop = f"s-{uuid.uuid4().hex[:8]}.myshopify.com"
    real = fake_admin.fake.add_shop(shop)
    first, second = claim(api, shop), claim(api, shop)
    proof = {"access_token": real.token}
    assert (
        api.post("/api/tenant/verification/token", json=proof, headers=first["headers"])
    ).status_code == 200
    # The second claim was discarded with its owner: its token no longer works at all.
    late = api.post("/api/tenant/verification/token", json=proof, headers=second["headers"])
    assert late.status_code in (401, 404)
    assert tenants_of(app_settings, shop) == 1


# --- enumeration and rate limits --------------------------------------------------------------


def test_registration_answers_the_same_whatever_exists(
    api: FlaskClient, app_settings: Settings
) -> None:
    taken_shop = f"taken-{uuid.uuid4().hex[:6]}.myshopify.com"
    first, first_body = register(api, taken_shop)
    fresh, _ = register(api, f"free-{uuid.uuid4().hex[:6]}")
    same_shop, _ = register(api, taken_shop)
    new_shop = f"other-{uuid.uuid4().hex[:6]}.myshopify.com"
    same_email, _ = register(api, new_shop, email=first_body["email"].upper())
    answers = {(r.status_code, r.get_data()) for r in (first, fresh, same_shop, same_email)}
    assert len(answers) == 1 and first.status_code == 202
    assert b"taken" not in first.get_data()
    # Nothing was created for the address that has an account.
    assert tenants_of(app_settings, new_shop) == 0
    with session_scope(app_settings.database_url) as s:
        count = select(func.count()).select_from(User).where(User.email == first_body["email"])
        assert s.scalar(count) == 1


def test_registration_is_rate_limited_per_address(api: FlaskClient, settings: Settings) -> None:
    statuses = []
    for _ in range(41):
        response, _ = register(api, f"burst-{uuid.uuid4().hex[:8]}", address="203.0.113.7")
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.get_json()["error"] == "rate_limited"
            assert int(response.headers["Retry-After"]) > 0
    limit = settings.register_max_per_address
    assert statuses == [202] * limit + [429] * (41 - limit)
    other, _ = register(api, f"calm-{uuid.uuid4().hex[:8]}", address="198.51.100.3")
    assert other.status_code == 202


@pytest.mark.parametrize(
    "shop",
    ["demo-shop.myshopify.com\n", "demo-shop\n.myshopify.com", "demo-shop.myshopify.com\r\n"],
    ids=["trailing-lf", "inner-lf", "trailing-crlf"],
)
def test_a_shop_domain_with_a_newline_is_rejected(
    api: FlaskClient, app_settings: Settings, shop: str
) -> None:
    response, _ = register(api, shop)
    assert response.status_code == 400 and list(response.get_json()["fields"]) == ["store_url"]
    with pytest.raises(TenantError):
        normalize_shop(shop)
    added = CliRunner().invoke(
        main,
        ["tenants", "add", "--shop", shop, "--name", "x", "--webhook-secret", "s"],
        env=app_settings.to_env(),
    )
    assert added.exit_code != 0
    assert tenants_of(app_settings, "demo-shop.myshopify.com") == 0


# --- the OAuth install ------------------------------------------------------------------------


def test_shopify_oauth_signatures() -> None:
    """Shopify's documented example redirects (client secret `hush`)."""
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "timestamp": "1337178173",
    }
    expected = "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"
    assert query_hmac({**params, "hmac": expected}, "hush") == expected
    with_state = {**params, "state": "0.6784241404160823"}
    assert (
        query_hmac(with_state, "hush")
        == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    )


def test_the_oauth_install_verifies_the_owner(
    api: FlaskClient, app_settings: Settings, fake_admin: ServerThread
) -> None:
    shop = f"oauth-{uuid.uuid4().hex[:6]}.myshopify.com"
    real = fake_admin.fake.add_shop(shop)
    owner = claim(api, shop)
    started = api.post("/api/tenant/verification/oauth", headers=owner["headers"])
    url = urlsplit(started.get_json()["authorize_url"])
    asked = dict(parse_qsl(url.query))
    assert url.path == f"/shops/{shop}/admin/oauth/authorize"
    assert (asked["client_id"], asked["redirect_uri"]) == (CLIENT_ID, RETURN_URL)

    merchant = fake_admin.fake.oauth.merchant_cookie(shop)
    approved = redirect_of(api, owner, merchant)
    assert approved.status_code == 302
    location = urlsplit(approved.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL
    params = dict(parse_qsl(location.query))

    tampered = {**params, "hmac": "0" * 64}
    assert callback(api, owner, tampered).get_json()["error"] == "bad_signature"
    other_shop = {**params, "shop": "someone-else.myshopify.com"}
    assert callback(api, owner, other_shop).status_code == 400  # the hmac covers the shop
    forged_state = {**params, "state": "guessed"}
    forged_state["hmac"] = query_hmac(forged_state, CLIENT_SECRET)
    refused = callback(api, owner, forged_state)
    assert refused.status_code == 400 and refused.get_json()["error"] == "bad_state"

    done = callback(api, owner, params)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["verified"] is True
    # The exchanged token is the shop's Admin API credential now.
    with session_scope(app_settings.database_url) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.shop_domain == shop))
        assert tenant_id is not None
        stored = admin_api(s, tenant_id=tenant_id, secret_keys=app_settings.secret_keys)
        assert stored.access_token == real.token
    replayed = callback(api, owner, params)  # the state is spent
    assert replayed.status_code in (400, 409)
    assert deliver(app_settings, shop, owner["webhook_secret"]) == 200


def test_a_squatter_cannot_complete_the_install(
    api: FlaskClient, app_settings: Settings, fake_admin: ServerThread
) -> None:
    shop = f"sq-{uuid.uuid4().hex[:6]}.myshopify.com"
    fake_admin.fake.add_shop(shop)
    squatter, owner = claim(api, shop), claim(api, shop)
    # Without the merchant's admin session the install is never approved.
    assert redirect_of(api, squatter, cookie=None).status_code == 403
    # The merchant's genuine redirect, forwarded by the squatter, is bound to the owner's flow.
    genuine = redirect_of(api, owner, fake_admin.fake.oauth.merchant_cookie(shop))
    params = dict(parse_qsl(urlsplit(genuine.headers["Location"]).query))
    stolen = callback(api, squatter, params)
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "bad_state"
    assert callback(api, owner, params).status_code == 200
    assert tenants_of(app_settings, shop) == 1


def test_oauth_needs_an_app_configured(api_client: FlaskClient) -> None:
    account = claim(api_client, f"noapp-{uuid.uuid4().hex[:6]}")
    response = api_client.post("/api/tenant/verification/oauth", headers=account["headers"])
    assert response.status_code == 400 and response.get_json()["error"] == "oauth_unavailable"


# --- Admin API tokens -------------------------------------------------------------------------


@pytest.mark.parametrize("per_shop_hosts", [True, False], ids=["shop-host", "one-host"])
def test_a_token_for_another_shop_is_refused(
    settings: Settings, fake_admin: ServerThread, per_shop_hosts: bool
) -> None:
    """Whether the shop's host refuses the token (as Shopify does) or an admin answers for
    another shop, the token proves nothing about this one."""
    template = f"{fake_admin.url}/shops/{{shop}}" if per_shop_hosts else fake_admin.url
    app = create_app(settings.with_overrides(shop_url_template=template))
    app.testing = True
    api = app.test_client()
    mine = f"mine-{uuid.uuid4().hex[:6]}.myshopify.com"
    theirs = fake_admin.fake.add_shop(f"theirs-{uuid.uuid4().hex[:6]}.myshopify.com")
    fake_admin.fake.add_shop(mine)
    account = claim(api, mine)
    response = api.post(
        "/api/tenant/verification/token",
        json={"access_token": theirs.token},
        headers=account["headers"],
    )
    assert response.status_code == 400 and response.get_json()["error"] == "token_rejected"
    status = api.get("/api/tenant/verification", headers=account["headers"]).get_json()
    assert status["verified"] is False
    assert deliver(settings, mine, account["webhook_secret"]) == 401


# --- operators --------------------------------------------------------------------------------


def test_an_operator_verifies_a_claim_and_adds_shops_verified(
    api: FlaskClient, app_settings: Settings
) -> None:
    shop = f"op-{uuid.uuid4().hex[:6]}.myshopify.com"
    account = claim(api, shop)
    assert deliver(app_settings, shop, account["webhook_secret"]) == 401
    with session_scope(app_settings.database_url) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.shop_domain == shop))
    runner = CliRunner()
    listed = runner.invoke(main, ["tenants", "list"], env=app_settings.to_env())
    [line] = [row for row in listed.output.splitlines() if shop in row]
    assert "  no  " in line
    verified = runner.invoke(main, ["tenants", "verify", str(tenant_id)], env=app_settings.to_env())
    assert verified.exit_code == 0, verified.output
    assert deliver(app_settings, shop, account["webhook_secret"]) == 200
    # Another tenant of a verified shop is refused, from the command line as from the API.
    again = runner.invoke(
        main,
        ["tenants", "add", "--shop", shop, "--name", "x", "--webhook-secret", "s"],
        env=app_settings.to_env(),
    )
    assert again.exit_code != 0 and "already registered" in again.output


def test_the_demo_shop_is_seeded_verified_over_earlier_claims(
    api: FlaskClient, app_settings: Settings
) -> None:
    squatter = claim(api, DEMO_SHOP)
    with session_scope(app_settings.database_url) as s:
        tenant, secret = demo_tenant(s, secret_keys=app_settings.secret_keys, new_secret="demo-s")
        assert tenant.verified_at is not None and secret == "demo-s"
    assert tenants_of(app_settings, DEMO_SHOP) == 1
    assert deliver(app_settings, DEMO_SHOP, "demo-s") == 200
    assert deliver(app_settings, DEMO_SHOP, squatter["webhook_secret"]) == 401
    with session_scope(app_settings.database_url) as s:  # a second start finds the same tenant
        again, secret = demo_tenant(s, secret_keys=app_settings.secret_keys, new_secret="other")
        assert (again.id, secret) == (tenant.id, "demo-s")


def test_an_unverified_claim_runs_no_sync_jobs(
    api: FlaskClient, app_settings: Settings, fake_admin: ServerThread
) -> None:
    """Without verification there are no credentials, so nothing to backfill or reconcile."""
    shop = f"nosync-{uuid.uuid4().hex[:6]}.myshopify.com"
    real = fake_admin.fake.add_shop(shop)
    account = claim(api, shop)
    stored = api.put(
        "/api/sync/credentials",
        json={"access_token": real.token, "api_version": "2026-07"},
        headers=account["headers"],
    )
    assert stored.status_code == 400 and "verify the shop" in stored.get_json()["message"]
    started = api.post(
        "/api/sync/backfills", json={"resources": ["orders"]}, headers=account["headers"]
    )
    assert started.status_code == 409
    with session_scope(app_settings.database_url) as s:
        assert tenants_with_credentials(s) == []


def test_the_api_role_cannot_vouch_for_its_own_tenant(
    api: FlaskClient, app_settings: Settings
) -> None:
    """Even a bug in a view could not mark a claim verified: only the verify function may."""
    shop = f"self-{uuid.uuid4().hex[:6]}.myshopify.com"
    claim(api, shop)
    with session_scope(app_settings.database_url) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.shop_domain == shop))
    refused = "only cartwheel_verify_shop"
    with pytest.raises(DBAPIError, match=refused), tenant_session(app_settings, tenant_id) as s:
        s.execute(text("UPDATE tenants SET verified_at = now()"))
    other = uuid.uuid4()
    with pytest.raises(DBAPIError, match=refused), tenant_session(app_settings, other) as s:
        s.add(Tenant(id=other, shop_domain=shop, name="x", webhook_secret=b"x",
                     verified_at=func.now()))  # fmt: skip
        s.flush()
    assert deliver(app_settings, shop, "anything") == 401
    with session_scope(app_settings.database_url) as s:
        assert s.scalar(select(Tenant.verified_at).where(Tenant.id == tenant_id)) is None
