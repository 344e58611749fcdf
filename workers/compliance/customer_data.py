"""Find everything held about one customer of a tenant; erase it (redact) or gather it (export).

Plain functions over a Session; they never commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    LargeBinary,
    Table,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from models import (
    Cart,
    Checkout,
    Customer,
    CustomerExport,
    DeadLetter,
    Fulfillment,
    Order,
    OrderEdit,
    OrderLineItem,
    OrderTransaction,
    Refund,
    WebhookEvent,
)
from models.base import table_of
from models.scoping import tenant_select
from workers.compliance.redaction import (
    ORDER_PARTS,
    Person,
    customer_facts,
    redact_event_payload,
    redact_payload,
)

# A missing payload stays SQL NULL (plain JSONB would store a JSON null).
_PAYLOAD = JSONB(none_as_null=True)


def find_person(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    customer_id: int,
    email: str | None,
    order_ids: Iterable[int],
) -> Person:
    """The customer's keys: their orders (and those named), checkouts and carts."""
    cust, orders, chk = table_of(Customer), table_of(Order), table_of(Checkout)
    named = set(order_ids)
    emails = {email.lower()} if email else set()
    stored = session.scalar(
        tenant_select(cust, cust.c.email, tenant_id=tenant_id).where(
            cust.c.shopify_id == customer_id
        )
    )
    if stored:
        emails.add(stored.lower())
    found = session.execute(
        tenant_select(
            orders,
            orders.c.shopify_id,
            orders.c.checkout_token,
            orders.c.cart_token,
            tenant_id=tenant_id,
        ).where(
            or_(
                orders.c.customer_id == customer_id,
                orders.c.shopify_id.in_(sorted(named)),
                func.lower(orders.c.email).in_(sorted(emails)),
            ),
        )
    ).all()
    tokens = {r.checkout_token for r in found if r.checkout_token}
    checkouts = session.execute(
        tenant_select(
            chk, chk.c.token, chk.c.shopify_id, chk.c.cart_token, tenant_id=tenant_id
        ).where(
            or_(
                chk.c.customer_id == customer_id,
                func.lower(chk.c.email).in_(sorted(emails)),
                chk.c.token.in_(sorted(tokens)),
            ),
        )
    ).all()
    return Person(
        customer_id=customer_id,
        emails=frozenset(emails),
        order_ids=frozenset({r.shopify_id for r in found} | named),
        checkout_tokens=frozenset(tokens | {c.token for c in checkouts}),
        checkout_ids=frozenset(c.shopify_id for c in checkouts if c.shopify_id),
        cart_tokens=frozenset(
            {r.cart_token for r in found if r.cart_token}
            | {c.cart_token for c in checkouts if c.cart_token}
        ),
    )


def _event_filter(events: Table, person: Person) -> Any:
    """SQL twin of Person.mentioned_in, to find the deliveries in the raw event log."""
    p = events.c.payload
    ident = p["id"].astext
    orders = [str(i) for i in person.order_ids]
    token = func.split_part(p["token"].astext, "?", 1)

    def on(resource: str, condition: Any) -> Any:
        return and_(events.c.topic.like(f"{resource}/%"), condition)

    return or_(
        p[("customer", "id")].astext == str(person.customer_id),
        func.lower(p["email"].astext).in_(sorted(person.emails)),
        on("customers", ident == str(person.customer_id)),
        on("orders", ident.in_([str(i) for i in person.order_ids])),
        on(
            "checkouts",
            or_(
                token.in_(sorted(person.checkout_tokens)),
                ident.in_([str(i) for i in person.checkout_ids]),
            ),
        ),
        on("carts", token.in_(sorted(person.cart_tokens))),
        # Refunds, transactions and fulfillments of the person's orders; their order edits.
        and_(
            or_(*(events.c.topic.like(f"{t}/%") for t in ORDER_PARTS)),
            p["order_id"].astext.in_(orders),
        ),
        and_(events.c.topic == "orders/edited", p[("order_edit", "order_id")].astext.in_(orders)),
    )


def _entity_rows(session: Session, model: Any, tenant_id: uuid.UUID, person: Person) -> Any:
    table = table_of(model)
    key = {
        Customer: lambda: table.c.shopify_id == person.customer_id,
        Order: lambda: table.c.shopify_id.in_(sorted(person.order_ids)),
        Checkout: lambda: table.c.token.in_(sorted(person.checkout_tokens)),
        Cart: lambda: table.c.token.in_(sorted(person.cart_tokens)),
    }.get(model, lambda: table.c.order_id.in_(sorted(person.order_ids)))()
    return table, session.execute(tenant_select(table, tenant_id=tenant_id).where(key)).all()


def redact_customer(session: Session, *, tenant_id: uuid.UUID, person: Person) -> dict[str, int]:
    """Erase the person's personal data everywhere; amounts, dates, ids and statuses stay."""
    counts: dict[str, int] = {}
    for model, personal, scrub in (
        (Customer, ("email", "first_name", "last_name", "phone"), customer_facts),
        (Order, ("email",), redact_payload),
        (Checkout, ("email",), redact_payload),
        (Cart, (), redact_payload),
        (Refund, ("note",), redact_payload),
        (OrderTransaction, (), redact_payload),
        (Fulfillment, (), redact_payload),
        (OrderEdit, ("staff_note",), redact_payload),
    ):
        table, rows = _entity_rows(session, model, tenant_id, person)
        pk = [c.name for c in table.primary_key.columns]
        params = [
            {f"k_{c}": getattr(r, c) for c in pk}
            | {"p": scrub(r.payload) if r.payload else r.payload}
            for r in rows
        ]
        if params:
            stmt = (
                update(table)
                .where(*(table.c[c] == bindparam(f"k_{c}") for c in pk))
                .values({c: None for c in personal} | {"payload": bindparam("p", type_=_PAYLOAD)})
            )
            session.connection().execute(stmt, params)
        counts[table.name] = len(params)
    counts["webhook_events"] = _redact_events(session, tenant_id, person)
    counts["dead_letters"] = _redact_dead_letters(session, tenant_id, person)
    exports = table_of(CustomerExport)
    gone = session.scalars(
        delete(exports)
        .where(exports.c.tenant_id == tenant_id, exports.c.customer_id == person.customer_id)
        .returning(exports.c.id)
    )
    counts["customer_exports"] = len(gone.all())
    return counts


def _redact_events(session: Session, tenant_id: uuid.UUID, person: Person) -> int:
    events = table_of(WebhookEvent)
    rows = session.execute(
        select(events.c.webhook_id, events.c.topic, events.c.payload).where(
            events.c.tenant_id == tenant_id,
            events.c.payload.is_not(None),
            _event_filter(events, person),
        )
    ).all()
    params = [
        {"w": r.webhook_id, "p": redact_event_payload(r.topic, r.payload)}
        for r in rows
        if isinstance(r.payload, dict)
    ]
    if params:
        session.connection().execute(
            update(events)
            .where(events.c.tenant_id == tenant_id, events.c.webhook_id == bindparam("w"))
            .values(payload=bindparam("p", type_=_PAYLOAD)),
            params,
        )
    return len(params)


def _redact_dead_letters(session: Session, tenant_id: uuid.UUID, person: Person) -> int:
    dl = table_of(DeadLetter)
    # Only bodies that mention one of the person's keys are worth parsing.
    needles = {str(person.customer_id), *person.emails, *map(str, person.order_ids)}
    needles |= person.checkout_tokens | person.cart_tokens
    rows = session.execute(
        select(dl.c.id, dl.c.topic, dl.c.body, dl.c.error).where(
            dl.c.tenant_id == tenant_id,
            or_(*(dl.c.body.op("LIKE")(_bytes_pattern(n)) for n in sorted(needles))),
        )
    ).all()
    params = []
    for r in rows:
        try:
            payload = json.loads(r.body)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            if person.mentioned_in(r.topic, payload):
                body = json.dumps(redact_event_payload(r.topic, payload)).encode()
                params.append({"i": r.id, "b": body, "e": r.error})
        elif any(e.encode() in r.body.lower() for e in person.emails):
            # Unreadable, so it cannot be redacted field by field: erase the whole body.
            params.append(
                {"i": r.id, "b": b"", "e": f"{r.error} [body erased by customers/redact]"}
            )
    if params:
        session.connection().execute(
            update(dl)
            .where(dl.c.tenant_id == tenant_id, dl.c.id == bindparam("i"))
            .values(body=bindparam("b"), error=bindparam("e")),
            params,
        )
    return len(params)


def _bytes_pattern(needle: str) -> Any:
    """A bytea LIKE pattern matching any body that contains `needle`."""
    return literal(b"%" + needle.encode() + b"%", LargeBinary())


def build_export(session: Session, *, tenant_id: uuid.UUID, person: Person) -> dict[str, Any]:
    """Everything held about the person: their rows, line items and raw deliveries, as JSON."""
    out: dict[str, Any] = {}
    exported: tuple[tuple[type[Any], str], ...] = (
        (Customer, "customers"),
        (Order, "orders"),
        (Checkout, "checkouts"),
        (Cart, "carts"),
        (Refund, "refunds"),
        (OrderTransaction, "transactions"),
        (Fulfillment, "fulfillments"),
        (OrderEdit, "order_edits"),
    )
    for model, name in exported:
        _, rows = _entity_rows(session, model, tenant_id, person)
        out[name] = [_plain(r._mapping) for r in rows]
    lines = table_of(OrderLineItem)
    by_order: dict[int, list[dict[str, Any]]] = {}
    for line in session.execute(
        select(lines).where(
            lines.c.tenant_id == tenant_id, lines.c.order_id.in_(sorted(person.order_ids))
        )
    ):
        by_order.setdefault(line.order_id, []).append(_plain(line._mapping))
    for order in out["orders"]:
        order["line_items"] = by_order.get(order["shopify_id"], [])
    events = table_of(WebhookEvent)
    out["events"] = [
        _plain(r._mapping)
        for r in session.execute(
            select(events.c.webhook_id, events.c.topic, events.c.received_at, events.c.payload)
            .where(
                events.c.tenant_id == tenant_id,
                events.c.payload.is_not(None),
                _event_filter(events, person),
            )
            .order_by(events.c.received_at)
        )
    ]
    return out


def _plain(row: Any) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in row.items() if k != "tenant_id"}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
