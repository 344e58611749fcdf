"""Orders as the GraphQL Admin API has them, mapped to the rows the webhooks produce.

An Order node brings its line items and shipping lines (connections), its tax lines, discount
codes and transactions (lists), and its refunds and fulfillments (lists whose items have
connections of their own, read afterwards by their ids: see registry.Nested). Every amount is
read as a MoneyBag, so shop money and the buyer's (presentment) money both come from Shopify.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from resources import customers, fulfillments, refunds, transactions
from resources import graphql as gql
from resources.fields import normalize_token
from resources.registry import Connection, Pull, PullContext, Pulled, pulled_embedded

ZERO = Decimal(0)
# REST's fulfillment_status: null while unfulfilled, else these (GraphQL's other display
# states -- in progress, on hold, scheduled... -- are still unfulfilled to REST).
_FULFILLMENT = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}
_TAX = f"taxLines {{ title rate priceSet {gql.BAG} channelLiable }}"
_ALLOCATED = f"discountAllocations {{ allocatedAmountSet {gql.BAG} }}"

LINES = Connection(
    "lineItems",
    f"id sku title vendor quantity currentQuantity isGiftCard originalUnitPriceSet {gql.BAG} "
    f"totalDiscountSet {gql.BAG} {_ALLOCATED} {_TAX} product {{ id }} variant {{ id }} "
    f"duties {{ id harmonizedSystemCode countryCodeOfOrigin price {gql.BAG} }}",
    types=("LineItem",),
    page=5,
    rest=40,
)
SHIPPING = Connection(
    "shippingLines",
    f"id title code source isRemoved originalPriceSet {gql.BAG} discountedPriceSet {gql.BAG} "
    f"{_ALLOCATED} {_TAX}",
    types=("ShippingLine",),
    page=3,
    rest=60,
)

FIELDS = (
    "id name email createdAt updatedAt processedAt cancelledAt closedAt cancelReason "
    "displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode "
    "taxesIncluded test sourceName cartToken checkoutToken discountCodes "
    f"totalPriceSet {gql.BAG} subtotalPriceSet {gql.BAG} totalTaxSet {gql.BAG} "
    f"totalDiscountsSet {gql.BAG} totalShippingPriceSet {gql.BAG} "
    f"currentTotalPriceSet {gql.BAG} totalRefundedSet {gql.BAG} totalTipReceivedSet {gql.BAG} "
    f"originalTotalDutiesSet {gql.BAG} {_TAX} "
    f"transactions {{ {transactions.FIELDS} }} {gql.CUSTOMER_REF}"
)


def _summed(items: list[dict[str, Any]], bag: str) -> dict[str, Decimal | None]:
    """Σ of a MoneyBag over items, in shop and presentment money (None: no item names one)."""
    return {
        "shop": gql.total([gql.money(i.get(bag)) for i in items]),
        "presentment": gql.total([gql.presentment(i.get(bag)) for i in items]),
    }


def _money_part(node: dict[str, Any], price: str) -> dict[str, Any]:
    """Unit price, allocated discounts and taxes of a LineItem or ShippingLine node."""
    allocated = _summed(gql.items(node.get("discountAllocations")), "allocatedAmountSet")
    taxed = _summed(gql.items(node.get("taxLines")), "priceSet")
    return {
        **gql.money_pair("price", node.get(price)),
        "discount_allocated": allocated["shop"],
        "discount_allocated_presentment": allocated["presentment"],
        "tax": taxed["shop"],
        "tax_presentment": taxed["presentment"],
    }


def _allocations(nodes: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    return [
        {
            "line_item_id": None,
            "shipping_line_id": None,
            column: gql.numeric_id(node["id"]),
            "application_index": None,
            **gql.money_pair("amount", a.get("allocatedAmountSet")),
        }
        for node in nodes
        for a in gql.items(node.get("discountAllocations"))
    ]


def _tax_lines(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "title": t.get("title"),
            "rate": gql.decimal(t.get("rate")),
            "channel_liable": t.get("channelLiable"),
            **gql.money_pair("price", t.get("priceSet")),
        }
        for t in gql.items(node.get("taxLines"))
    ]


def _line(node: dict[str, Any], duties: list[dict[str, Any]]) -> dict[str, Any]:
    mine = [d for d in duties if d["line_item_id"] == gql.numeric_id(node["id"])]
    return {
        "shopify_id": gql.numeric_id(node["id"]),
        "product_id": gql.ref(node.get("product")),
        "variant_id": gql.ref(node.get("variant")),
        "sku": node.get("sku"),
        "title": node.get("title"),
        "vendor": node.get("vendor"),
        "quantity": int(node.get("quantity") or 0),
        "current_quantity": node.get("currentQuantity"),
        "gift_card": node.get("isGiftCard"),
        "total_discount": gql.money(node.get("totalDiscountSet")),
        **_money_part(node, "originalUnitPriceSet"),
        "duties": gql.total([d["price"] for d in mine]) if mine else None,
        "duties_presentment": gql.total([d["price_presentment"] for d in mine]) if mine else None,
    }


def _duties(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "shopify_id": gql.numeric_id(d["id"]),
            "line_item_id": gql.numeric_id(line["id"]),
            "harmonized_system_code": d.get("harmonizedSystemCode"),
            "country_code_of_origin": d.get("countryCodeOfOrigin"),
            **gql.money_pair("price", d.get("price")),
        }
        for line in lines
        for d in gql.items(line.get("duties"))
    ]


def _values(node: dict[str, Any]) -> dict[str, Any]:
    total = node.get("totalPriceSet")
    duties = node.get("originalTotalDutiesSet")
    return {
        "name": node.get("name"),
        "email": node.get("email"),
        "customer_id": gql.ref(node.get("customer")),
        "financial_status": gql.lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT.get(str(node.get("displayFulfillmentStatus"))),
        "currency": node.get("currencyCode") or gql.currency(total),
        "presentment_currency": node.get("presentmentCurrencyCode"),
        "taxes_included": node.get("taxesIncluded"),
        **gql.money_pair("total_price", total),
        **gql.money_pair("subtotal_price", node.get("subtotalPriceSet")),
        **gql.money_pair("total_tax", node.get("totalTaxSet")),
        **gql.money_pair("total_discounts", node.get("totalDiscountsSet")),
        **gql.money_pair("total_shipping_price", node.get("totalShippingPriceSet")),
        **gql.money_pair("total_refunded", node.get("totalRefundedSet")),
        "total_duties": gql.money(duties) if duties else None,
        "total_tip_received": gql.money(node.get("totalTipReceivedSet")),
        "current_total_price": gql.money(node.get("currentTotalPriceSet")),
        "cancel_reason": gql.lower(node.get("cancelReason")),
        "cart_token": normalize_token(node.get("cartToken")),
        "checkout_token": normalize_token(node.get("checkoutToken")),
        "source_name": node.get("sourceName"),
        "test": node.get("test"),
        "created_at": gql.time(node.get("createdAt")),
        "processed_at": gql.time(node.get("processedAt")),
        "cancelled_at": gql.time(node.get("cancelledAt")),
        "closed_at": gql.time(node.get("closedAt")),
        "updated_at": gql.time(node.get("updatedAt")),
    }


def map_order(node: dict[str, Any], children: list[dict[str, Any]], context: PullContext) -> Pulled:
    """An Order node with its connections read -> the orders row, its money parts as child rows,
    and its refunds, fulfillments, transactions and customer as rows of their own.

    The Admin API has no order_number or checkout_id, and its discount applications say their
    value as a union this mapping does not read: those keep what a webhook wrote (the row
    carries no `discount_applications`). Discount codes come as bare codes.
    """
    order_id = gql.numeric_id(node.get("id"))
    values = _values(node)
    if values["total_refunded"] is None:
        values["total_refunded"] = ZERO
    shipping = gql.items(node.get("shippingLines"))
    duties = _duties(children)
    kids = {
        "line_items": [_line(c, duties) for c in children],
        "shipping_lines": [
            {
                "shopify_id": gql.numeric_id(s["id"]),
                "title": s.get("title"),
                "code": s.get("code"),
                "source": s.get("source"),
                "is_removed": s.get("isRemoved"),
                "discounted_price": gql.money(s.get("discountedPriceSet")),
                **_money_part(s, "originalPriceSet"),
            }
            for s in shipping
        ],
        "discount_allocations": _allocations(children, "line_item_id")
        + _allocations(shipping, "shipping_line_id"),
        "discount_codes": [
            {"code": code, "type": None, "amount": None} for code in node.get("discountCodes") or ()
        ],
        "tax_lines": _tax_lines(node),
        "duties": duties,
    }
    paid = gql.items(node.get("transactions"))
    by_id = {str(t.get("id")): t for t in paid}
    refund_of = {
        str(t.get("id")): gql.numeric_id(r.get("id"))
        for r in gql.items(node.get("refunds"))
        for t in gql.items(r.get("transactions"))
    }
    embedded = [
        refunds.map_refund(r, context, order_id=order_id, transactions_by_id=by_id)
        for r in gql.items(node.get("refunds"))
    ]
    embedded += [
        fulfillments.map_fulfillment(f, context, order_id=order_id)
        for f in gql.items(node.get("fulfillments"))
    ]
    embedded += [
        transactions.map_transaction(
            t, context, order_id=order_id, refund_id=refund_of.get(str(t.get("id")))
        )
        for t in paid
    ]
    if customer := gql.customer_ref(node.get("customer")):
        key = customer.pop("shopify_id")
        embedded.append(pulled_embedded(customers.RESOURCE, context, key, customer))
    return Pulled(order_id, values, kids, embedded)


PULL = Pull(
    connection="orders",
    gid_type="Order",
    fields=FIELDS,
    map_node=map_order,
    connections=(LINES, SHIPPING),
    nested=(refunds.NESTED, fulfillments.NESTED),
    page_size=2,
    single="order",
)
