"""Refunds: `refunds/create`, and the refunds inside order payloads.

A refund's goods (refund line items), refunded shipping, order adjustments and refunded duties are
its children; its transactions are versions of order transactions of their own.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from marshmallow import fields, validate

from models import OrderAdjustment, Refund, RefundDuty, RefundLineItem, RefundShippingLine
from models.base import table_of
from resources import graphql as gql
from resources import transactions
from resources.fields import (
    LooseId,
    Money,
    Payload,
    ShopifyId,
    Timestamp,
    Versioned,
    money_set,
    nested_list,
    optional,
    presentment_money,
    shop_money,
    text,
)
from resources.registry import Children, Connection, Embedded, Nested, PullContext, Resource
from resources.rows import EntityRow

CENT = Decimal("0.01")
ZERO = Decimal(0)


class RefundedLine(Payload):
    """The order line a refund line refers to (REST embeds it whole)."""

    gift_card = optional(fields.Boolean())
    price = optional(Money())
    price_set = money_set()


class RefundLinePayload(Payload):
    id = ShopifyId(required=True)
    line_item_id = optional(ShopifyId())
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(0, 2**31 - 1))
    restock_type = text(32)
    location_id = optional(ShopifyId())
    # Shopify sends subtotal and total_tax as JSON numbers, their *_set amounts as strings.
    subtotal = optional(Money())
    subtotal_set = money_set()
    total_tax = optional(Money())
    total_tax_set = money_set()
    line_item = optional(fields.Nested(RefundedLine))


class RefundShippingPayload(Payload):
    id = ShopifyId(required=True)
    shipping_line_id = optional(ShopifyId())
    subtotal_amount_set = money_set()
    tax_amount_set = money_set()


class AdjustmentPayload(Payload):
    id = ShopifyId(required=True)
    kind = text(32)
    reason = text()
    amount = optional(Money())
    amount_set = money_set()
    tax_amount = optional(Money())
    tax_amount_set = money_set()


class RefundDutyPayload(Payload):
    duty_id = optional(LooseId())
    amount_set = money_set()


class RefundPayload(Versioned):
    id = ShopifyId(required=True)
    order_id = optional(ShopifyId())
    note = text()
    restock = optional(fields.Boolean())
    created_at = optional(Timestamp())
    processed_at = optional(Timestamp())
    refund_line_items = nested_list(RefundLinePayload)
    refund_shipping_lines = nested_list(RefundShippingPayload)
    order_adjustments = nested_list(AdjustmentPayload)
    duties = nested_list(RefundDutyPayload)
    transactions = nested_list(transactions.TransactionPayload)


def amount_in(item: dict[str, Any], name: str, currency: str) -> Decimal | None:
    """`name` of a refund part in "shop" or "presentment" money (see fields.shop_money)."""
    return shop_money(item, name) if currency == "shop" else presentment_money(item, name)


def calculated(values: dict[str, Any], currency: str) -> Decimal | None:
    """What the refund's parts add up to in one currency ("shop" or "presentment"): goods and
    their tax, shipping and its tax, duties, less the adjustments; None when no part says.

    Adjustments are negative where they add to the refund (shipping before API 2024-10) and
    positive where less was refunded than calculated. From 2024-10 refunded shipping is in
    refund_shipping_lines, and a `shipping_refund` adjustment beside it would count it twice.
    """
    parts: list[Decimal | None] = []
    for line in values.get("refund_line_items") or ():
        parts += [amount_in(line, "subtotal", currency), amount_in(line, "total_tax", currency)]
    shipping = values.get("refund_shipping_lines") or ()
    for line in shipping:
        parts += [
            amount_in(line, "subtotal_amount", currency),
            amount_in(line, "tax_amount", currency),
        ]
    for duty in values.get("duties") or ():
        parts.append(amount_in(duty, "amount", currency))
    for adj in values.get("order_adjustments") or ():
        if shipping and adj.get("kind") == "shipping_refund":
            continue
        for name in ("amount", "tax_amount"):
            amount = amount_in(adj, name, currency)
            parts.append(None if amount is None else -amount)
    known = [p for p in parts if p is not None]
    return sum(known, ZERO) if known else None


def refunded(values: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """The money a refund returned, (shop, presentment) -- docs/metrics.md, "Refunded".

    The presentment amount is the sum of its successful refund transactions (Shopify sends
    their amounts in the buyer's currency). In shop money it is what the refund's parts add up
    to in shop money, scaled by the share of the calculated amount actually paid back; a refund
    whose parts name no amounts is taken at its transactions' amounts.
    """
    paid = sum(
        (
            t["amount"]
            for t in values.get("transactions") or ()
            if t.get("kind") == "refund" and t.get("status") == "success" and t.get("amount")
        ),
        ZERO,
    )
    shop, presentment = calculated(values, "shop"), calculated(values, "presentment")
    if shop is None:
        return paid, paid
    if presentment is None or presentment == paid:
        return (shop if presentment is not None else paid), paid
    if presentment == 0:
        return ZERO, paid
    return (shop * paid / presentment).quantize(CENT, ROUND_HALF_EVEN), paid


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """Money in shop and presentment amounts; transactions point at the refund and its order."""
    values["total_refunded"], values["total_refunded_presentment"] = refunded(values)
    lines = []
    for line in values.get("refund_line_items") or ():
        ordered = line.get("line_item") or {}
        lines.append(
            line
            | {
                "subtotal": shop_money(line, "subtotal"),
                "subtotal_presentment": presentment_money(line, "subtotal"),
                "total_tax": shop_money(line, "total_tax"),
                "total_tax_presentment": presentment_money(line, "total_tax"),
                "gift_card": ordered.get("gift_card"),
                "price": shop_money(ordered, "price"),
            }
        )
    values["refund_line_items"] = lines
    values["refund_shipping_lines"] = [
        s
        | {
            "subtotal": amount_in(s, "subtotal_amount", "shop"),
            "subtotal_presentment": amount_in(s, "subtotal_amount", "presentment"),
            "tax": amount_in(s, "tax_amount", "shop"),
            "tax_presentment": amount_in(s, "tax_amount", "presentment"),
        }
        for s in values.get("refund_shipping_lines") or ()
    ]
    values["order_adjustments"] = [
        a
        | {
            "amount": shop_money(a, "amount"),
            "amount_presentment": presentment_money(a, "amount"),
            "tax_amount": shop_money(a, "tax_amount"),
            "tax_amount_presentment": presentment_money(a, "tax_amount"),
        }
        for a in values.get("order_adjustments") or ()
    ]
    values["duties"] = [
        d
        | {
            "amount": amount_in(d, "amount", "shop"),
            "amount_presentment": amount_in(d, "amount", "presentment"),
        }
        for d in values.get("duties") or ()
    ]
    values["transactions"] = [
        t | {"refund_id": values["id"], "order_id": t.get("order_id") or values.get("order_id")}
        for t in values.get("transactions") or ()
    ]
    return values


# An order's refunds as the Admin API has them: Order.refunds is a list, and a refund's parts are
# connections, which a bulk operation cannot read inside a list; they are read by the refunds'
# ids. A refund line node costs 12 points, a shipping line 8, an adjustment 7: one refund, its
# first page of each, 209 points, four refunds a query.
NESTED = Nested(
    "refunds",
    "Refund",
    fields=f"id createdAt updatedAt note totalRefundedSet {gql.BAG} "
    f"duties {{ amountSet {gql.BAG} originalDuty {{ id }} }}",
    connections=(
        Connection(
            "refundLineItems",
            f"id quantity restockType location {{ id }} lineItem {{ id isGiftCard "
            f"originalUnitPriceSet {gql.BAG} }} subtotalSet {gql.BAG} totalTaxSet {gql.BAG}",
            types=("RefundLineItem",),
            page=10,
            rest=80,
        ),
        Connection(
            "refundShippingLines",
            f"id shippingLine {{ id }} subtotalAmountSet {gql.BAG} taxAmountSet {gql.BAG}",
            types=("RefundShippingLine",),
            page=5,
            rest=120,
        ),
        Connection(
            "orderAdjustments",
            f"id amountSet {gql.BAG} taxAmountSet {gql.BAG} reason",
            types=("OrderAdjustment",),
            page=5,
            rest=140,
        ),
        Connection("transactions", "id", types=("OrderTransaction",), page=5, rest=250),
    ),
    batch=4,
)


def map_refund(
    node: dict[str, Any],
    context: PullContext,
    *,
    order_id: int,
    transactions_by_id: dict[str, dict[str, Any]],
) -> EntityRow:
    """A Refund node (its connections read) -> a refunds row with its parts.

    What it returned is its `totalRefundedSet`; it has no processing time of its own, so that
    of its successful refund transaction stands for it (else its creation). REST's `restock`
    has no Admin API field and keeps what a webhook wrote.
    """
    mine = [
        transactions_by_id.get(str(t.get("id")), t) for t in gql.items(node.get("transactions"))
    ]
    paid = [t for t in mine if t.get("kind") == "REFUND" and t.get("status") == "SUCCESS"]
    returned = node.get("totalRefundedSet")
    shop, presentment = gql.money(returned), gql.presentment(returned)
    values = {
        "order_id": order_id,
        "note": node.get("note"),
        "total_refunded": shop,
        "total_refunded_presentment": presentment,
        "created_at": gql.time(node.get("createdAt")),
        "processed_at": gql.time(
            (paid[0].get("processedAt") if paid else None) or node.get("createdAt")
        ),
    }
    children = {
        "refund_line_items": [_line(r) for r in gql.items(node.get("refundLineItems"))],
        "refund_shipping_lines": [
            {
                "shopify_id": gql.numeric_id(s.get("id")),
                "shipping_line_id": gql.ref(s.get("shippingLine")),
                **gql.money_pair("subtotal", s.get("subtotalAmountSet")),
                **gql.money_pair("tax", s.get("taxAmountSet")),
            }
            for s in gql.items(node.get("refundShippingLines"))
        ],
        # Refunded shipping is a refund shipping line: what adjustments remain are differences
        # between the calculated and the refunded amount, their reason in REST's words.
        "order_adjustments": [
            {
                "shopify_id": gql.numeric_id(a.get("id")),
                "kind": "refund_discrepancy",
                "reason": gql.humanize(a.get("reason")),
                **gql.money_pair("amount", a.get("amountSet")),
                **gql.money_pair("tax_amount", a.get("taxAmountSet")),
            }
            for a in gql.items(node.get("orderAdjustments"))
        ],
        "duties": [
            {
                "position": i,
                "duty_id": gql.ref(d.get("originalDuty")),
                **gql.money_pair("amount", d.get("amountSet")),
            }
            for i, d in enumerate(gql.items(node.get("duties")))
        ],
    }
    key = gql.numeric_id(node.get("id"))
    return gql.pulled_version(
        RESOURCE,
        context,
        key,
        values,
        updated_at=gql.time(node.get("updatedAt")),
        payload=node,
        children=children,
    )


def _line(node: dict[str, Any]) -> dict[str, Any]:
    ordered = node.get("lineItem") or {}
    return {
        "shopify_id": gql.numeric_id(node.get("id")),
        "line_item_id": gql.ref(ordered),
        "quantity": int(node.get("quantity") or 0),
        "restock_type": gql.lower(node.get("restockType")),
        "location_id": gql.ref(node.get("location")),
        "gift_card": ordered.get("isGiftCard"),
        "price": gql.money(ordered.get("originalUnitPriceSet")),
        **gql.money_pair("subtotal", node.get("subtotalSet")),
        **gql.money_pair("total_tax", node.get("totalTaxSet")),
    }


COLUMNS = (
    "order_id", "note", "restock", "total_refunded", "total_refunded_presentment",
    "created_at", "processed_at",
)  # fmt: skip
LINE_COLUMNS = (
    "line_item_id", "quantity", "restock_type", "location_id", "gift_card", "price",
    "subtotal", "subtotal_presentment", "total_tax", "total_tax_presentment",
)  # fmt: skip

RESOURCE = Resource(
    name="refunds",
    table=table_of(Refund),
    key="shopify_id",
    payload_key="id",
    schema=RefundPayload(),
    derive=derive,
    columns=COLUMNS,
    topics=("refunds/create",),
    children=(
        Children(
            table_of(RefundLineItem), "refund_id", field="refund_line_items", columns=LINE_COLUMNS
        ),
        Children(
            table_of(RefundShippingLine),
            "refund_id",
            field="refund_shipping_lines",
            columns=(
                "shipping_line_id",
                "subtotal",
                "subtotal_presentment",
                "tax",
                "tax_presentment",
            ),
        ),
        Children(
            table_of(OrderAdjustment),
            "refund_id",
            field="order_adjustments",
            columns=(
                "kind",
                "reason",
                "amount",
                "amount_presentment",
                "tax_amount",
                "tax_amount_presentment",
            ),
        ),
        Children(
            table_of(RefundDuty),
            "refund_id",
            field="duties",
            columns=("duty_id", "amount", "amount_presentment"),
            key="position",
        ),
    ),
    embedded=(Embedded("transactions", transactions.RESOURCE, many=True),),
)
