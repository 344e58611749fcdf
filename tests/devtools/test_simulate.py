"""`cartwheel simulate`: Shopify-like traffic, and the state it must converge to once ingested."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from cartwheel.cli import main
from cartwheel.commands.simulate import send_all
from core.settings import Settings
from devtools.traffic import Delivery, ExpectedState, expected_state, traffic
from models import Cart, Checkout, Customer, DeadLetter, Order, Product, WebhookEvent
from models.db import session_scope
from receiver.signature import verify_signature
from tests.support.pipeline import drain_all
from tests.support.processes import receiver_server
from tests.support.services import free_port

START = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
SHOP = {"shop": "demo-shop.myshopify.com", "secret": "s3cret"}
MODELS: dict[str, Any] = {
    "customers": Customer,
    "products": Product,
    "orders": Order,
    "carts": Cart,
    "checkouts": Checkout,
}


def take(seed: int, count: int, tenant: dict[str, Any], start: datetime = START) -> list[Delivery]:
    stream = traffic(seed, shop=tenant["shop"], secret=tenant["secret"], start=start)
    return list(islice(stream, count))


def entity_key(d: Delivery) -> tuple[str, Any]:
    body = json.loads(d.body)
    resource = d.topic.split("/")[0]
    return resource, body["token"] if resource in ("carts", "checkouts") else body["id"]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_the_same_seed_gives_the_same_traffic() -> None:
    assert take(5, 300, SHOP) == take(5, 300, SHOP)
    assert [d.webhook_id for d in take(6, 300, SHOP)] != [d.webhook_id for d in take(5, 300, SHOP)]
    later = take(5, 300, SHOP, start=datetime(2027, 1, 1, tzinfo=UTC))
    assert [(d.topic, d.webhook_id, d.kind) for d in later] == [
        (d.topic, d.webhook_id, d.kind) for d in take(5, 300, SHOP)
    ]


def test_every_delivery_is_signed_over_its_exact_bytes() -> None:
    for d in take(3, 400, SHOP):
        assert verify_signature(d.body, d.header("x-shopify-hmac-sha256"), [SHOP["secret"]])
        assert d.header("X-Shopify-Shop-Domain") == SHOP["shop"]
        assert d.header("X-SHOPIFY-TOPIC") == d.topic
        assert d.header("x-shopify-api-version") == "2026-07"
        assert isinstance(json.loads(d.body), dict)


def test_traffic_follows_journeys_across_every_resource() -> None:
    deliveries = take(3, 1500, SHOP)
    topics = Counter(d.topic for d in deliveries)
    for topic in (
        "customers/create", "customers/update", "customers/delete", "products/create",
        "products/update", "products/delete", "carts/create", "carts/update", "checkouts/create",
        "checkouts/update", "checkouts/delete", "orders/create", "orders/paid", "orders/updated",
        "orders/fulfilled", "orders/cancelled", "orders/delete",
    ):  # fmt: skip
        assert topics[topic] > 0, topic
    carts = {json.loads(d.body)["token"] for d in deliveries if d.topic.startswith("carts/")}
    checkouts = {
        json.loads(d.body)["token"]: json.loads(d.body)["cart_token"]
        for d in deliveries
        if d.topic in ("checkouts/create", "checkouts/update")
    }
    orders = [json.loads(d.body) for d in deliveries if d.topic == "orders/create"]
    assert orders
    for order in orders:  # orders link back to the checkout and cart they came from
        assert checkouts[order["checkout_token"]] == order["cart_token"]
        assert order["cart_token"] in carts


def test_ids_are_64_bit_and_many_lie_beyond_2_to_the_53() -> None:
    ids = [json.loads(d.body)["id"] for d in take(3, 600, SHOP) if not d.topic.startswith("carts/")]
    assert all(0 < i < 2**63 for i in ids)
    assert any(i > 2**53 for i in ids)
    assert any(i < 2**53 for i in ids)


def test_traffic_has_shopifys_delivery_quirks() -> None:
    deliveries = take(3, 1000, SHOP)
    by_webhook: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_webhook[d.webhook_id].append(d)
    resent = [ds for ds in by_webhook.values() if len(ds) > 1]
    assert resent, "no duplicate deliveries"
    assert all(len({d.body for d in ds}) == 1 for ds in resent)
    # Header names arrive in several spellings.
    assert (
        len({next(k for k in d.headers if k.lower() == "x-shopify-topic") for d in deliveries}) > 1
    )
    # One merchant action (placing an order) shares its event id across topics.
    topics_by_event: dict[str, set[str]] = defaultdict(set)
    for d in deliveries:
        topics_by_event[d.header("X-Shopify-Event-Id")].add(d.topic)
    assert any({"orders/create", "orders/paid"} <= t for t in topics_by_event.values())
    # Out of order: an update before its create, and an older version after a newer one.
    upserts = [d for d in deliveries if not d.topic.endswith("/delete")]
    first_topic: dict[tuple[str, Any], str] = {}
    newest: dict[tuple[str, Any], datetime] = {}
    stale = 0
    for d in upserts:
        key = entity_key(d)
        first_topic.setdefault(key, d.topic)
        updated = datetime.fromisoformat(json.loads(d.body)["updated_at"])
        if key in newest and updated < newest[key]:
            stale += 1
        newest[key] = max(newest.get(key, updated), updated)
    assert stale > 0
    assert any(not topic.endswith("/create") for topic in first_topic.values())


def assert_converged(settings: Settings, tenant_id: Any, expected: ExpectedState) -> None:
    with session_scope(settings.database_url) as s:
        for resource, model in MODELS.items():
            rows = {
                (r.token if resource in ("carts", "checkouts") else r.shopify_id): r
                for r in s.scalars(select(model).where(model.tenant_id == tenant_id))
            }
            want = expected.entities[resource]
            assert set(rows) == set(want), resource
            for key, state in want.items():
                row = rows[key]
                assert (row.deleted_at is not None) == state.deleted, (resource, key)
                # Live rows hold exactly the newest version (an order's customer whose own
                # webhook was not sent has none to compare).
                if not state.deleted and state.payload is not None:
                    assert row.payload == state.payload, (resource, key)
                    assert row.webhook_id in state.webhook_ids, (resource, key)
            if resource == "checkouts":
                for key, row in rows.items():
                    done = key in expected.completed_checkouts
                    assert row.status == ("completed" if done else "open"), key
            if resource == "carts":
                for key, row in rows.items():
                    converted = key in expected.converted_carts
                    assert row.status == ("converted" if converted else "open"), key
        logged = list(
            s.scalars(select(WebhookEvent.webhook_id).where(WebhookEvent.tenant_id == tenant_id))
        )
        assert len(logged) == len(set(logged))
        assert set(logged) == expected.webhook_ids
        assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 2026])
def test_simulated_traffic_converges_through_a_real_receiver(
    seed: int, settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    deliveries = take(seed, 800, tenant)
    kinds = Counter(d.kind for d in deliveries)
    assert kinds["duplicate"] > 0 and kinds["late"] > 0
    # Small batches, drained between chunks: late deliveries meet newer versions already committed.
    drainer = settings.with_overrides(drain_batch_size=25)
    with receiver_server(settings, tmp_path, free_port()) as base:
        for i in range(0, len(deliveries), 200):
            summary = send_all(deliveries[i : i + 200], f"{base}/webhooks", rate=5000)
            assert summary.ok, (summary.error, summary.rejected)
            assert summary.accepted == len(deliveries[i : i + 200])
            drain_all(drainer)
    assert_converged(settings, tenant["id"], expected_state(deliveries))
    with session_scope(settings.database_url) as s:
        statuses = Counter(s.scalars(select(WebhookEvent.status)))
    assert statuses["stale"] > 0  # some late deliveries did arrive after their newer version


@pytest.mark.slow
def test_simulate_command_sends_to_the_demo_tenant(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with receiver_server(settings, tmp_path, free_port()) as base:
        demo = {**tenant, "tenant_id": str(tenant["id"]), "receiver_url": base}
        (tmp_path / ".cartwheel").mkdir()
        (tmp_path / ".cartwheel" / "demo.json").write_text(json.dumps(demo, default=str))
        result = invoke("simulate", "--count", "150", "--rate", "1000", "--seed", "7")
        assert result.exit_code == 0, result.output
        assert f"for {tenant['shop']} to {base}/webhooks" in result.output
        assert "sent      150 in" in result.output
        assert "accepted  150" in result.output
        assert "rejected  0" in result.output
        drain_all(settings)
        # The CLI stamps the current time; ids, webhook ids and journeys follow the seed alone.
        expected = expected_state(take(7, 150, tenant))
        with session_scope(settings.database_url) as s:
            logged = set(s.scalars(select(WebhookEvent.webhook_id)))
            orders = {o.shopify_id: o.deleted_at is not None for o in s.scalars(select(Order))}
        assert logged == expected.webhook_ids
        assert orders == {k: e.deleted for k, e in expected.entities["orders"].items()}
        # The same seed again replays the same deliveries: all accepted, all deduplicated.
        again = invoke("simulate", "--count", "150", "--rate", "1000", "--seed", "7")
        assert again.exit_code == 0, again.output
        drain_all(settings)
    with session_scope(settings.database_url) as s:
        assert set(s.scalars(select(WebhookEvent.webhook_id))) == expected.webhook_ids


@pytest.mark.slow
def test_simulate_command_reports_rejections_and_fails(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with receiver_server(settings, tmp_path, free_port()) as base:
        result = invoke(
            "simulate", "--count", "12", "--rate", "1000", "--shop", tenant["shop"],
            "--secret", "not-the-secret", "--url", base,
        )  # fmt: skip
    assert result.exit_code == 1
    assert "accepted  0" in result.output
    assert "rejected  12 (401: 12)" in result.output
    assert "some deliveries were rejected" in result.output


def test_simulate_without_a_target_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("simulate", "--count", "3")
    assert result.exit_code == 1
    assert ".cartwheel/demo.json is missing" in result.output
    assert "--shop, --secret and --url" in result.output
    result = invoke("simulate", "--shop", "other.myshopify.com")
    assert result.exit_code == 1
    assert "--secret required" in result.output


def test_simulate_reports_an_unreachable_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke("simulate", "--shop", "x.myshopify.com", "--secret", "s", "--url", url)
    assert result.exit_code == 1
    assert f"cannot reach the receiver at {url}/webhooks" in result.output
    assert "sent      0" in result.output


@pytest.mark.parametrize("option", [("--rate", "0"), ("--count", "0"), ("--seed", "x")])
def test_simulate_rejects_bad_options(option: tuple[str, str]) -> None:
    assert invoke("simulate", *option).exit_code == 2
