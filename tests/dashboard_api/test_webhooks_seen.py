"""What an operator sees of the shop's deliveries: topics left unhandled and API versions
Shopify no longer supports, in the dashboard API and the receiver's metrics."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, text

import resources
from core.settings import Settings
from dashboard_api import create_app
from models import InventoryLevel
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.samples import SAMPLES
from tests.support.webhooks import Sender

LEVEL = (SAMPLES / "2026-04" / "inventory_levels_update.json").read_bytes()


def test_unhandled_topics_and_old_api_versions_are_visible(
    client: FlaskClient,
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_user: Callable[..., dict[str, Any]],
    make_owner: Callable[..., dict[str, Any]],
    settings: Settings,
) -> None:
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    old = {"X-Shopify-API-Version": "2024-01"}
    assert sender.send("discounts/create", {"id": 1}, **old).status_code == 200
    assert sender.send("discounts/create", {"id": 2}, **old).status_code == 200
    assert sender.send("inventory_levels/update", LEVEL, webhook_id="wh-level").status_code == 200
    drain_all(settings)

    analyst, stranger = make_user("analyst"), make_owner()
    seen = api_client.get("/api/webhooks/seen", headers=analyst["headers"])
    assert seen.status_code == 200
    body = seen.get_json()
    assert body["unhandled_topics"] == ["discounts/create"]
    assert body["unsupported_api_versions"] == ["2024-01"]
    by_topic = {(i["topic"], i["api_version"]): i for i in body["items"]}
    assert by_topic[("discounts/create", "2024-01")] | {"last_received_at": None} == {
        "topic": "discounts/create",
        "api_version": "2024-01",
        "deliveries": 2,
        "unhandled": 2,
        "handled": False,
        "api_version_supported": False,
        "last_received_at": None,
    }
    level = by_topic[("inventory_levels/update", "2026-07")]
    assert (level["deliveries"], level["unhandled"], level["handled"]) == (1, 0, True)
    assert (
        api_client.get("/api/webhooks/seen", headers=stranger["headers"]).get_json()["items"] == []
    )
    assert api_client.get("/api/webhooks/seen?days=0", headers=owner["headers"]).status_code == 400

    metrics = client.get("/metrics").get_data(as_text=True)
    assert (
        'cartwheel_webhook_api_versions_total{api_version="2024-01",supported="false"}' in metrics
    )
    assert 'outcome="unhandled",topic="discounts/create"' in metrics or (
        'topic="discounts/create",outcome="unhandled"' in metrics
    )


def test_an_admin_replays_what_is_handled_now(
    client: FlaskClient,
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_user: Callable[..., dict[str, Any]],
    settings: Settings,
) -> None:
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    assert sender.send("inventory_levels/update", LEVEL, webhook_id="wh-level").status_code == 200
    assert sender.send("discounts/create", {"id": 1}).status_code == 200
    drain_all(settings)
    # As a release that did not handle inventory levels yet would have recorded it.
    with session_scope(settings.database_url) as s:
        s.execute(
            text("UPDATE webhook_events SET status = 'unhandled' WHERE webhook_id = 'wh-level'")
        )
        s.execute(text("DELETE FROM inventory_levels"))

    analyst, admin = make_user("analyst"), make_user("admin")
    path = "/api/webhooks/unhandled/replay"
    assert api_client.post(path, json={}, headers=analyst["headers"]).status_code == 403
    assert api_client.post(path, json={"limit": 0}, headers=admin["headers"]).status_code == 400
    replayed = api_client.post(path, json={}, headers=admin["headers"])
    assert (replayed.status_code, replayed.get_json()) == (
        202,
        {"replayed": ["wh-level"], "left": 1},
    )
    drain_all(settings)
    with session_scope(settings.database_url) as s:
        [level] = s.scalars(select(InventoryLevel))
    assert level.location_id == 24826418
    again = api_client.post(path, json={}, headers=owner["headers"]).get_json()
    assert again == {"replayed": [], "left": 1}


def test_the_subscriptions_cover_every_topic_the_receiver_takes(
    settings: Settings, owner: dict[str, Any]
) -> None:
    app = create_app(settings.with_overrides(receiver_public_url="https://ingest.example.com/"))
    answer = app.test_client().get("/api/webhooks/subscriptions", headers=owner["headers"])
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["receiver_url"] == "https://ingest.example.com/"
    subscribed = {t for s in body["subscriptions"] for t in s["topics"]}
    assert subscribed == set(resources.TOPICS)
    for sub in body["subscriptions"]:
        path = sub["uri"].removeprefix("https://ingest.example.com/webhooks").strip("/")
        assert all(resources.path_accepts(path, t) or path == "" for t in sub["topics"]), sub
    parsed = tomllib.loads(body["app_toml"])
    assert parsed["webhooks"]["api_version"] == body["api_version"]
    in_toml = [
        s.get("topics") or s["compliance_topics"] for s in parsed["webhooks"]["subscriptions"]
    ]
    assert in_toml == [s["topics"] for s in body["subscriptions"]]
