"""Failed-login limits that are not a weapon (dashboard_api/accounts/ratelimit.py).

The attacks: wrong passwords for someone's email lock its owner out; failures from one address
lock out everyone behind the same proxy. Each test replays one against the real API and Redis.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.settings import Settings
from dashboard_api import create_app
from dashboard_api.accounts.devices import COOKIE_NAME
from tests.plugins.dashboard import PASSWORD

Account = dict[str, Any]
OWNER_HOME = "203.0.113.5"
ATTACKER = "198.51.100.9"
PROXY = "192.0.2.10"
WRONG = "wrong password!"


def app_for(settings: Settings, **overrides: Any) -> Flask:
    app = create_app(settings.with_overrides(**overrides))
    app.testing = True
    return app


def attempt(client: FlaskClient, email: str, password: str, address: str) -> TestResponse:
    return client.post(
        "/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def hammer(client: FlaskClient, email: str, address: str, times: int) -> list[int]:
    return [attempt(client, email, WRONG, address).status_code for _ in range(times)]


def assert_limited(response: TestResponse, *, at_most: int) -> None:
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= at_most


def test_an_attacker_at_one_address_locks_only_themselves(
    settings: Settings, owner: Account
) -> None:
    app = app_for(settings, login_max_failures=5, login_window_seconds=600)
    attacker = app.test_client()
    statuses = hammer(attacker, owner["email"], ATTACKER, 25)
    assert statuses == [401] * 5 + [429] * 20
    assert_limited(attempt(attacker, owner["email"], PASSWORD, ATTACKER), at_most=600)
    # The owner, from home, on a client that never logged in before: gets in.
    fresh = app.test_client()
    assert attempt(fresh, owner["email"], PASSWORD, OWNER_HOME).status_code == 200


def test_the_owners_device_gets_in_while_an_attacker_hammers_from_many_addresses(
    settings: Settings, owner: Account
) -> None:
    app = app_for(
        settings, login_max_failures=5, login_max_failures_per_account=10, login_slowdown_seconds=60
    )
    laptop = app.test_client()
    assert attempt(laptop, owner["email"], PASSWORD, OWNER_HOME).status_code == 200
    attacker = app.test_client()
    statuses = [
        attempt(attacker, owner["email"], WRONG, f"198.51.100.{n}").status_code for n in range(30)
    ]
    # Ten failures, then one untrusted attempt per slowdown slot: no more guesses.
    assert statuses.count(401) == 11 and statuses[-1] == 429
    # The owner's laptop carries the device cookie: the account-wide limit does not apply.
    assert attempt(laptop, owner["email"], PASSWORD, OWNER_HOME).status_code == 200
    assert attempt(laptop, owner["email"], PASSWORD, "192.0.2.200").status_code == 200


def test_others_are_slowed_down_not_locked_out(settings: Settings, owner: Account) -> None:
    app = app_for(settings, login_max_failures_per_account=3, login_slowdown_seconds=1)
    attacker = app.test_client()
    for n in range(3):
        attempt(attacker, owner["email"], WRONG, f"198.51.100.{n}")
    stranger = app.test_client()  # the owner on a new phone
    first = attempt(stranger, owner["email"], WRONG, OWNER_HOME)  # takes this slot
    assert first.status_code == 401
    slowed = attempt(stranger, owner["email"], PASSWORD, OWNER_HOME)
    assert_limited(slowed, at_most=1)
    time.sleep(int(slowed.headers["Retry-After"]) + 0.1)  # what a client does with Retry-After
    assert attempt(stranger, owner["email"], PASSWORD, OWNER_HOME).status_code == 200


def test_users_behind_one_proxy_keep_logging_in_while_one_account_is_attacked(
    settings: Settings, owner: Account, make_user: Callable[..., Account]
) -> None:
    app = app_for(settings, login_max_failures=5, login_max_failures_per_address=100)
    office = app.test_client()
    assert attempt(office, owner["email"], PASSWORD, PROXY).status_code == 200
    colleagues = [make_user("analyst") for _ in range(6)]
    attacker = app.test_client()
    assert hammer(attacker, owner["email"], PROXY, 25).count(401) == 5
    for colleague in colleagues:
        client = app.test_client()
        assert attempt(client, colleague["email"], PASSWORD, PROXY).status_code == 200
    # The attacked owner, behind the same proxy, on the device used before.
    assert attempt(office, owner["email"], PASSWORD, PROXY).status_code == 200


def test_credential_stuffing_reaches_the_address_ceiling(
    settings: Settings, owner: Account
) -> None:
    app = app_for(settings, login_max_failures_per_address=6)
    trusted = app.test_client()
    assert attempt(trusted, owner["email"], PASSWORD, OWNER_HOME).status_code == 200
    stuffer = app.test_client()
    for n in range(6):
        assert attempt(stuffer, f"leaked-{n}@example.com", WRONG, ATTACKER).status_code == 401
    assert_limited(attempt(stuffer, "leaked-99@example.com", WRONG, ATTACKER), at_most=900)
    assert_limited(attempt(app.test_client(), owner["email"], PASSWORD, ATTACKER), at_most=900)
    # From that address only a device that logged in before still gets through.
    assert attempt(trusted, owner["email"], PASSWORD, ATTACKER).status_code == 200


def test_device_cookie_is_signed_httponly_and_bound_to_its_account(
    settings: Settings, owner: Account, make_user: Callable[..., Account]
) -> None:
    app = app_for(settings, login_max_failures=3, login_max_failures_per_account=3)
    laptop = app.test_client()
    answer = attempt(laptop, owner["email"], PASSWORD, OWNER_HOME)
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/login"):
        assert attribute in cookie
    other = make_user("analyst")
    for n in range(3):  # the other account is under attack
        attempt(app.test_client(), other["email"], WRONG, f"198.51.100.{n}")
    attempt(app.test_client(), other["email"], WRONG, "198.51.100.99")  # the slot
    # The owner's cookie does not vouch for another account, nor does a tampered one.
    assert attempt(laptop, other["email"], PASSWORD, OWNER_HOME).status_code == 429
    forged = app.test_client()
    value = laptop.get_cookie(COOKIE_NAME, path="/login")
    assert value is not None
    forged.set_cookie(COOKIE_NAME, value.value[:-2] + "xx", path="/login")
    assert attempt(forged, other["email"], PASSWORD, OWNER_HOME).status_code == 429


def test_a_device_cookie_does_not_allow_unlimited_guessing(
    settings: Settings, owner: Account
) -> None:
    app = app_for(settings, login_max_failures=3)
    laptop = app.test_client()
    assert attempt(laptop, owner["email"], PASSWORD, OWNER_HOME).status_code == 200
    addresses = [f"198.51.100.{n}" for n in range(5)]
    statuses = [attempt(laptop, owner["email"], WRONG, a).status_code for a in addresses]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_success_clears_the_pairs_counter(settings: Settings, owner: Account) -> None:
    app = app_for(settings, login_max_failures=3)
    client = app.test_client()
    assert hammer(client, owner["email"], OWNER_HOME, 2) == [401, 401]
    assert attempt(client, owner["email"], PASSWORD, OWNER_HOME).status_code == 200
    fresh = app.test_client()  # no device cookie: the pair's counter starts again
    assert hammer(fresh, owner["email"], OWNER_HOME, 3) == [401, 401, 401]
    assert attempt(fresh, owner["email"], PASSWORD, OWNER_HOME).status_code == 429


def test_forwarded_for_is_only_honoured_behind_configured_proxies(
    settings: Settings, owner: Account
) -> None:
    direct = app_for(settings, login_max_failures=3, proxy_hops=0).test_client()

    def spoofed(client: FlaskClient, forwarded: str) -> int:
        return client.post(
            "/login",
            json={"email": owner["email"], "password": WRONG},
            environ_base={"REMOTE_ADDR": ATTACKER},
            headers={"X-Forwarded-For": forwarded},
        ).status_code

    # A client making up X-Forwarded-For values is still one address.
    assert [spoofed(direct, f"10.0.0.{n}") for n in range(5)] == [401, 401, 401, 429, 429]
    proxied = app_for(settings, login_max_failures=3, proxy_hops=1).test_client()
    # Behind one proxy the forwarded address is the client's: a new client is a new pair.
    assert spoofed(proxied, "192.0.2.77") == 401


def test_guessing_the_current_password_counts_as_failed_logins(
    settings: Settings, owner: Account
) -> None:
    client = app_for(settings, login_max_failures=3).test_client()
    statuses = [
        client.post(
            "/api/account/password",
            json={"current_password": f"guess {n}", "new_password": uuid.uuid4().hex},
            headers=owner["headers"],
            environ_base={"REMOTE_ADDR": ATTACKER},
        ).status_code
        for n in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
