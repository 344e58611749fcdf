"""Fake orders with their money parts, transactions, refunds and fulfillments (ShopData methods).

Every amount is a MoneyBag: shop money, and the buyer's presentment money converted at the
order's rate, each part converted on its own and every total the sum of its parts in each
currency (so both sides add up, as Shopify's do). Taxes are 8% of each line's discounted price
and of shipping; `taxesIncluded` is false.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from devtools.fake_shopify.scalars import CENT, amount, bag, gid, timestamp

# A store.ShopData, which offers these functions as its methods: naming its class here would
# make the two modules import each other.
ShopData = Any

TAX_RATE = Decimal("0.08")
ZERO = Decimal(0)


def _bag(order: dict[str, Any], value: Decimal) -> dict[str, Any]:
    return bag(value, order["currencyCode"], order["presentmentCurrencyCode"], order["_rate"])


def _sum(order: dict[str, Any], bags: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The MoneyBag of a total: each side the sum of the parts' same side."""
    out = _bag(order, ZERO)
    for side in ("shopMoney", "presentmentMoney"):
        out[side]["amount"] = str(sum((amount(b, side) for b in bags), ZERO).quantize(CENT))
    return out


def _negate(bag_: dict[str, Any]) -> dict[str, Any]:
    out = {**bag_}
    for side in ("shopMoney", "presentmentMoney"):
        out[side] = {**bag_[side], "amount": str(-amount(bag_, side))}
    return out


def _tax_lines(shop: ShopData, order: dict[str, Any], tax: Decimal) -> list[dict[str, Any]]:
    if not tax:
        return []
    line = {"title": "Sales tax", "rate": float(TAX_RATE), "channelLiable": False}
    return [{"__typename": "TaxLine", **line, "priceSet": _bag(order, tax)}]


def add_order(
    shop: ShopData,
    now: datetime | None = None,
    *,
    at: datetime | None = None,
    lines: Sequence[tuple[Decimal, int]] | None = None,
    shipping: Decimal | None = None,
    discount: tuple[str, Decimal] | None = None,
    presentment_currency: str | None = None,
    rate: Decimal = Decimal(1),
) -> dict[str, Any]:
    """A paid order with one sale transaction. `at`: created (and updated) then, else some time
    in the 30 days before `now`; `lines`: (unit price, quantity) of custom items, else 1-4
    lines of the shop's products; `shipping`: one shipping line of that price; `discount`:
    a code and the amount it takes off the first line; `presentment_currency` at `rate`
    (presentment units per shop unit) for the buyer's money."""
    with shop.lock:
        created, updated = (at, at) if at else shop.times(now or datetime.now(UTC))
        number = shop.next_id("Order")
        order = _skeleton(shop, number, created, updated, presentment_currency, rate)
        chosen: Sequence[tuple[Any, ...]] = lines or [
            _product_line(shop) for _ in range(shop.rng.randint(1, 4))
        ]
        off = discount[1] if discount else ZERO
        for i, line in enumerate(chosen):
            order["lineItems"].append(_line_item(shop, order, line, off if i == 0 else ZERO))
        if shipping is not None:
            order["shippingLines"].append(_shipping_line(shop, order, shipping))
        if discount:
            order["discountCodes"] = [discount[0]]
        _set_totals(shop, order)
        shop.nodes["Order"][order["id"]] = order
        add_transaction(shop, order["id"], kind="SALE", value=order["totalPriceSet"], at=created)
        order["updatedAt"] = timestamp(updated)
        return order


def _skeleton(
    shop: ShopData,
    n: int,
    created: datetime,
    updated: datetime,
    presentment: str | None,
    rate: Decimal,
) -> dict[str, Any]:
    customers = shop.nodes["Customer"]
    customer = customers[shop.rng.choice(list(customers))] if customers else None
    return {
        "__typename": "Order",
        "id": gid("Order", n),
        "legacyResourceId": str(n),
        "name": f"#{1000 + n % 10**9}",
        "email": customer and customer["defaultEmailAddress"]["emailAddress"],
        "createdAt": timestamp(created),
        "updatedAt": timestamp(updated),
        "processedAt": timestamp(created),
        "cancelledAt": None,
        "closedAt": None,
        "cancelReason": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": "USD",
        "presentmentCurrencyCode": presentment or "USD",
        "_rate": rate,
        "taxesIncluded": False,
        "test": False,
        "sourceName": "web",
        "cartToken": uuid.UUID(int=shop.rng.getrandbits(128)).hex,
        "checkoutToken": uuid.UUID(int=shop.rng.getrandbits(128)).hex,
        "discountCodes": [],
        "customer": customer,
        "lineItems": [],
        "shippingLines": [],
        "transactions": [],
        "refunds": [],
        "fulfillments": [],
        "originalTotalDutiesSet": None,
    }


def _product_line(shop: ShopData) -> tuple[Decimal, int, dict[str, Any] | None, Any]:
    products = shop.nodes["Product"]
    product = products[shop.rng.choice(list(products))] if products else None
    variant = shop.rng.choice(product["variants"]) if product else None
    price = Decimal(variant["price"]) if variant else Decimal("10.00")
    return price, shop.rng.randint(1, 3), product, variant


def _line_item(
    shop: ShopData, order: dict[str, Any], line: tuple[Any, ...], off: Decimal
) -> dict[str, Any]:
    price, quantity = line[0], line[1]
    product, variant = (line[2], line[3]) if len(line) > 2 else (None, None)
    off = min(off, price * quantity)
    allocations = [{"__typename": "DiscountAllocation", "allocatedAmountSet": _bag(order, off)}]
    tax = ((price * quantity - off) * TAX_RATE).quantize(CENT)
    return shop.new_node(
        "LineItem",
        sku=variant["sku"] if variant else None,
        title=product["title"] if product else "Custom item",
        vendor=product["vendor"] if product else None,
        quantity=quantity,
        currentQuantity=quantity,
        isGiftCard=False,
        originalUnitPriceSet=_bag(order, price),
        totalDiscountSet=_bag(order, off),
        discountAllocations=allocations if off else [],
        taxLines=_tax_lines(shop, order, tax),
        product=product,
        variant=variant,
        duties=[],
    )


def _shipping_line(shop: ShopData, order: dict[str, Any], price: Decimal) -> dict[str, Any]:
    tax = (price * TAX_RATE).quantize(CENT)
    return shop.new_node(
        "ShippingLine",
        title="Standard",
        code="STANDARD",
        source="shopify",
        isRemoved=False,
        originalPriceSet=_bag(order, price),
        discountedPriceSet=_bag(order, price),
        discountAllocations=[],
        taxLines=_tax_lines(shop, order, tax),
    )


def _line_net(order: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    gross = [line["originalUnitPriceSet"]] * line["quantity"]
    return _sum(order, [*gross, _negate(line["totalDiscountSet"])])


def _set_totals(shop: ShopData, order: dict[str, Any]) -> None:
    taxed = [*order["lineItems"], *order["shippingLines"]]
    taxes = [t["priceSet"] for part in taxed for t in part["taxLines"]]
    subtotal = _sum(order, [_line_net(order, li) for li in order["lineItems"]])
    ship = _sum(order, [s["discountedPriceSet"] for s in order["shippingLines"]])
    tax = _sum(order, taxes)
    order["subtotalPriceSet"] = subtotal
    order["totalShippingPriceSet"] = ship
    order["totalTaxSet"] = tax
    order["taxLines"] = _tax_lines(shop, order, amount(tax))
    if order["taxLines"]:
        order["taxLines"][0]["priceSet"] = tax  # the sum of the lines' taxes, both sides
    order["totalDiscountsSet"] = _sum(order, [li["totalDiscountSet"] for li in order["lineItems"]])
    order["totalPriceSet"] = _sum(order, [subtotal, ship, tax])
    order["currentTotalPriceSet"] = order["totalPriceSet"]
    order["totalRefundedSet"] = _bag(order, ZERO)
    order["totalTipReceivedSet"] = _bag(order, ZERO)


def add_transaction(
    shop: ShopData,
    order_id: str,
    *,
    kind: str = "CAPTURE",
    value: Decimal | dict[str, Any],
    status: str = "SUCCESS",
    at: datetime | None = None,
    parent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An OrderTransaction of the order (`value`: a shop-money amount or a MoneyBag)."""
    with shop.lock:
        order = shop.nodes["Order"][order_id]
        when = timestamp(at or datetime.now(UTC))
        transaction = shop.new_node(
            "OrderTransaction",
            kind=kind,
            status=status,
            gateway="bogus",
            amountSet=value if isinstance(value, dict) else _bag(order, value),
            parentTransaction=parent,
            processedAt=when,
            createdAt=when,
            test=False,
            errorCode=None,
        )
        order["transactions"].append(transaction)
        order["updatedAt"] = max(order["updatedAt"], when)
        return transaction


def add_refund(
    shop: ShopData,
    order_id: str,
    *,
    lines: dict[str, int] | None = None,
    shipping: bool = False,
    adjustment: Decimal | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Refund `lines` (line item id -> quantity; None: every unit still on the order, restocked
    at the first location), the shipping if asked, and a refund discrepancy `adjustment`
    (negative: that much less than the parts come to). One refund transaction pays it; the
    order's refunded total, current total, status and updatedAt follow."""
    with shop.lock:
        order = shop.nodes["Order"][order_id]
        when = at or datetime.now(UTC)
        chosen = lines if lines is not None else _remaining(order)
        refund = shop.new_node(
            "Refund",
            createdAt=timestamp(when),
            updatedAt=timestamp(when),
            note=note,
            duties=[],
            refundLineItems=[_refund_line(shop, order, i, q) for i, q in chosen.items()],
            refundShippingLines=[
                _refund_shipping(shop, order, s) for s in order["shippingLines"] if shipping
            ],
            orderAdjustments=[_adjustment(shop, order, adjustment)] if adjustment else [],
        )
        refund["totalRefundedSet"] = _sum(order, _refund_parts(refund))
        sale = next((t for t in order["transactions"] if t["kind"] == "SALE"), None)
        paid = add_transaction(
            shop, order_id, kind="REFUND", value=refund["totalRefundedSet"], at=when, parent=sale
        )
        refund["transactions"] = [paid]
        order["refunds"].append(refund)
        _after_refund(order, when)
        return refund


def _remaining(order: dict[str, Any]) -> dict[str, int]:
    return {li["id"]: li["currentQuantity"] for li in order["lineItems"] if li["currentQuantity"]}


def _refund_line(shop: ShopData, order: dict[str, Any], line_id: str, qty: int) -> dict[str, Any]:
    line = shop.index[line_id]
    share = Decimal(qty) / line["quantity"]
    net = amount(_line_net(order, line))
    tax = sum((amount(t["priceSet"]) for t in line["taxLines"]), ZERO)
    line["currentQuantity"] -= qty
    return shop.new_node(
        "RefundLineItem",
        quantity=qty,
        restockType="RETURN",
        location=shop.location(0),
        lineItem=line,
        subtotalSet=_bag(order, (net * share).quantize(CENT)),
        totalTaxSet=_bag(order, (tax * share).quantize(CENT)),
    )


def _refund_shipping(shop: ShopData, order: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    return shop.new_node(
        "RefundShippingLine",
        shippingLine=line,
        subtotalAmountSet=line["discountedPriceSet"],
        taxAmountSet=_sum(order, [t["priceSet"] for t in line["taxLines"]]),
    )


def _adjustment(shop: ShopData, order: dict[str, Any], value: Decimal) -> dict[str, Any]:
    return shop.new_node(
        "OrderAdjustment",
        amountSet=_bag(order, value),
        taxAmountSet=_bag(order, ZERO),
        reason="REFUND_DISCREPANCY",
    )


def _refund_parts(refund: dict[str, Any]) -> list[dict[str, Any]]:
    goods = [b for r in refund["refundLineItems"] for b in (r["subtotalSet"], r["totalTaxSet"])]
    ship = [
        b
        for s in refund["refundShippingLines"]
        for b in (s["subtotalAmountSet"], s["taxAmountSet"])
    ]
    adjusted = [b for a in refund["orderAdjustments"] for b in (a["amountSet"], a["taxAmountSet"])]
    return goods + ship + adjusted


def _after_refund(order: dict[str, Any], when: datetime) -> None:
    refunded = _sum(order, [r["totalRefundedSet"] for r in order["refunds"]])
    order["totalRefundedSet"] = refunded
    order["currentTotalPriceSet"] = _sum(order, [order["totalPriceSet"], _negate(refunded)])
    full = amount(refunded) >= amount(order["totalPriceSet"])
    order["displayFinancialStatus"] = "REFUNDED" if full else "PARTIALLY_REFUNDED"
    order["updatedAt"] = max(order["updatedAt"], timestamp(when))


def add_fulfillment(
    shop: ShopData,
    order_id: str,
    *,
    lines: dict[str, int] | None = None,
    at: datetime | None = None,
    tracking_number: str | None = None,
    location: int = 0,
) -> dict[str, Any]:
    """Ship `lines` (line item id -> quantity; None: everything not yet shipped) from a
    location; the order's fulfillment status and updatedAt follow."""
    with shop.lock:
        order = shop.nodes["Order"][order_id]
        when = timestamp(at or datetime.now(UTC))
        shipped = _shipped(order)
        chosen = lines or {
            li["id"]: li["currentQuantity"] - shipped.get(li["id"], 0) for li in order["lineItems"]
        }
        number = tracking_number or f"1Z{shop.rng.getrandbits(40):012d}"
        tracking = {"company": "UPS", "number": number, "url": f"https://ups.test/{number}"}
        fulfillment = shop.new_node(
            "Fulfillment",
            name=f"{order['name']}-F{len(order['fulfillments']) + 1}",
            status="SUCCESS",
            createdAt=when,
            updatedAt=when,
            location=shop.location(location),
            trackingInfo=[{"__typename": "FulfillmentTrackingInfo", **tracking}],
            fulfillmentLineItems=[
                shop.new_node("FulfillmentLineItem", quantity=q, lineItem=shop.index[i])
                for i, q in chosen.items()
                if q > 0
            ],
        )
        order["fulfillments"].append(fulfillment)
        done = _shipped(order)
        whole = all(done.get(li["id"], 0) >= li["currentQuantity"] for li in order["lineItems"])
        order["displayFulfillmentStatus"] = "FULFILLED" if whole else "PARTIALLY_FULFILLED"
        order["updatedAt"] = max(order["updatedAt"], when)
        return fulfillment


def _shipped(order: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in order["fulfillments"]:
        for line in f["fulfillmentLineItems"]:
            out[line["lineItem"]["id"]] = out.get(line["lineItem"]["id"], 0) + line["quantity"]
    return out


def seed_refund_cases(shop: ShopData, now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Orders whose money tells a story, by name (see the docstring of each case below)."""
    now = now or datetime.now(UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    # Bought in euros: partly refunded, with its shipping and a 2.00 discrepancy, then shipped.
    partial = shop.add_order(
        at=now - timedelta(hours=6),
        lines=[(Decimal("40.00"), 2), (Decimal("25.00"), 1)],
        shipping=Decimal("10.00"),
        discount=("SAVE5", Decimal("5.00")),
        presentment_currency="EUR",
        rate=Decimal("0.9"),
    )
    first = partial["lineItems"][0]["id"]
    shop.add_refund(
        partial["id"],
        lines={first: 1},
        shipping=True,
        adjustment=Decimal("-2.00"),
        note="Damaged",
        at=now - timedelta(hours=3),
    )
    shop.add_fulfillment(partial["id"], at=now - timedelta(hours=2))
    # Bought last month, wholly refunded this month.
    later = shop.add_order(at=month - timedelta(days=5), lines=[(Decimal("30.00"), 1)])
    shop.add_refund(later["id"], at=now - timedelta(minutes=30))
    # Shipped in two parts, never refunded.
    shipped = shop.add_order(at=now - timedelta(days=2), lines=[(Decimal("12.50"), 4)])
    line = shipped["lineItems"][0]["id"]
    shop.add_fulfillment(shipped["id"], lines={line: 1}, at=now - timedelta(days=1))
    shop.add_fulfillment(shipped["id"], at=now - timedelta(hours=1))
    return {"partial": partial, "later_month": later, "shipped": shipped}
