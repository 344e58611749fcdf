"""Abandonment sweeps over data that arrived through the receiver and the drain."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select

from core.settings import Settings
from models import Cart, Checkout
from models.db import session_scope
from tests.support.lifecycle_data import (
    T0,
    cart,
    checkout,
    minutes,
    order,
    send,
    sender_for,
    set_tenant,
)
from tests.support.webhooks import Sender
from workers.abandonment.sweeps import abandon_checkouts, sweep_abandoned
from workers.runtime import Resources


def checkout_row(settings: Settings, tenant_id: uuid.UUID, token: str) -> Checkout:
    with session_scope(settings.database_url) as s:
        row = s.scalar(
            select(Checkout).where(Checkout.tenant_id == tenant_id, Checkout.token == token)
        )
        assert row is not None
        return row


def cart_row(settings: Settings, tenant_id: uuid.UUID, token: str) -> Cart:
    with session_scope(settings.database_url) as s:
        row = s.scalar(select(Cart).where(Cart.tenant_id == tenant_id, Cart.token == token))
        assert row is not None
        return row


def sweep(settings: Settings, at: datetime) -> dict[str, int]:
    return sweep_abandoned(Resources(settings), now=at)


def test_checkout_is_abandoned_after_the_window_and_recovered_by_a_later_order(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(sender, settings, ("checkouts/create", checkout("c1", at=T0)))

    assert sweep(settings, T0 + minutes(59)) == {"checkouts": 0, "carts": 0}
    assert checkout_row(settings, tenant["id"], "c1").status == "open"

    assert sweep(settings, T0 + minutes(61))["checkouts"] == 1
    row = checkout_row(settings, tenant["id"], "c1")
    assert (row.status, row.abandoned_at) == ("abandoned", T0 + minutes(60))
    assert sweep(settings, T0 + minutes(62))["checkouts"] == 0

    send(sender, settings, ("orders/create", order(1001, at=T0 + minutes(90), checkout_token="c1")))
    row = checkout_row(settings, tenant["id"], "c1")
    assert row.status == "recovered"
    assert row.abandoned_at == T0 + minutes(60)
    assert row.recovered_at is not None and row.completed_at is not None


def test_each_tenant_has_its_own_window(
    client: FlaskClient, settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    quick, slow = make_tenant(), make_tenant()
    set_tenant(settings, quick["id"], checkout_abandon_minutes=30)
    for t in (quick, slow):
        send(sender_for(client, t), settings, ("checkouts/create", checkout("c", at=T0)))

    assert sweep(settings, T0 + minutes(45))["checkouts"] == 1
    assert checkout_row(settings, quick["id"], "c").abandoned_at == T0 + minutes(30)
    assert checkout_row(settings, slow["id"], "c").status == "open"

    assert sweep(settings, T0 + minutes(61))["checkouts"] == 1
    assert checkout_row(settings, slow["id"], "c").abandoned_at == T0 + minutes(60)


def test_order_arriving_before_its_checkout_completes_it_for_good(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(sender, settings, ("orders/create", order(2001, at=T0 + minutes(5), checkout_token="c2")))
    send(sender, settings, ("checkouts/create", checkout("c2", at=T0)))
    assert checkout_row(settings, tenant["id"], "c2").status == "completed"

    sweep(settings, T0 + minutes(600))
    row = checkout_row(settings, tenant["id"], "c2")
    assert (row.status, row.abandoned_at, row.recovered_at) == ("completed", None, None)


def test_checkout_completed_in_time_is_never_abandoned(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(sender, settings, ("checkouts/create", checkout("c3", at=T0)))
    send(
        sender,
        settings,
        (
            "checkouts/update",
            checkout("c3", at=T0, updated=T0 + minutes(20), completed=T0 + minutes(20)),
        ),
    )
    sweep(settings, T0 + minutes(600))
    assert checkout_row(settings, tenant["id"], "c3").status == "completed"


def test_late_or_stale_updates_never_move_an_abandoned_checkout_back(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(sender, settings, ("checkouts/create", checkout("c4", at=T0, updated=T0 + minutes(10))))
    sweep(settings, T0 + minutes(75))
    assert checkout_row(settings, tenant["id"], "c4").abandoned_at == T0 + minutes(70)

    # An older version delivered late, then a newer one that still does not complete it.
    send(sender, settings, ("checkouts/update", checkout("c4", at=T0, updated=T0 + minutes(5))))
    send(sender, settings, ("checkouts/update", checkout("c4", at=T0, updated=T0 + minutes(80))))
    sweep(settings, T0 + minutes(200))
    row = checkout_row(settings, tenant["id"], "c4")
    assert (row.status, row.abandoned_at, row.updated_at) == (
        "abandoned",
        T0 + minutes(70),
        T0 + minutes(80),
    )

    done = checkout("c4", at=T0, updated=T0 + minutes(210), completed=T0 + minutes(210))
    send(sender, settings, ("checkouts/update", done))
    # A stale, uncompleted version after the recovery changes nothing either.
    send(sender, settings, ("checkouts/update", checkout("c4", at=T0, updated=T0 + minutes(100))))
    sweep(settings, T0 + minutes(900))
    row = checkout_row(settings, tenant["id"], "c4")
    assert (row.status, row.abandoned_at) == ("recovered", T0 + minutes(70))


def test_cart_is_abandoned_without_a_follower_and_converted_by_a_later_checkout(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(sender, settings, ("carts/create", cart("k1", at=T0)))
    assert sweep(settings, T0 + minutes(59))["carts"] == 0
    assert sweep(settings, T0 + minutes(61))["carts"] == 1
    row = cart_row(settings, tenant["id"], "k1")
    assert (row.status, row.abandoned_at) == ("abandoned", T0 + minutes(60))

    send(
        sender,
        settings,
        ("checkouts/create", checkout("c5", at=T0 + minutes(120), cart_token="k1")),
    )
    row = cart_row(settings, tenant["id"], "k1")
    assert row.status == "converted" and row.converted_at is not None


def test_carts_followed_in_time_or_still_active_are_not_abandoned(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(
        sender,
        settings,
        ("carts/create", cart("ordered", at=T0)),
        ("orders/create", order(3001, at=T0 + minutes(10), cart_token="ordered")),
        # The checkout arrives before its cart.
        ("checkouts/create", checkout("c6", at=T0 + minutes(5), cart_token="early")),
        ("carts/create", cart("early", at=T0)),
        ("carts/update", cart("busy", at=T0, updated=T0 + minutes(50))),
    )
    sweep(settings, T0 + minutes(70))
    statuses = {t: cart_row(settings, tenant["id"], t).status for t in ("ordered", "early", "busy")}
    assert statuses == {"ordered": "converted", "early": "converted", "busy": "open"}

    sweep(settings, T0 + minutes(111))
    assert cart_row(settings, tenant["id"], "busy").abandoned_at == T0 + minutes(110)


def test_uninstalled_tenants_are_not_swept(
    sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    send(
        sender,
        settings,
        ("checkouts/create", checkout("c7", at=T0)),
        ("carts/create", cart("k7", at=T0)),
    )
    set_tenant(settings, tenant["id"], status="uninstalled")
    assert sweep(settings, T0 + minutes(600)) == {"checkouts": 0, "carts": 0}
    assert checkout_row(settings, tenant["id"], "c7").status == "open"


def _open_checkouts(settings: Settings, tenant_id: uuid.UUID, n: int, prefix: str = "b") -> None:
    """Bulk rows for the scale tests (the per-row path is covered above)."""
    rows = [
        {"tenant_id": tenant_id, "token": f"{prefix}{i}", "created_at": T0, "updated_at": T0}
        for i in range(n)
    ]
    with session_scope(settings.database_url) as s:
        s.execute(insert(Checkout), rows)


def test_one_tenants_backlog_does_not_stall_the_others(
    settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    big = make_tenant()
    small = [make_tenant() for _ in range(4)]
    _open_checkouts(settings, big["id"], 2000)
    for t in small:
        _open_checkouts(settings, t["id"], 3)

    with session_scope(settings.database_url) as s:
        first = abandon_checkouts(s, now=T0 + minutes(61), tenants=10, per_tenant=100)
    assert first.counts[big["id"]] == 100
    assert all(first.counts[t["id"]] == 3 for t in small)
    assert first.full and first.cursor is None

    # Groups of two tenants at a time still reach every tenant, and passes finish the backlog.
    narrow = settings.with_overrides(sweep_tenants_per_batch=2, sweep_rows_per_tenant=300)
    assert sweep_abandoned(Resources(narrow), now=T0 + minutes(61))["checkouts"] == 1900
    with session_scope(settings.database_url) as s:
        left = s.scalar(select(func.count()).select_from(Checkout).where(Checkout.status == "open"))
    assert left == 0


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_two_sweeps_at_once_abandon_each_row_exactly_once(
    settings: Settings, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    tenants = [make_tenant() for _ in range(3)]
    for t in tenants:
        _open_checkouts(settings, t["id"], 500)
    small = settings.with_overrides(sweep_rows_per_tenant=40, sweep_tenants_per_batch=2)
    rows_before = _sample("cartwheel_sweep_rows_total", sweep="checkouts")
    runs_before = _sample("cartwheel_sweep_seconds_count", sweep="checkouts")

    results: list[dict[str, int]] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(sweep_abandoned(Resources(small), now=T0 + minutes(61)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    assert len(results) == 2
    assert sum(r["checkouts"] for r in results) == 1500
    with session_scope(settings.database_url) as s:
        by_status = dict(
            s.execute(select(Checkout.status, func.count()).group_by(Checkout.status)).all()
        )
        stamped = s.scalar(select(func.count()).where(Checkout.abandoned_at == T0 + minutes(60)))
    assert by_status == {"abandoned": 1500}
    assert stamped == 1500
    assert _sample("cartwheel_sweep_rows_total", sweep="checkouts") - rows_before == 1500
    assert _sample("cartwheel_sweep_seconds_count", sweep="checkouts") - runs_before == 2


def test_owners_and_admins_change_the_window_and_the_next_sweep_uses_it(
    client: FlaskClient,
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_user: Callable[..., dict[str, Any]],
    settings: Settings,
) -> None:
    admin, analyst = make_user("admin"), make_user("analyst")
    path = "/api/tenant/lifecycle"
    assert api_client.get(path, headers=analyst["headers"]).get_json() == {
        "checkout_abandon_minutes": 60,
        "raw_retention_days": 30,
        "dead_letter_retention_days": 30,
        "pii_retention_days": 90,
    }
    assert (
        api_client.patch(
            path, json={"checkout_abandon_minutes": 5}, headers=analyst["headers"]
        ).status_code
        == 403
    )
    for bad in (
        {},
        {"checkout_abandon_minutes": 0},
        {"raw_retention_days": "soon"},
        {"checkout_abandon_minutes": 10**9},
    ):
        answer = api_client.patch(path, json=bad, headers=owner["headers"])
        assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid_request"), bad

    changed = api_client.patch(
        path, json={"checkout_abandon_minutes": 15}, headers=admin["headers"]
    )
    assert changed.status_code == 200
    assert changed.get_json()["checkout_abandon_minutes"] == 15
    assert changed.get_json()["raw_retention_days"] == 30
    retention = api_client.patch(path, json={"raw_retention_days": 90}, headers=owner["headers"])
    assert retention.get_json()["checkout_abandon_minutes"] == 15
    assert retention.get_json()["raw_retention_days"] == 90

    shop = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    send(shop, settings, ("checkouts/create", checkout("w", at=T0)))
    assert sweep(settings, T0 + minutes(16))["checkouts"] == 1
    assert checkout_row(settings, uuid.UUID(owner["tenant_id"]), "w").abandoned_at == T0 + minutes(
        15
    )
