"""Dead letters: listed and shown by the CLI and the dashboard API, replayed after a fix."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import func, select, text, update

from cartwheel.cli import main
from core.settings import Settings
from core.wire import StreamWriter, stream_keys
from dashboard_api import create_app
from eventlog.replay import replay_dead_letters
from models import DeadLetter, Order, OrderLineItem, WebhookEvent
from models.db import get_engine, session_scope
from tests.support.lifecycle_data import T0, order
from tests.support.pipeline import drain_all
from tests.support.webhooks import Sender

BROKEN = 7777

# Stands in for whatever made the database refuse one order (a bug, a constraint); dropping it
# is "the fix".
_BREAK = f"""
CREATE OR REPLACE FUNCTION cw_test_refuse_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.shopify_id = {BROKEN} THEN RAISE EXCEPTION 'order {BROKEN} is refused'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER cw_test_refuse_order BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION cw_test_refuse_order();
"""
_FIX = "DROP TRIGGER IF EXISTS cw_test_refuse_order ON orders"


def fix(settings: Settings) -> None:
    with get_engine(settings.database_url).begin() as conn:
        conn.execute(text(_FIX))


@pytest.fixture
def broken(settings: Settings) -> Iterator[None]:
    with get_engine(settings.database_url).begin() as conn:
        conn.execute(text(_BREAK))
    try:
        yield
    finally:
        fix(settings)


def cli(settings: Settings, *args: str) -> Result:
    result = CliRunner().invoke(main, list(args), env=settings.to_env(), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def dead_letters(settings: Settings) -> list[DeadLetter]:
    with session_scope(settings.database_url) as s:
        return list(s.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def count(settings: Settings, model: Any, *where: Any) -> int:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def dead_letter_after_a_failure(sender: Sender, settings: Settings) -> DeadLetter:
    assert (
        sender.send("orders/create", order(BROKEN, at=T0), webhook_id="wh-broken").status_code
        == 200
    )
    assert sender.send("orders/create", order(8888, at=T0), webhook_id="wh-fine").status_code == 200
    drain_all(settings)
    [dead] = dead_letters(settings)
    return dead


def test_replay_after_a_fix_goes_through_the_pipeline_once(
    broken: None, sender: Sender, settings: Settings, tenant: dict[str, Any]
) -> None:
    first = dead_letter_after_a_failure(sender, settings)
    assert (first.webhook_id, first.topic) == ("wh-broken", "orders/create")
    assert "refused" in first.error
    assert count(settings, Order) == 1  # the rest of the batch went through

    listed = [
        json.loads(line)
        for line in cli(
            settings, "events", "list", "--status", "dead", "--json"
        ).output.splitlines()
    ]
    assert [(r["kind"], r["dead_letter_id"], r["status"]) for r in listed] == [
        ("dead_letter", first.id, "dead")
    ]
    shown = cli(settings, "events", "show", str(first.id), "--body").output
    assert f"order {BROKEN} is refused" in shown and '"id": 7777' in shown
    both = cli(
        settings, "events", "list", "--tenant", tenant["shop"], "--topic", "orders/create"
    ).output
    assert "wh-broken" in both and "wh-fine" in both

    # Replayed before the fix: it fails again and comes back as a new dead letter.
    assert "replayed 1" in cli(settings, "events", "replay", str(first.id)).output
    drain_all(settings)
    first_again, second = dead_letters(settings)
    assert first_again.replayed_at is not None and second.replayed_at is None
    assert (second.webhook_id, second.body, second.received_at) == (
        "wh-broken",
        first.body,
        first.received_at,
    )

    fix(settings)
    assert (
        "replayed 1"
        in cli(settings, "events", "replay", "--all", "--tenant", tenant["shop"]).output
    )
    assert drain_all(settings) == 1
    assert count(settings, Order, Order.shopify_id == BROKEN) == 1
    with session_scope(settings.database_url) as s:
        event = s.get(WebhookEvent, (tenant["id"], "wh-broken"))
        assert event is not None and event.status == "applied"
        assert event.received_at.isoformat() == first.received_at

    # Again: nothing to do. Even forced back onto the streams, the event log dedups it.
    assert (
        "skipped (already replayed, or not found): #"
        in cli(settings, "events", "replay", str(second.id)).output
    )
    assert drain_all(settings) == 0
    lines = count(settings, OrderLineItem)
    with session_scope(settings.database_url) as s:
        s.execute(update(DeadLetter).values(replayed_at=None))
    cli(settings, "events", "replay", "--all")
    assert drain_all(settings) == 2
    assert count(settings, WebhookEvent, WebhookEvent.webhook_id == "wh-broken") == 1
    assert (count(settings, Order), count(settings, OrderLineItem)) == (2, lines)
    assert len(dead_letters(settings)) == 2


def test_events_cli_rejects_bad_input(settings: Settings) -> None:
    runner = CliRunner()
    env = settings.to_env()
    assert runner.invoke(main, ["events", "replay"], env=env).exit_code == 2
    assert runner.invoke(main, ["events", "list", "--since", "yesterday"], env=env).exit_code == 2
    assert (
        runner.invoke(
            main, ["events", "list", "--tenant", "nobody.myshopify.com"], env=env
        ).exit_code
        == 1
    )
    missing = runner.invoke(main, ["events", "show", "no-such-webhook"], env=env)
    assert missing.exit_code == 1 and "no event or dead letter" in missing.output


def test_two_replays_at_once_enqueue_a_dead_letter_once(
    broken: None, sender: Sender, settings: Settings, redis_client: redis.Redis
) -> None:
    dead = dead_letter_after_a_failure(sender, settings)
    writer = StreamWriter(redis_client, settings)
    with session_scope(settings.database_url) as one, session_scope(settings.database_url) as two:
        first = replay_dead_letters(one, writer, now=datetime.now(UTC), ids=[dead.id])
        second = replay_dead_letters(two, writer, now=datetime.now(UTC), ids=[dead.id])
    assert (first.replayed, second.replayed, second.skipped) == ([dead.id], [], [dead.id])
    assert sum(redis_client.xlen(k) for k in stream_keys(settings)) == 1


def api_sender(client: FlaskClient, owner: dict[str, Any]) -> Sender:
    return Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])


def test_owners_and_admins_list_and_replay_their_dead_letters(
    broken: None,
    client: FlaskClient,
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_owner: Callable[..., dict[str, Any]],
    make_user: Callable[..., dict[str, Any]],
    settings: Settings,
) -> None:
    dead = dead_letter_after_a_failure(api_sender(client, owner), settings)
    admin, analyst, stranger = make_user("admin"), make_user("analyst"), make_owner()

    listed = api_client.get("/api/dead-letters?status=dead", headers=admin["headers"])
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert (item["id"], item["webhook_id"], item["status"]) == (dead.id, "wh-broken", "dead")
    detail = api_client.get(f"/api/dead-letters/{dead.id}", headers=owner["headers"]).get_json()
    assert detail["body"]["id"] == BROKEN and "refused" in detail["error"]

    assert api_client.get("/api/dead-letters", headers=analyst["headers"]).status_code == 403
    assert api_client.get("/api/dead-letters", headers=stranger["headers"]).get_json() == {
        "items": []
    }
    for path in (f"/api/dead-letters/{dead.id}", f"/api/dead-letters/{2**70}"):
        assert api_client.get(path, headers=stranger["headers"]).status_code == 404
    assert (
        api_client.post(
            f"/api/dead-letters/{dead.id}/replay", headers=stranger["headers"]
        ).status_code
        == 404
    )
    assert (
        api_client.post(
            f"/api/dead-letters/{dead.id}/replay", headers=analyst["headers"]
        ).status_code
        == 403
    )

    fix(settings)
    replayed = api_client.post(f"/api/dead-letters/{dead.id}/replay", headers=admin["headers"])
    assert (replayed.status_code, replayed.get_json()) == (
        202,
        {"replayed": [dead.id], "skipped": []},
    )
    again = api_client.post(
        "/api/dead-letters/replay", json={"ids": [dead.id]}, headers=owner["headers"]
    )
    assert again.get_json() == {"replayed": [], "skipped": [dead.id]}
    assert api_client.post(
        "/api/dead-letters/replay", json={"all": True}, headers=owner["headers"]
    ).get_json() == {
        "replayed": [],
        "skipped": [],
    }
    assert drain_all(settings) == 1
    assert count(settings, Order, Order.shopify_id == BROKEN) == 1
    replayed_list = api_client.get("/api/dead-letters?status=replayed", headers=admin["headers"])
    assert [i["id"] for i in replayed_list.get_json()["items"]] == [dead.id]


def test_a_replay_past_the_shops_share_is_429_and_replays_nothing(
    broken: None,
    client: FlaskClient,
    owner: dict[str, Any],
    settings: Settings,
) -> None:
    sender = api_sender(client, owner)
    dead = dead_letter_after_a_failure(sender, settings)
    fix(settings)
    # One delivery waits in the shop's shard; a shop allowed one un-drained entry is at its share.
    assert sender.send("orders/create", order(6666, at=T0), webhook_id="wh-wait").status_code == 200
    app = create_app(replace(settings, tenant_backlog_max=1))
    app.testing = True
    refused = app.test_client().post(
        f"/api/dead-letters/{dead.id}/replay", headers=owner["headers"]
    )
    assert refused.status_code == 429, refused.get_json()
    assert refused.get_json()["error"] == "throttled" and int(refused.headers["Retry-After"]) >= 1
    assert [d.replayed_at for d in dead_letters(settings)] == [None]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": []},
        {"ids": [1], "all": True},
        {"ids": ["x"]},
        {"all": True, "since": "soon"},
        {"all": True, "limit": 0},
    ],
)
def test_replay_requests_that_make_no_sense_answer_400(
    api_client: FlaskClient, owner: dict[str, Any], body: dict[str, Any]
) -> None:
    response = api_client.post("/api/dead-letters/replay", json=body, headers=owner["headers"])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
