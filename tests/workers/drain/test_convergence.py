"""Property: any shuffled mix of versions, redeliveries and deletes converges to the newest state.

Each example registers a fresh tenant (the pipeline commits, and the tables are only wiped after
the whole test), posts its deliveries through the real receiver in a random order, drains them in
one or several rounds with a random batch size, and compares the tenant's rows with what the
newest versions say.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import hypothesis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from sqlalchemy import select

from core.settings import Settings
from models import (
    Checkout,
    CheckoutTombstone,
    Customer,
    DeadLetter,
    Fulfillment,
    FulfillmentLineItem,
    Order,
    OrderLineItem,
    OrderTransaction,
    Product,
    ProductVariant,
    Refund,
    RefundLineItem,
    WebhookEvent,
)
from models.db import session_scope
from tests.support.faults_versions import (
    BASE,
    CHECKOUT_ID,
    FIRST_ID,
    Delivery,
    Entity,
    Scenario,
    checkout,
    newest_copies,
    order,
    render,
    scenarios,
)
from tests.support.pipeline import drain_all
from tests.support.webhooks import Sender


def deliver(sender: Sender, d: Delivery) -> None:
    headers = {"X-Shopify-Triggered-At": d.triggered_at}
    response = sender.send(d.topic, d.payload, path=d.path, webhook_id=d.webhook_id, **headers)
    assert response.status_code == 200, response.get_json()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def tenant_rows(settings: Settings, model: Any, tenant_id: Any) -> list[Any]:
    with session_scope(settings.database_url) as s:
        return list(s.scalars(select(model).where(model.tenant_id == tenant_id)))


def expect_versioned(row: Any, entity: Entity) -> None:
    newest = entity.newest
    assert row.webhook_id == newest.webhook_id
    assert row.updated_at == instant(newest.payload["updated_at"])
    assert row.triggered_at == instant(newest.triggered_at)
    assert row.payload == newest.payload
    assert row.deleted_at == entity.deleted_at


def check_state(settings: Settings, tenant_id: Any, scenario: Scenario) -> None:
    by_resource: dict[str, dict[Any, Entity]] = {}
    for e in scenario.entities:
        by_resource.setdefault(e.resource, {})[e.ident] = e

    customers = {r.shopify_id: r for r in tenant_rows(settings, Customer, tenant_id)}
    assert customers.keys() == by_resource["customers"].keys()
    for ident, e in by_resource["customers"].items():
        expect_versioned(customers[ident], e)
        assert customers[ident].email == e.newest.payload["email"]

    products = {r.shopify_id: r for r in tenant_rows(settings, Product, tenant_id)}
    assert products.keys() == by_resource["products"].keys()
    for ident, e in by_resource["products"].items():
        expect_versioned(products[ident], e)
        assert products[ident].title == e.newest.payload["title"]
    variants = {
        (v.shopify_id, v.product_id, v.title, v.price)
        for v in tenant_rows(settings, ProductVariant, tenant_id)
    }
    assert variants == {
        (v["id"], ident, v["title"], Decimal(v["price"]))
        for ident, e in by_resource["products"].items()
        for v in e.newest.payload["variants"]
    }

    [o] = tenant_rows(settings, Order, tenant_id)
    [order_entity] = by_resource["orders"].values()
    expect_versioned(o, order_entity)
    newest_order = order_entity.newest.payload
    assert (o.financial_status, o.total_price) == (
        newest_order["financial_status"],
        Decimal(newest_order["total_price"]),
    )
    lines = {
        (li.shopify_id, li.order_id, li.quantity, li.price)
        for li in tenant_rows(settings, OrderLineItem, tenant_id)
    }
    assert lines == {
        (li["id"], o.shopify_id, li["quantity"], Decimal(li["price"]))
        for li in newest_order["line_items"]
    }

    [chk] = tenant_rows(settings, Checkout, tenant_id)
    [checkout_entity] = by_resource["checkouts"].values()
    expect_versioned(chk, checkout_entity)
    assert chk.email == checkout_entity.newest.payload["email"]
    assert chk.status == "completed"  # its order exists, whichever arrived first
    tombstones = [t.deleted_at for t in tenant_rows(settings, CheckoutTombstone, tenant_id)]
    assert tombstones == ([checkout_entity.deleted_at] if checkout_entity.delete else [])
    check_money(settings, tenant_id, scenario)


def check_money(settings: Settings, tenant_id: Any, scenario: Scenario) -> None:
    """Refunds (their lines and transactions) and fulfillments (their lines) hold their newest
    copy, whether it came on their own topic or inside an order version."""
    winners = newest_copies(scenario)
    refunds = {r.shopify_id: r for r in tenant_rows(settings, Refund, tenant_id)}
    want = {k: c for (resource, k), c in winners.items() if resource == "refunds"}
    assert refunds.keys() == want.keys()
    for k, c in want.items():
        line, paid = c.payload["refund_line_items"][0], c.payload["transactions"][0]
        assert (refunds[k].webhook_id, refunds[k].payload) == (c.webhook_id, c.payload)
        assert (refunds[k].total_refunded, refunds[k].total_refunded_presentment) == (
            Decimal(line["subtotal"]),
            Decimal(paid["amount"]),
        )
    lines = tenant_rows(settings, RefundLineItem, tenant_id)
    assert {(li.shopify_id, li.refund_id, li.line_item_id, li.quantity) for li in lines} == {
        (x["id"], k, x["line_item_id"], x["quantity"])
        for k, c in want.items()
        for x in c.payload["refund_line_items"]
    }
    transactions = tenant_rows(settings, OrderTransaction, tenant_id)
    assert {
        (t.shopify_id, t.refund_id, t.amount, t.currency, t.webhook_id) for t in transactions
    } == {
        (t["id"], k, Decimal(t["amount"]), t["currency"], c.webhook_id)
        for k, c in want.items()
        for t in c.payload["transactions"]
    }
    shipped = {f.shopify_id: f for f in tenant_rows(settings, Fulfillment, tenant_id)}
    sent = {k: c for (resource, k), c in winners.items() if resource == "fulfillments"}
    assert shipped.keys() == sent.keys()
    for k, c in sent.items():
        row = shipped[k]
        assert (row.webhook_id, row.payload) == (c.webhook_id, c.payload)
        assert (row.shipment_status, row.tracking_numbers) == (
            c.payload["shipment_status"],
            c.payload["tracking_numbers"],
        )
    fulfilled = tenant_rows(settings, FulfillmentLineItem, tenant_id)
    assert {(f.fulfillment_id, f.line_item_id, f.quantity) for f in fulfilled} == {
        (k, x["id"], x["quantity"]) for k, c in sent.items() for x in c.payload["line_items"]
    }


@hypothesis.settings(
    max_examples=30,
    deadline=None,
    # The fixtures only give a receiver client and a tenant factory; each example makes its
    # own tenant, so nothing an example writes is seen by the next one.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_any_delivery_order_converges_to_the_newest_versions(
    scenario: Scenario,
    settings: Settings,
    client: FlaskClient,
    make_tenant: Callable[..., dict[str, Any]],
) -> None:
    tenant = make_tenant()
    sender = Sender(client, shop=tenant["shop"], secret=tenant["secret"])
    drain_settings = settings.with_overrides(drain_batch_size=scenario.batch_size)
    bounds = [0, *scenario.splits, len(scenario.sequence)]
    for start, end in itertools.pairwise(bounds):
        for d in scenario.sequence[start:end]:
            deliver(sender, d)
        drain_all(drain_settings)

    check_state(settings, tenant["id"], scenario)
    logged = [e.webhook_id for e in tenant_rows(settings, WebhookEvent, tenant["id"])]
    assert sorted(logged) == sorted({d.webhook_id for d in scenario.sequence})
    assert tenant_rows(settings, DeadLetter, tenant["id"]) == []


def _deliver_in_order(
    client: FlaskClient, tenant: dict[str, Any], deliveries: list[tuple[str, dict[str, Any]]]
) -> None:
    sender = Sender(client, shop=tenant["shop"], secret=tenant["secret"])
    for topic, payload in deliveries:
        assert sender.send(topic, payload).status_code == 200


def test_checkout_completion_time_does_not_depend_on_arrival_order(
    settings: Settings, client: FlaskClient, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    early, late = checkout(CHECKOUT_ID, 0, 0, []), checkout(CHECKOUT_ID, 1, 0, [])
    early["updated_at"], late["updated_at"] = "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"
    placed = order(FIRST_ID["orders"], 0, 0, [0])
    seen = []
    for sequence in (
        [("orders/create", placed), ("checkouts/create", early), ("checkouts/update", late)],
        [("checkouts/create", early), ("checkouts/update", late), ("orders/create", placed)],
    ):
        tenant = make_tenant()
        _deliver_in_order(client, tenant, sequence)
        drain_all(settings.with_overrides(drain_batch_size=1))
        [chk] = tenant_rows(settings, Checkout, tenant["id"])
        seen.append((chk.status, chk.completed_at))
    assert seen[0] == seen[1]


def test_customer_known_only_from_orders_converges(
    settings: Settings, client: FlaskClient, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    versions = []
    for u, email in ((0, "old@example.com"), (1, "new@example.com")):
        payload = order(FIRST_ID["orders"], u, 0, [0])
        payload["updated_at"] = render(BASE + timedelta(minutes=u), UTC)
        payload["customer"] = payload["customer"] | {
            "email": email,
            "updated_at": payload["updated_at"],
        }
        versions.append(("orders/updated", payload))
    emails = []
    for sequence in (versions, versions[::-1]):
        tenant = make_tenant()
        _deliver_in_order(client, tenant, sequence)
        drain_all(settings.with_overrides(drain_batch_size=1))
        emails.append([c.email for c in tenant_rows(settings, Customer, tenant["id"])])
    assert emails == [["new@example.com"], ["new@example.com"]]
