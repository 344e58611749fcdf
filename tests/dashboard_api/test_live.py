"""GET /api/live: each commit that changes a shop's data reaches that shop's streams, and no
other's; a stream that comes back with its last event id misses nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from core import versions
from core.settings import Settings
from core.versions import Change, bump_versions, live_feed, tenant_version
from dashboard_api import live
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.sse import EventStream
from tests.support.webhooks import Sender

Account = dict[str, Any]


def an_order(client: FlaskClient, account: Account) -> float:
    """One orders/create delivered to the receiver; returns when it was sent (epoch s)."""
    order = sample_json("orders_create") | {"id": uuid.uuid4().int >> 70}
    sent = time.time()
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    assert sender.send("orders/create", order).status_code == 200
    return sent


def test_a_delivered_order_reaches_its_shops_stream_and_no_other(
    dashboard_url: str,
    client: FlaskClient,
    settings: Settings,
    redis_client: redis.Redis,
    make_owner: Any,
) -> None:
    mine, other = make_owner(), make_owner()
    url = f"{dashboard_url}/api/live"
    with (
        EventStream(url, mine["headers"]) as stream,
        EventStream(url, other["headers"]) as others,
    ):
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        assert stream.response.headers["Cache-Control"] == "no-store"
        assert stream.next_named("ready").id
        others.next_named("ready")
        sent = an_order(client, mine)
        drain_all(settings)

        event = stream.next_named("change")
        change = event.data["change"]
        assert change["topics"] == ["orders/create"]
        assert change["accepted_at"] >= sent - 1
        assert event.data["version"] == tenant_version(
            redis_client, settings.namespace, mine["tenant_id"]
        )
        assert others.nothing_within(1.0)


def test_a_stream_that_comes_back_gets_what_it_missed(
    dashboard_url: str, client: FlaskClient, settings: Settings, owner: Account
) -> None:
    url = f"{dashboard_url}/api/live"
    with EventStream(url, owner["headers"]) as stream:
        last = stream.next_named("ready").id
    for _ in range(3):  # three commits while the browser is away
        an_order(client, owner)
        drain_all(settings)
    with EventStream(url, owner["headers"] | {"Last-Event-ID": str(last)}) as again:
        versions = [again.next_named("change").data["version"] for _ in range(3)]
        assert versions == sorted(versions) and len(set(versions)) == 3
        assert again.nothing_within(0.5)
    # The query parameter does the same (a new EventSource cannot set the header).
    with EventStream(f"{url}?last_event_id={last}", owner["headers"]) as third:
        assert third.next_named("change").data["version"] == versions[0]


def test_a_stream_too_far_behind_is_told_to_reload(
    dashboard_url: str,
    settings: Settings,
    redis_client: redis.Redis,
    owner: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(versions, "LIVE_FEED_LENGTH", 5)
    feed = live_feed(settings.namespace)
    bump_versions(redis_client, settings.namespace, [owner["tenant_id"]])
    seen = redis_client.xrange(feed, count=1)[0][0].decode()  # the browser saw this one
    for _ in range(10):  # and missed these, more than the feed keeps
        bump_versions(redis_client, settings.namespace, [owner["tenant_id"]])
    assert redis_client.xlen(feed) <= 6
    with EventStream(f"{dashboard_url}/api/live?last_event_id={seen}", owner["headers"]) as s:
        assert s.next_named("reset").id
        # It goes on from there: the next change comes as usual.
        bump_versions(
            redis_client,
            settings.namespace,
            (),
            changes={owner["tenant_id"]: Change(frozenset({"orders/paid"}), time.time())},
        )
        assert s.next_named("change").data["change"]["topics"] == ["orders/paid"]
    # One that missed fewer than the feed keeps is caught up instead.
    kept = redis_client.xrange(feed)[-3][0].decode()
    with EventStream(f"{dashboard_url}/api/live?last_event_id={kept}", owner["headers"]) as s:
        assert [s.next_named("change").id for _ in range(2)] == [
            e[0].decode() for e in redis_client.xrange(feed)[-2:]
        ]


def test_a_bad_last_event_id_or_no_token_is_refused(dashboard_url: str, owner: Account) -> None:
    url = f"{dashboard_url}/api/live"
    bad = EventStream(f"{url}?last_event_id=latest", owner["headers"])
    assert bad.status == 400
    assert "last_event_id" in bad.json()["fields"]
    header = EventStream(url, owner["headers"] | {"Last-Event-ID": "1-2-3"})
    assert header.status == 400
    assert "Last-Event-ID" in header.json()["fields"]
    assert EventStream(url).status == 401


def test_a_stream_ends_when_its_session_is_ended(
    dashboard_url: str, api_client: FlaskClient, owner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "KEEPALIVE", 0.2)
    with EventStream(f"{dashboard_url}/api/live", owner["headers"]) as stream:
        stream.next_named("ready")
        ended = api_client.post(
            "/logout", json={"refresh_token": owner["refresh_token"]}, headers=owner["headers"]
        )
        assert ended.status_code == 204
        assert stream.next_named("expired", timeout=15)
        assert stream.next(timeout=5) is None  # and the server closed it
