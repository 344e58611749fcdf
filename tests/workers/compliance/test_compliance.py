"""Compliance and app-lifecycle webhooks end to end: receiver, drain, lifecycle job, tables."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from core.settings import Settings
from core.wire import StreamWriter
from eventlog.replay import replay_dead_letters
from models import ComplianceAction, CustomerExport, DeadLetter, WebhookEvent
from models.db import session_scope
from shops.holds import decide_hold, decision_of
from tests.support.lifecycle_data import (
    T0,
    cart,
    checkout,
    compliance_body,
    customer,
    minutes,
    order,
    send,
    sender_for,
    tenant_status,
)
from tests.support.samples import sample_json
from tests.support.webhooks import Sender
from workers.abandonment.sweeps import sweep_abandoned
from workers.compliance.actions import act_on_recorded_events
from workers.runtime import Resources

JOHN_ID = 191167  # the customer in Shopify's compliance samples
JOHN = ("john@example.com", "555-625-1199", "Johnathan", "Smithers", "Smithers Lane")
GUEST = "johnny.guest@example.net"
JANE_ID = 5550001
JANE = ("janet@example.org", "555-000-2222", "Janet", "Doerty", "Doerty Road")


def address(first: str, last: str, phone: str, street: str) -> dict[str, Any]:
    return {
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "phone": phone,
        "address1": f"1 {street}",
        "city": "Ottawa",
        "zip": "K2P 2L8",
        "country": "Canada",
    }


def personal(body: dict[str, Any], who: tuple[str, ...], customer_id: int | None) -> dict[str, Any]:
    email, phone, first, last, street = who
    body = copy.deepcopy(body)
    body.update(
        email=email,
        billing_address=address(first, last, phone, street),
        shipping_address=address(first, last, phone, street),
        note=f"Leave it with {first}'s neighbour",
        customer={"id": customer_id, "email": email, "first_name": first, "last_name": last,
                  "phone": phone, "state": "enabled"} if customer_id else None,
    )  # fmt: skip
    return body


def order_parts(order_id: int, who: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """A refund, a payment and a fulfillment of an order, each naming the person somewhere."""
    email, phone, first, last, street = who
    refund = sample_json("2026-04/refunds_create")
    refund.update(
        id=order_id * 10 + 1, order_id=order_id, note=f"{first} {last} changed their mind"
    )
    refund["refund_line_items"], refund["transactions"] = [], []
    payment = sample_json("2026-04/order_transactions_create")
    payment.update(id=order_id * 10 + 2, order_id=order_id)
    payment["payment_details"]["credit_card_name"] = f"{first} {last}"
    shipment = sample_json("2026-04/fulfillments_create")
    shipment.update(
        id=order_id * 10 + 3, order_id=order_id, email=email, line_items=[],
        destination=address(first, last, phone, street),
    )  # fmt: skip
    return [
        ("refunds/create", refund),
        ("order_transactions/create", payment),
        ("fulfillments/create", shipment),
    ]


def person_record(customer_id: int, who: tuple[str, ...]) -> dict[str, Any]:
    email, phone, first, last, _ = who
    return customer(customer_id, email=email, first=first, last=last, phone=phone)


@dataclass
class Shop:
    tenant: dict[str, Any]
    sender: Sender


@pytest.fixture
def shop(client: FlaskClient, settings: Settings, tenant: dict[str, Any]) -> Shop:
    """A shop with John (orders, a checkout, a cart, a guest checkout, a dead letter) and Jane."""
    s = sender_for(client, tenant)
    john_order = order(299938, at=T0 + minutes(5), checkout_token="cj", cart_token="kj")
    jane_order = order(399001, at=T0 + minutes(7), checkout_token="cjane")
    send(
        s,
        settings,
        ("customers/create", person_record(JOHN_ID, JOHN)),
        ("customers/create", person_record(JANE_ID, JANE)),
        ("carts/create", cart("kj", at=T0)),
        (
            "checkouts/create",
            personal(checkout("cj", at=T0, cart_token="kj", shopify_id=71), JOHN, JOHN_ID),
        ),
        ("orders/create", personal(john_order, JOHN, JOHN_ID)),
        ("orders/create", personal(order(280263, at=T0 + minutes(50)), JOHN, JOHN_ID)),
        ("orders/create", personal(order(220458, at=T0 + minutes(60)), (GUEST, *JOHN[1:]), None)),
        ("checkouts/create", personal(checkout("cg", at=T0, shopify_id=72), JOHN, None)),
        ("carts/create", cart("kjane", at=T0)),
        ("checkouts/create", personal(checkout("cjane", at=T0, cart_token="kjane"), JANE, JANE_ID)),
        ("orders/create", personal(jane_order, JANE, JANE_ID)),
        *order_parts(299938, JOHN),
        *order_parts(399001, JANE),
    )
    # A delivery the pipeline could not take (a line item without its id): a dead letter.
    poison = personal(order(299999, at=T0, cart_token="kj"), JOHN, JOHN_ID)
    poison["line_items"] = [{"quantity": 1}]
    send(s, settings, ("orders/updated", poison))
    return Shop(tenant, s)


def tables(settings: Settings) -> list[str]:
    with session_scope(settings.database_url) as s:
        return list(
            s.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            )
        )


def dump(settings: Settings) -> dict[str, list[str]]:
    """Every row of every table as text, to search for what must (not) be there."""
    out = {}
    with session_scope(settings.database_url) as s:
        for table in tables(settings):
            rows = s.scalars(text(f'SELECT t::text FROM "{table}" t'))
            out[table] = sorted(r.replace("\\x", "") for r in rows)
    return out


def hits(snapshot: dict[str, list[str]], needles: tuple[str, ...]) -> dict[str, int]:
    """Per table, how many rows mention any needle (bytea columns are searched as hex too)."""
    hexes = tuple(n.encode().hex() for n in needles)
    found = {}
    for table, rows in snapshot.items():
        n = sum(1 for r in rows if any(x in r for x in needles + hexes))
        if n:
            found[table] = n
    return found


def scalar(settings: Settings, sql: str, **params: Any) -> Any:
    with session_scope(settings.database_url) as s:
        return s.scalar(text(sql), params)


def actions(settings: Settings, tenant_id: uuid.UUID) -> list[ComplianceAction]:
    with session_scope(settings.database_url) as s:
        return list(
            s.scalars(select(ComplianceAction).where(ComplianceAction.tenant_id == tenant_id))
        )


def deliver(shop: Shop, settings: Settings, topic: str, body: dict[str, Any]) -> str:
    """Deliver and act on a webhook; an erasure held for the owner is confirmed (as the owner
    would, test_holds.py shows the hold itself) and acted on again."""
    webhook_id = str(uuid.uuid4())
    assert shop.sender.send(topic, body, webhook_id=webhook_id).status_code == 200
    send(shop.sender, settings)
    act_on_recorded_events(Resources(settings))
    tenant_id = shop.tenant.get("id") or uuid.UUID(shop.tenant["tenant_id"])
    if confirm(settings, tenant_id, webhook_id):
        act_on_recorded_events(Resources(settings))
    return webhook_id


def confirm(settings: Settings, tenant_id: uuid.UUID, webhook_id: str) -> bool:
    """Confirm the webhook's hold as its owner would; False when it got none."""
    with session_scope(settings.database_url) as s:
        if decision_of(s, tenant_id=tenant_id, webhook_id=webhook_id) != "held":
            return False
        decide_hold(s, tenant_id=tenant_id, webhook_id=webhook_id, decision="confirmed", by="test")
    return True


@contextmanager
def refusing_actions(settings: Settings, topic: str | None = None) -> Iterator[None]:
    """While inside, the database refuses to record actions (of one topic, or any)."""
    only = f"IF NEW.topic = '{topic}' THEN " if topic else ""
    refuse = (
        "CREATE FUNCTION cw_test_refuse_action() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {only}RAISE EXCEPTION 'actions are refused';{' END IF;' if topic else ''} "
        "RETURN NEW; END $$; "
        "CREATE TRIGGER cw_test_refuse_action BEFORE INSERT ON lifecycle_actions "
        "FOR EACH ROW EXECUTE FUNCTION cw_test_refuse_action()"
    )
    with session_scope(settings.database_url) as s:
        s.execute(text(refuse))
    try:
        yield
    finally:
        with session_scope(settings.database_url) as s:
            s.execute(
                text(
                    "DROP TRIGGER IF EXISTS cw_test_refuse_action ON lifecycle_actions; "
                    "DROP FUNCTION IF EXISTS cw_test_refuse_action()"
                )
            )


def event(settings: Settings, tenant_id: uuid.UUID, webhook_id: str) -> WebhookEvent | None:
    with session_scope(settings.database_url) as s:
        return s.get(WebhookEvent, (tenant_id, webhook_id))


def test_customer_redact_erases_the_person_everywhere_and_keeps_the_facts(
    shop: Shop, settings: Settings
) -> None:
    tid = shop.tenant["id"]
    deliver(
        shop,
        settings,
        "customers/data_request",
        compliance_body("customers_data_request", shop.tenant["shop"]),
    )
    before = dump(settings)
    john_before = hits(before, (*JOHN, GUEST))
    for table in (
        "customers",
        "orders",
        "checkouts",
        "webhook_events",
        "dead_letters",
        "customer_exports",
        "refunds",
        "order_transactions",
        "fulfillments",
    ):
        assert john_before.get(table), table
    totals = (
        "SELECT count(*) || ' ' || sum(total_price) || ' ' "
        "|| string_agg(customer_id::text, ',' ORDER BY shopify_id) FROM orders"
    )
    facts_before = scalar(settings, totals)
    lines_before = before["order_line_items"]
    statuses_before = scalar(
        settings, "SELECT string_agg(token || status, ',' ORDER BY token) FROM checkouts"
    )

    body = compliance_body("customers_redact", shop.tenant["shop"])
    webhook_id = deliver(shop, settings, "customers/redact", body)

    after = dump(settings)
    assert hits(after, (*JOHN, GUEST)) == {}
    assert hits(after, JANE) == hits(before, JANE)
    assert scalar(settings, totals) == facts_before
    assert after["order_line_items"] == lines_before
    assert (
        scalar(settings, "SELECT string_agg(token || status, ',' ORDER BY token) FROM checkouts")
        == statuses_before
    )
    assert {t: len(r) for t, r in after.items() if t != "customer_exports"} == {
        t: len(r) + (1 if t in ("webhook_events", "lifecycle_actions", "compliance_holds") else 0)
        for t, r in before.items()
        if t != "customer_exports"
    }
    assert scalar(settings, "SELECT count(*) FROM customer_exports") == 0
    john = json.loads(
        scalar(
            settings,
            "SELECT row_to_json(c)::text FROM customers c WHERE shopify_id = :i",
            i=JOHN_ID,
        )
    )
    assert [john[k] for k in ("email", "first_name", "last_name", "phone")] == [None] * 4
    assert (john["state"], john["payload"]["id"], john["created_at"][:10]) == (
        "disabled",
        JOHN_ID,
        "2026-03-02",
    )

    redact = event(settings, tid, webhook_id)
    assert redact is not None and redact.status == "processed" and redact.payload is not None
    assert redact.payload["orders_to_redact"] == body["orders_to_redact"]
    [done] = [a for a in actions(settings, tid) if a.webhook_id == webhook_id]
    assert (done.action, done.outcome, done.customer_id) == ("redact_customer", "done", JOHN_ID)
    assert done.detail["orders"] == 3 and done.detail["customers"] == 1
    assert done.detail["checkouts"] == 2 and done.detail["dead_letters"] == 1

    # Acting again changes nothing.
    assert act_on_recorded_events(Resources(settings)) == []
    assert dump(settings) == after


def test_data_request_builds_an_export_and_changes_nothing_else(
    shop: Shop, settings: Settings
) -> None:
    tid = shop.tenant["id"]
    before = dump(settings)
    body = compliance_body("customers_data_request", shop.tenant["shop"])
    webhook_id = deliver(shop, settings, "customers/data_request", body)
    after = dump(settings)

    changed = {t for t in after if after[t] != before[t]}
    assert changed == {"webhook_events", "customer_exports", "lifecycle_actions"}
    assert len(after["webhook_events"]) == len(before["webhook_events"]) + 1
    assert set(before["webhook_events"]) <= set(after["webhook_events"])

    with session_scope(settings.database_url) as s:
        [export] = s.scalars(select(CustomerExport).where(CustomerExport.tenant_id == tid))
        data = export.data
        assert (export.customer_id, export.request_id, export.webhook_id) == (
            JOHN_ID,
            "9999",
            webhook_id,
        )
    assert [c["shopify_id"] for c in data["customers"]] == [JOHN_ID]
    assert data["customers"][0]["email"] == JOHN[0]
    assert sorted(o["shopify_id"] for o in data["orders"]) == [220458, 280263, 299938]
    assert all(o["line_items"] for o in data["orders"])
    assert sorted(c["token"] for c in data["checkouts"]) == ["cg", "cj"]
    assert [c["token"] for c in data["carts"]] == ["kj"]
    assert {e["topic"] for e in data["events"]} >= {
        "customers/create",
        "orders/create",
        "carts/create",
        "checkouts/create",
        "customers/data_request",
    }
    assert hits({"export": [json.dumps(data)]}, JANE) == {}
    [done] = actions(settings, tid)
    assert (done.action, done.outcome, done.request_id) == ("export_customer", "done", "9999")
    assert done.detail["export_id"] == str(export.id)
    assert hits({"a": [json.dumps(done.detail)]}, JOHN) == {}


def tenant_counts(settings: Settings, tenant_id: uuid.UUID) -> dict[str, int]:
    counts = {}
    with session_scope(settings.database_url) as s:
        for table in tables(settings):
            column = "id" if table == "tenants" else "tenant_id"
            has = s.scalar(
                text(
                    "SELECT count(*) FROM information_schema.columns "
                    "WHERE table_name = :t AND column_name = :c"
                ),
                {"t": table, "c": column},
            )
            if has:
                counts[table] = s.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE {column} = :i'), {"i": tenant_id}
                )
    return counts


def test_shop_redact_deletes_every_row_of_the_tenant_and_only_that(
    shop: Shop, settings: Settings, client: FlaskClient, make_tenant: Callable[..., dict[str, Any]]
) -> None:
    other = make_tenant()
    send(
        sender_for(client, other),
        settings,
        ("orders/create", personal(order(1, at=T0), JANE, JANE_ID)),
    )
    tid = shop.tenant["id"]
    assert sum(tenant_counts(settings, tid).values()) > 10
    other_before = tenant_counts(settings, other["id"])

    webhook_id = deliver(
        shop, settings, "shop/redact", compliance_body("shop_redact", shop.tenant["shop"])
    )

    remaining = {t: n for t, n in tenant_counts(settings, tid).items() if n}
    [erased] = actions(settings, tid)
    assert remaining == {"lifecycle_actions": 1}
    assert (erased.webhook_id, erased.action, erased.outcome, erased.shop_id) == (
        webhook_id,
        "erase_shop",
        "done",
        954889,
    )
    assert tenant_counts(settings, other["id"]) == other_before
    # The shop is gone: its deliveries are refused from now on.
    assert shop.sender.send("orders/create", order(2, at=T0)).status_code == 401


@pytest.mark.parametrize(
    ("sample", "topic"),
    [
        ("shop_redact", "shop/redact"),
        ("customers_redact", "customers/redact"),
        ("customers_data_request", "customers/data_request"),
    ],
)
def test_compliance_body_for_another_shop_is_refused(
    shop: Shop, settings: Settings, sample: str, topic: str
) -> None:
    tid = shop.tenant["id"]
    before = dump(settings)
    webhook_id = deliver(
        shop, settings, topic, compliance_body(sample, "someone-else.myshopify.com")
    )
    after = dump(settings)
    assert {t for t in after if after[t] != before[t]} == {"webhook_events", "lifecycle_actions"}
    [refused] = actions(settings, tid)
    assert (refused.webhook_id, refused.outcome) == (webhook_id, "rejected")
    stored = event(settings, tid, webhook_id)
    assert stored is not None and stored.status == "rejected" and stored.error


def test_app_uninstalled_marks_the_tenant_and_stops_its_sweeps(
    shop: Shop, settings: Settings
) -> None:
    tid = shop.tenant["id"]
    body = compliance_body("app_uninstalled", shop.tenant["shop"])
    webhook_id = deliver(shop, settings, "app/uninstalled", body)

    assert tenant_status(settings, tid) == "uninstalled"
    [done] = actions(settings, tid)
    assert (done.webhook_id, done.action, done.outcome, done.shop_id) == (
        webhook_id,
        "uninstall",
        "done",
        body["id"],
    )
    assert sweep_abandoned(Resources(settings), now=T0 + minutes(10_000)) == {
        "checkouts": 0,
        "carts": 0,
    }
    assert scalar(settings, "SELECT count(*) FROM checkouts WHERE status = 'abandoned'") == 0
    # The compliance webhooks that follow an uninstall are still acted on.
    deliver(
        shop, settings, "customers/redact", compliance_body("customers_redact", shop.tenant["shop"])
    )
    assert hits(dump(settings), JOHN) == {}


def test_a_redelivered_compliance_webhook_acts_once(shop: Shop, settings: Settings) -> None:
    body = compliance_body("customers_data_request", shop.tenant["shop"])
    webhook_id = str(uuid.uuid4())
    for _ in range(2):
        assert (
            shop.sender.send("customers/data_request", body, webhook_id=webhook_id).status_code
            == 200
        )
        send(shop.sender, settings)
        act_on_recorded_events(Resources(settings))
    assert scalar(settings, "SELECT count(*) FROM customer_exports") == 1
    assert len(actions(settings, shop.tenant["id"])) == 1


def test_the_owner_gets_the_customer_export_through_the_dashboard_api(
    client: FlaskClient,
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_owner: Callable[..., dict[str, Any]],
    make_user: Callable[..., dict[str, Any]],
    settings: Settings,
) -> None:
    shop = Shop(owner, Sender(client, shop=owner["shop"], secret=owner["webhook_secret"]))
    send(shop.sender, settings, ("customers/create", person_record(JOHN_ID, JOHN)))
    deliver(
        shop,
        settings,
        "customers/data_request",
        compliance_body("customers_data_request", owner["shop"]),
    )
    admin, stranger = make_user("admin"), make_owner()

    listed = api_client.get("/api/customer-exports", headers=owner["headers"])
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert (item["customer_id"], item["request_id"]) == (str(JOHN_ID), "9999")
    export = api_client.get(f"/api/customer-exports/{item['id']}", headers=owner["headers"])
    assert export.status_code == 200
    data = export.get_json()["data"]
    assert data["customers"][0]["email"] == JOHN[0]
    assert data["request"]["data_request"] == {"id": 9999}

    filtered = api_client.get(
        f"/api/customer-exports?customer_id={JANE_ID}", headers=owner["headers"]
    )
    assert filtered.get_json() == {"items": []}
    assert api_client.get("/api/customer-exports", headers=admin["headers"]).status_code == 403
    assert (
        api_client.get(
            f"/api/customer-exports/{item['id']}", headers=stranger["headers"]
        ).status_code
        == 404
    )
    assert (
        api_client.get(
            f"/api/customer-exports/{uuid.uuid4()}", headers=owner["headers"]
        ).status_code
        == 404
    )

    # Once the customer is redacted, the export (personal data itself) is gone too.
    deliver(shop, settings, "customers/redact", compliance_body("customers_redact", owner["shop"]))
    assert (
        api_client.get(f"/api/customer-exports/{item['id']}", headers=owner["headers"]).status_code
        == 404
    )


def test_a_failed_action_stays_pending_with_its_error_and_is_retried(
    shop: Shop, settings: Settings
) -> None:
    """Whatever breaks an action (here the database refuses its record), nothing is lost."""
    tid = shop.tenant["id"]
    with refusing_actions(settings):
        webhook_id = deliver(
            shop,
            settings,
            "customers/redact",
            compliance_body("customers_redact", shop.tenant["shop"]),
        )
        assert act_on_recorded_events(Resources(settings)) == []
        pending = event(settings, tid, webhook_id)
        # Held, confirmed, then tried three times.
        assert pending is not None and pending.status == "held"
        assert pending.attempts == 3 and "actions are refused" in (pending.error or "")
        assert hits(dump(settings), JOHN).get("customers")  # rolled back: nothing half done

    [done] = act_on_recorded_events(Resources(settings))
    assert (done.action, done.outcome) == ("redact_customer", "done")
    assert event(settings, tid, webhook_id).status == "processed"  # type: ignore[union-attr]
    assert hits(dump(settings), JOHN) == {}


def test_an_action_that_keeps_failing_becomes_a_dead_letter_and_holds_up_nothing(
    shop: Shop, settings: Settings, redis_client: Any
) -> None:
    capped = settings.with_overrides(compliance_max_attempts=2)
    tid = shop.tenant["id"]
    with refusing_actions(settings, topic="customers/redact"):
        redact, redact_topic = str(uuid.uuid4()), "customers/redact"
        body = compliance_body("customers_redact", shop.tenant["shop"])
        assert shop.sender.send("customers/redact", body, webhook_id=redact).status_code == 200
        send(shop.sender, settings)
        [held] = act_on_recorded_events(Resources(capped))
        assert held.outcome == "held" and confirm(settings, tid, redact)
        for _ in range(3):
            assert act_on_recorded_events(Resources(capped)) == []
        gone = event(settings, tid, redact)
        assert (
            gone is not None
            and gone.status == "failed"
            and "actions are refused" in (gone.error or "")
        )
        with session_scope(settings.database_url) as s:
            [letter] = s.scalars(
                select(DeadLetter).where(
                    DeadLetter.tenant_id == tid, DeadLetter.topic == redact_topic
                )
            ).all()
        assert letter.webhook_id == redact and "gave up after 2 failed attempts" in letter.error
        # A later request is acted on: the one that failed no longer comes first.
        later = deliver(
            shop, capped, "customers/data_request", compliance_body("customers_data_request",
            shop.tenant["shop"]),
        )  # fmt: skip
        assert event(settings, tid, later).status == "processed"  # type: ignore[union-attr]
        assert act_on_recorded_events(Resources(capped)) == []  # the dead one is not retried
    # Once the cause is fixed, replaying the dead letter re-arms the event.
    with session_scope(settings.database_url) as s:
        result = replay_dead_letters(
            s, StreamWriter(redis_client, settings), now=datetime.now(UTC), ids=[letter.id]
        )
    assert result.replayed == [letter.id]
    send(shop.sender, settings)
    [done] = act_on_recorded_events(Resources(settings))
    assert (done.action, done.outcome) == ("redact_customer", "done")
    assert event(settings, tid, redact).status == "processed"  # type: ignore[union-attr]
    assert hits(dump(settings), JOHN) == {}
