"""A shop's sales of March and April 2026 as Shopify delivers them, for the sales report tests.

Payloads start from Shopify's own samples (devtools/samples) and keep every money field
consistent: unit prices and their `*_set`, discount allocations and the applications they point
at, line, shipping and order taxes, duties, totals, and refunds computed from the order's lines.
Amounts are in shop money (USD) and, converted amount by amount, in the buyer's currency, as
Shopify computes them. Each `Sale` yields the deliveries Shopify makes for it: orders/create,
refunds/create and the orders/updated that follows each refund, orders/cancelled, orders/delete.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.samples import sample_json

Payload = dict[str, Any]
Delivery = tuple[str, Payload]
CENT = Decimal("0.01")
NY = ZoneInfo("America/New_York")
TAX = "0.08875"  # New York City's sales tax rate
PRODUCT, VARIANT, ITEM = (
    6_100_000_000_000_000_000,
    6_200_000_000_000_000_000,
    6_300_000_000_000_000_000,
)
ORDER, LINE, SHIP = 7_100_000_000_000_000_000, 7_200_000_000_000_000_000, 7_300_000_000_000_000_000
REFUND, PART = 7_400_000_000_000_000_000, 10**17  # refund parts: refund id + k * PART + index

_ORDER = sample_json("orders_create")
_REFUND = sample_json("2026-04/refunds_create")
_PRODUCT = sample_json("2026-04/products_create")
_ITEM = sample_json("2026-04/inventory_items_create")
_FULFILLMENT = sample_json("2026-04/fulfillments_create")
_TRANSACTION = sample_json("2026-04/order_transactions_create")


def ny(local: str) -> str:
    """'2026-03-08 01:30' in New York as Shopify writes it: '2026-03-08T01:30:00-05:00'."""
    return datetime.fromisoformat(local).replace(tzinfo=NY).isoformat()


def later(timestamp: str, minutes: int) -> str:
    return (
        (datetime.fromisoformat(timestamp) + timedelta(minutes=minutes)).astimezone(NY).isoformat()
    )


def text(amount: Decimal) -> str:
    return f"{abs(amount) if amount == 0 else amount:.2f}"


@dataclass(frozen=True)
class Amount:
    """One amount in shop money and in the buyer's (presentment) money."""

    shop: Decimal
    presentment: Decimal

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.shop + other.shop, self.presentment + other.presentment)

    def __sub__(self, other: Amount) -> Amount:
        return self + -other

    def __neg__(self) -> Amount:
        return Amount(-self.shop, -self.presentment)

    def times(self, quantity: int) -> Amount:
        return Amount(self.shop * quantity, self.presentment * quantity)

    def share(self, part: int, whole: int) -> Amount:
        """`part` of `whole` units, each currency rounded to the cent on its own."""
        return Amount(*(_cent(x * part / whole) for x in (self.shop, self.presentment)))


NOTHING = Amount(Decimal(0), Decimal(0))


def _cent(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def total(amounts: Iterable[Amount]) -> Amount:
    return sum(amounts, NOTHING)


@dataclass(frozen=True)
class Currency:
    code: str
    rate: Decimal  # buyer's units per shop unit

    def amount(self, shop: str | Decimal) -> Amount:
        return Amount(Decimal(shop), _cent(Decimal(shop) * self.rate))

    def bag(self, amount: Amount) -> Payload:
        return {
            "shop_money": {"amount": text(amount.shop), "currency_code": USD.code},
            "presentment_money": {"amount": text(amount.presentment), "currency_code": self.code},
        }


USD = Currency("USD", Decimal(1))
EUR = Currency("EUR", Decimal("0.9231"))


def taxed(base: Amount, rate: str | None, included: bool) -> Amount:
    """Tax on `base` (or, with prices that include tax, the tax inside it), cent by cent."""
    if rate is None:
        return NOTHING
    r = Decimal(rate)
    factor = r / (1 + r) if included else r
    return Amount(_cent(base.shop * factor), _cent(base.presentment * factor))


@dataclass(frozen=True)
class Variant:
    id: int
    product_id: int
    title: str
    sku: str
    inventory_item_id: int


@dataclass(frozen=True)
class Line:
    id: int
    title: str
    price: str
    quantity: int
    variant: Variant | None = None  # None: a custom line, nothing to cost
    discounts: tuple[tuple[int, str], ...] = ()  # (discount application index, shop amount)
    tax_rate: str | None = TAX
    duty: str | None = None
    gift_card: bool = False


@dataclass(frozen=True)
class Shipping:
    id: int
    title: str
    price: str
    discounts: tuple[tuple[int, str], ...] = ()
    tax_rate: str | None = TAX


@dataclass(frozen=True)
class Refund:
    id: int
    at: str
    lines: tuple[tuple[int, int], ...] = ()  # (line id, quantity)
    shipping: str | None = None  # "lines", "adjustment" or "both": all the order's shipping
    discrepancy: tuple[str, str] | None = None  # (amount, tax): refunded less (+) or more (-)
    duties: bool = False  # with the refunded lines' duties
    dated: bool = True  # False: no processed_at, created_at dates it


@dataclass(frozen=True)
class Sale:
    number: int
    placed: str
    lines: tuple[Line, ...]
    shipping: tuple[Shipping, ...] = ()
    applications: tuple[Payload, ...] = ()
    currency: Currency = USD
    taxes_included: bool = False
    test: bool = False
    tip: str = "0.00"
    dated: bool = True  # False: no processed_at, created_at dates it
    refunds: tuple[Refund, ...] = ()
    cancelled_at: str | None = None
    deleted: bool = False

    @property
    def id(self) -> int:
        return ORDER + self.number

    def line(self, line_id: int) -> Line:
        return next(line for line in self.lines if line.id == line_id)

    def amount(self, shop: str | Decimal) -> Amount:
        return self.currency.amount(shop)

    def bag(self, amount: Amount) -> Payload:
        return self.currency.bag(amount)

    def gross(self, line: Line) -> Amount:
        return self.amount(line.price).times(line.quantity)

    def allocated(self, item: Line | Shipping) -> Amount:
        return total(self.amount(a) for _, a in item.discounts)

    def line_tax(self, line: Line) -> Amount:
        return taxed(self.gross(line) - self.allocated(line), line.tax_rate, self.taxes_included)

    def charged(self, s: Shipping) -> Amount:
        return self.amount(s.price) - self.allocated(s)

    def shipping_tax(self, s: Shipping) -> Amount:
        return taxed(self.charged(s), s.tax_rate, self.taxes_included)

    def duty(self, line: Line) -> Amount:
        return self.amount(line.duty) if line.duty else NOTHING


def discount(
    index: int, code: str, value: str, value_type: str, *, target: str = "line_item", selection: str
) -> Payload:
    """A discount code application (REST `discount_applications[index]`)."""
    return {
        "index": index,
        "target_type": target,
        "type": "discount_code",
        "value": value,
        "value_type": value_type,
        "allocation_method": "across" if selection == "all" and target == "line_item" else "each",
        "target_selection": selection,
        "code": code,
    }


def _allocations(sale: Sale, item: Line | Shipping) -> list[Payload]:
    return [
        {
            "amount": text(Decimal(a)),
            "amount_set": sale.bag(sale.amount(a)),
            "discount_application_index": i,
        }
        for i, a in item.discounts
    ]


def _tax_lines(sale: Sale, amount: Amount, rate: str | None) -> list[Payload]:
    if rate is None:
        return []
    return [
        {
            "channel_liable": False,
            "price": text(amount.shop),
            "price_set": sale.bag(amount),
            "rate": float(rate),
            "title": "NY Sales Tax",
        }
    ]


def line_payload(sale: Sale, line: Line, refunded: int = 0) -> Payload:
    p = copy.deepcopy(_ORDER["line_items"][0])
    variant = line.variant
    duties = []
    if line.duty:
        duty = sale.duty(line)
        duties.append(
            {
                "id": str(line.id),
                "harmonized_system_code": "940360",
                "country_code_of_origin": "US",
                "shop_money": sale.bag(duty)["shop_money"],
                "presentment_money": sale.bag(duty)["presentment_money"],
                "tax_lines": [],
                "admin_graphql_api_id": f"gid://shopify/Duty/{line.id}",
            }
        )
    p.update(
        id=line.id,
        admin_graphql_api_id=f"gid://shopify/LineItem/{line.id}",
        attributed_staffs=[],
        current_quantity=line.quantity - refunded,
        fulfillable_quantity=line.quantity - refunded,
        gift_card=line.gift_card,
        name=line.title,
        title=line.title,
        price=line.price,
        price_set=sale.bag(sale.amount(line.price)),
        product_exists=variant is not None,
        product_id=variant.product_id if variant else None,
        variant_id=variant.id if variant else None,
        variant_title=variant.title if variant else None,
        sku=variant.sku if variant else None,
        quantity=line.quantity,
        requires_shipping=not line.gift_card,
        taxable=line.tax_rate is not None,
        sales_line_item_group_id=None,
        vendor="Cartwheel Goods",
        total_discount=text(sale.allocated(line).shop),
        total_discount_set=sale.bag(sale.allocated(line)),
        discount_allocations=_allocations(sale, line),
        tax_lines=_tax_lines(sale, sale.line_tax(line), line.tax_rate),
        duties=duties,
    )
    return p


def shipping_payload(sale: Sale, s: Shipping) -> Payload:
    p = copy.deepcopy(_ORDER["shipping_lines"][0])
    p.update(
        id=s.id,
        title=s.title,
        code=s.title,
        price=s.price,
        price_set=sale.bag(sale.amount(s.price)),
        discounted_price=text(sale.charged(s).shop),
        discounted_price_set=sale.bag(sale.charged(s)),
        current_discounted_price_set=sale.bag(sale.charged(s)),
        discount_allocations=_allocations(sale, s),
        tax_lines=_tax_lines(sale, sale.shipping_tax(s), s.tax_rate),
    )
    return p


@dataclass(frozen=True)
class Refunded:
    """What one refund gives back, by part."""

    goods: Amount
    taxes: Amount
    shipping: Amount
    shipping_tax: Amount
    duties: Amount
    discrepancy: Amount
    discrepancy_tax: Amount

    @property
    def paid(self) -> Amount:
        return (
            self.goods + self.taxes + self.shipping + self.shipping_tax + self.duties
            - self.discrepancy - self.discrepancy_tax
        )  # fmt: skip


def refunded(sale: Sale, refund: Refund) -> Refunded:
    goods = taxes = duties = NOTHING
    for line_id, quantity in refund.lines:
        line = sale.line(line_id)
        goods += (sale.gross(line) - sale.allocated(line)).share(quantity, line.quantity)
        taxes += sale.line_tax(line).share(quantity, line.quantity)
        duties += sale.duty(line) if refund.duties else NOTHING
    if sale.taxes_included:
        taxes = NOTHING  # inside the goods already
    shipped = refund.shipping is not None
    amount, tax = (sale.amount(x) for x in refund.discrepancy or ("0", "0"))
    return Refunded(
        goods,
        taxes,
        total(sale.charged(s) for s in sale.shipping) if shipped else NOTHING,
        total(sale.shipping_tax(s) for s in sale.shipping) if shipped else NOTHING,
        duties,
        amount,
        tax,
    )


def _adjustment(
    sale: Sale, refund: Refund, n: int, kind: str, amount: Amount, tax: Amount
) -> Payload:
    return {
        "id": refund.id + 2 * PART + n,
        "order_id": sale.id,
        "refund_id": refund.id,
        "amount": text(amount.shop),
        "amount_set": sale.bag(amount),
        "tax_amount": text(tax.shop),
        "tax_amount_set": sale.bag(tax),
        "kind": kind,
        "reason": "Shipping refund" if kind == "shipping_refund" else "Refund discrepancy",
    }


def refund_payload(sale: Sale, refund: Refund) -> Payload:
    p = copy.deepcopy(_REFUND)
    money = refunded(sale, refund)
    lines = []
    for n, (line_id, quantity) in enumerate(refund.lines):
        line = sale.line(line_id)
        subtotal = (sale.gross(line) - sale.allocated(line)).share(quantity, line.quantity)
        tax = sale.line_tax(line).share(quantity, line.quantity)
        item = copy.deepcopy(_REFUND["refund_line_items"][0])
        item.update(
            id=refund.id + PART + n,
            quantity=quantity,
            line_item_id=line.id,
            restock_type="no_restock" if line.gift_card or line.variant is None else "return",
            subtotal=float(subtotal.shop),  # a JSON number, as Shopify sends it
            subtotal_set=sale.bag(subtotal),
            total_tax=float(tax.shop),
            total_tax_set=sale.bag(tax),
            line_item=line_payload(sale, line),
        )
        lines.append(item)
    shipping_lines, adjustments = [], []
    if refund.shipping in ("lines", "both"):
        for n, s in enumerate(sale.shipping):
            shipping_lines.append(
                {
                    "id": refund.id + 3 * PART + n,
                    "shipping_line_id": s.id,
                    "subtotal_amount_set": sale.bag(sale.charged(s)),
                    "tax_amount_set": sale.bag(sale.shipping_tax(s)),
                    "shipping_line": shipping_payload(sale, s),
                }
            )
    if refund.shipping in ("adjustment", "both"):
        adjustments.append(
            _adjustment(sale, refund, 0, "shipping_refund", -money.shipping, -money.shipping_tax)
        )
    if refund.discrepancy:
        adjustments.append(
            _adjustment(
                sale, refund, 1, "refund_discrepancy", money.discrepancy, money.discrepancy_tax
            )
        )
    transaction = copy.deepcopy(_REFUND["transactions"][0])
    transaction.update(
        id=refund.id + 4 * PART,
        order_id=sale.id,
        kind="refund",
        status="success",
        created_at=refund.at,
        processed_at=refund.at,
        amount=text(money.paid.presentment),  # the buyer's currency, as Shopify sends it
        currency=sale.currency.code,
        admin_graphql_api_id=f"gid://shopify/OrderTransaction/{refund.id + 4 * PART}",
    )
    p.update(
        id=refund.id,
        order_id=sale.id,
        admin_graphql_api_id=f"gid://shopify/Refund/{refund.id}",
        created_at=refund.at,
        processed_at=refund.at if refund.dated else None,
        note="Returned by the customer",
        restock=any(item["restock_type"] == "return" for item in lines),
        refund_line_items=lines,
        refund_shipping_lines=shipping_lines,
        order_adjustments=adjustments,
        duties=[
            {"duty_id": line_id, "amount_set": sale.bag(sale.duty(sale.line(line_id)))}
            for line_id, _ in refund.lines
            if refund.duties and sale.line(line_id).duty
        ],
        total_duties_set=sale.bag(money.duties),
        transactions=[transaction],
    )
    return p


def order_payload(
    sale: Sale, updated_at: str, refunds: tuple[Refund, ...] = (), cancelled: bool = False
) -> Payload:
    """One version of the order: after `refunds`, and cancelled or not."""
    p = copy.deepcopy(_ORDER)
    back = {line.id: 0 for line in sale.lines}
    for refund in refunds:
        for line_id, quantity in refund.lines:
            back[line_id] += quantity
    line_items = total(sale.gross(line) for line in sale.lines)
    line_discounts = total(sale.allocated(line) for line in sale.lines)
    shipping_discounts = total(sale.allocated(s) for s in sale.shipping)
    subtotal = line_items - line_discounts
    shipping = total(sale.amount(s.price) for s in sale.shipping)
    tax = total(sale.line_tax(line) for line in sale.lines) + total(
        sale.shipping_tax(s) for s in sale.shipping
    )
    duties = total(sale.duty(line) for line in sale.lines)
    tip = sale.amount(sale.tip)
    price = subtotal + shipping - shipping_discounts + duties + tip
    price += NOTHING if sale.taxes_included else tax
    paid_back = total(refunded(sale, r).paid for r in refunds)
    status = "paid"
    if refunds:
        status = "refunded" if paid_back == price else "partially_refunded"
    taxes = _tax_lines(sale, tax, TAX) if tax.shop else []
    p.update(
        id=sale.id,
        admin_graphql_api_id=f"gid://shopify/Order/{sale.id}",
        name=f"#{1000 + sale.number}",
        number=sale.number,
        order_number=1000 + sale.number,
        token=uuid.uuid5(uuid.NAMESPACE_URL, str(sale.id)).hex,
        email=f"buyer{sale.number}@example.com",
        contact_email=f"buyer{sale.number}@example.com",
        created_at=sale.placed,
        processed_at=sale.placed if sale.dated else None,
        updated_at=updated_at,
        cancelled_at=sale.cancelled_at if cancelled else None,
        cancel_reason="customer" if cancelled else None,
        closed_at=None,
        test=sale.test,
        financial_status=status,
        fulfillment_status=None,
        currency=USD.code,
        presentment_currency=sale.currency.code,
        taxes_included=sale.taxes_included,
        total_line_items_price=text(line_items.shop),
        total_line_items_price_set=sale.bag(line_items),
        total_discounts=text((line_discounts + shipping_discounts).shop),
        total_discounts_set=sale.bag(line_discounts + shipping_discounts),
        current_total_discounts=text((line_discounts + shipping_discounts).shop),
        current_total_discounts_set=sale.bag(line_discounts + shipping_discounts),
        subtotal_price=text(subtotal.shop),
        subtotal_price_set=sale.bag(subtotal),
        current_subtotal_price=text(subtotal.shop),
        current_subtotal_price_set=sale.bag(subtotal),
        total_shipping_price_set=sale.bag(shipping),
        current_shipping_price_set=sale.bag(shipping - shipping_discounts),
        total_tax=text(tax.shop),
        total_tax_set=sale.bag(tax),
        current_total_tax=text(tax.shop),
        current_total_tax_set=sale.bag(tax),
        tax_lines=taxes,
        original_total_duties_set=sale.bag(duties) if duties.shop else None,
        current_total_duties_set=sale.bag(duties) if duties.shop else None,
        duties_included=False,
        total_tip_received=sale.tip,
        total_price=text(price.shop),
        total_price_set=sale.bag(price),
        current_total_price=text((price - paid_back).shop),
        current_total_price_set=sale.bag(price - paid_back),
        total_outstanding="0.00",
        discount_applications=[
            {k: v for k, v in a.items() if k != "index"} for a in sale.applications
        ],
        discount_codes=_codes(sale),
        line_items=[line_payload(sale, line, back[line.id]) for line in sale.lines],
        shipping_lines=[shipping_payload(sale, s) for s in sale.shipping],
        refunds=[refund_payload(sale, r) for r in refunds],
        fulfillments=[],
        returns=[],
        line_item_groups=[],
        customer=None,
    )
    return p


def _codes(sale: Sale) -> list[Payload]:
    items: list[Line | Shipping] = [*sale.lines, *sale.shipping]
    return [
        {
            "code": a["code"],
            "amount": text(
                sum(
                    (Decimal(x) for i in items for n, x in i.discounts if n == a["index"]),
                    Decimal(0),
                )
            ),
            "type": "shipping" if a["target_type"] == "shipping_line" else a["value_type"],
        }
        for a in sale.applications
    ]


def sale_deliveries(sale: Sale) -> Iterator[Delivery]:
    """Shopify's deliveries for one order, each version newer than the one before."""
    yield "orders/create", order_payload(sale, sale.placed)
    for n, refund in enumerate(sale.refunds):
        yield "refunds/create", refund_payload(sale, refund)
        yield "orders/updated", order_payload(sale, later(refund.at, 1), sale.refunds[: n + 1])
    if sale.cancelled_at:
        yield (
            "orders/cancelled",
            order_payload(sale, later(sale.cancelled_at, 2), sale.refunds, True),
        )
    if sale.deleted:
        yield "orders/delete", {"id": sale.id}


def product_payload(
    product_id: int, title: str, variants: tuple[Variant, ...], price: str
) -> Payload:
    p = copy.deepcopy(_PRODUCT)
    template = _PRODUCT["variants"][0]
    at = ny("2026-02-01 09:00")
    rows = [
        template
        | {
            "id": v.id,
            "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
            "product_id": product_id,
            "title": v.title,
            "sku": v.sku,
            "price": price,
            "compare_at_price": None,
            "position": n + 1,
            "inventory_item_id": v.inventory_item_id,
            "created_at": at,
            "updated_at": at,
        }
        for n, v in enumerate(variants)
    ]
    p.update(
        id=product_id,
        admin_graphql_api_id=f"gid://shopify/Product/{product_id}",
        title=title,
        handle=title.lower().replace(" ", "-"),
        vendor="Cartwheel Goods",
        created_at=at,
        updated_at=at,
        published_at=at,
        variants=rows,
        variant_gids=[
            {"admin_graphql_api_id": r["admin_graphql_api_id"], "updated_at": at} for r in rows
        ],
    )
    return p


def item_payload(
    variant: Variant, cost: str | None, at: str, created_at: str | None = None
) -> Payload:
    """An inventory item version: its unit cost (shop money, None: not recorded) from `at`."""
    return _ITEM | {
        "id": variant.inventory_item_id,
        "admin_graphql_api_id": f"gid://shopify/InventoryItem/{variant.inventory_item_id}",
        "sku": variant.sku,
        "cost": cost,
        "created_at": created_at or at,
        "updated_at": at,
    }


def _variant(n: int, title: str, sku: str, product: int) -> Variant:
    return Variant(VARIANT + n, PRODUCT + product, title, sku, ITEM + n)


BLACK = _variant(1, "Black", "SUN-BLACK", 1)
GOLD = _variant(2, "Gold", "SUN-GOLD", 1)
TABLE = _variant(3, "Walnut", "TABLE-WALNUT", 2)
CASE = _variant(4, "Brown", "CASE-BROWN", 3)
GIFT = _variant(5, "$50", "GIFT-50", 4)
FEB = ny("2026-02-01 09:00")


def catalogue(costs: float = 1) -> list[Delivery]:
    """Products whose variants carry their inventory items, and the items' unit costs.

    Black's cost changes on 15 March at noon, after some of its sales; Gold's cost has a third
    decimal, so sums of it need rounding; Table's first cost arrives on 20 March, after sales
    of it; Case and the gift card have no cost recorded.
    """

    def cost(amount: str) -> str:
        return str(Decimal(amount) * Decimal(str(costs)))

    return [
        (
            "products/create",
            product_payload(PRODUCT + 1, "Aviator sunglasses", (BLACK, GOLD), "30.00"),
        ),
        ("products/create", product_payload(PRODUCT + 2, "Coffee table", (TABLE,), "120.00")),
        ("products/create", product_payload(PRODUCT + 3, "Leather case", (CASE,), "25.00")),
        ("products/create", product_payload(PRODUCT + 4, "Gift card", (GIFT,), "50.00")),
        ("inventory_items/create", item_payload(BLACK, cost("12.00"), FEB)),
        ("inventory_items/update", item_payload(BLACK, cost("15.00"), ny("2026-03-15 12:00"), FEB)),
        ("inventory_items/create", item_payload(GOLD, cost("4.125"), FEB)),
        ("inventory_items/update", item_payload(GOLD, cost("4.125"), ny("2026-04-01 08:00"), FEB)),
        ("inventory_items/create", item_payload(TABLE, cost("60.00"), ny("2026-03-20 08:00"))),
        (
            "inventory_items/update",
            item_payload(TABLE, cost("65.00"), ny("2026-04-10 09:00"), ny("2026-03-20 08:00")),
        ),
        ("inventory_items/create", item_payload(CASE, None, FEB)),
        ("inventory_items/create", item_payload(GIFT, None, FEB)),
    ]


def _line(
    order: int, k: int, title: str, price: str, quantity: int, variant: Variant | None, **kw: Any
) -> Line:
    return Line(LINE + order * 100 + k, title, price, quantity, variant, **kw)


def _ship(order: int, price: str, title: str = "Standard", **kw: Any) -> tuple[Shipping, ...]:
    return (Shipping(SHIP + order * 100, title, price, **kw),)


def _refund(order: int, k: int, at: str, *lines: tuple[int, int], **kw: Any) -> Refund:
    return Refund(
        REFUND + order * 100 + k, at, tuple((LINE + order * 100 + n, q) for n, q in lines), **kw
    )


def sales() -> list[Sale]:
    """The orders of the scenario; docs/metrics.md, "Sales report", defines how each counts."""
    return [
        # 23:50 on 28 February in New York is 1 March in UTC.
        Sale(
            1,
            ny("2026-02-28 23:50"),
            (_line(1, 1, "Aviator sunglasses", "30.00", 1, BLACK),),
            _ship(1, "5.00"),
        ),
        # A line discount; refunded in part on the 9th, cancelled on the 22nd.
        Sale(
            2,
            ny("2026-03-03 21:30"),
            (
                _line(2, 1, "Aviator sunglasses", "30.00", 2, BLACK, discounts=((0, "6.00"),)),
                _line(2, 2, "Aviator sunglasses", "10.00", 1, GOLD),
            ),
            _ship(2, "7.50"),
            (discount(0, "SUNNY10", "10.0", "percentage", selection="explicit"),),
            refunds=(_refund(2, 1, ny("2026-03-09 10:00"), (1, 1)),),
            cancelled_at=ny("2026-03-22 11:00"),
        ),
        # 8 March, 23 hours in New York: before the switch, after it, and late in the day.
        Sale(
            3,
            ny("2026-03-08 01:30"),
            (_line(3, 1, "Aviator sunglasses", "10.00", 1, GOLD),),
            _ship(3, "4.00"),
        ),
        Sale(4, ny("2026-03-08 03:15"), (_line(4, 1, "Engraving", "15.00", 1, None),)),
        Sale(
            5,
            "2026-03-09T03:40:00Z",
            (_line(5, 1, "Leather case", "25.00", 1, CASE),),
            _ship(5, "5.00"),
        ),
        Sale(
            6,
            ny("2026-03-07 23:30"),
            (_line(6, 1, "Aviator sunglasses", "30.00", 1, BLACK),),
            _ship(6, "5.00"),
        ),
        # A line discount, an order discount across the lines, free shipping; a refund of more
        # than its lines (a negative discrepancy).
        Sale(
            7,
            ny("2026-03-10 14:00"),
            (
                _line(7, 1, "Aviator sunglasses", "30.00", 2, BLACK, discounts=((1, "6.00"),)),
                _line(7, 2, "Coffee table", "120.00", 1, TABLE, discounts=((1, "12.00"),)),
                _line(7, 3, "Leather case", "25.00", 1, CASE, discounts=((0, "5.00"), (1, "2.00"))),
            ),
            _ship(7, "10.00", discounts=((2, "10.00"),)),
            (
                discount(0, "CASE5", "5.00", "fixed_amount", selection="explicit"),
                discount(1, "SPRING10", "10.0", "percentage", selection="all"),
                discount(
                    2, "FREESHIP", "100.0", "percentage", target="shipping_line", selection="all"
                ),
            ),
            refunds=(_refund(7, 1, ny("2026-03-14 16:00"), (1, 1), discrepancy=("-1.50", "0.00")),),
        ),
        # The buyer pays in euros; duties; a refund of a line with its duty on a day of no sales.
        Sale(
            8,
            ny("2026-03-12 09:00"),
            (
                _line(8, 1, "Coffee table", "120.00", 1, TABLE, tax_rate=None, duty="9.60"),
                _line(8, 2, "Aviator sunglasses", "10.00", 2, GOLD, tax_rate=None, duty="1.60"),
            ),
            _ship(8, "25.00", "International", tax_rate=None),
            currency=EUR,
            refunds=(_refund(8, 1, ny("2026-03-20 15:00"), (2, 2), duties=True),),
        ),
        # A test order and a deleted one, both refunded: neither counts.
        Sale(
            9,
            ny("2026-03-11 12:00"),
            (_line(9, 1, "Aviator sunglasses", "30.00", 1, BLACK),),
            test=True,
            refunds=(_refund(9, 1, ny("2026-03-12 12:00"), (1, 1)),),
        ),
        Sale(
            10,
            ny("2026-03-13 12:00"),
            (_line(10, 1, "Coffee table", "120.00", 1, TABLE),),
            _ship(10, "15.00"),
            refunds=(_refund(10, 1, ny("2026-03-17 10:00"), (1, 1), shipping="lines"),),
            deleted=True,
        ),
        # Shipping refunded the older way (an adjustment), less refunded than the lines, and a
        # refund without processed_at.
        Sale(
            11,
            ny("2026-03-14 10:00"),
            (
                _line(11, 1, "Aviator sunglasses", "30.00", 1, BLACK),
                _line(11, 2, "Leather case", "25.00", 2, CASE),
            ),
            _ship(11, "8.00"),
            refunds=(
                _refund(
                    11,
                    1,
                    ny("2026-03-16 13:00"),
                    (2, 1),
                    shipping="adjustment",
                    discrepancy=("2.00", "0.18"),
                    dated=False,
                ),
            ),
        ),
        # Refunded in April (a day of no sales) with refund_shipping_lines and, as Shopify's
        # own example does, a shipping_refund adjustment for the same money.
        Sale(
            12,
            ny("2026-03-28 18:00"),
            (
                _line(12, 1, "Aviator sunglasses", "30.00", 3, BLACK),
                _line(12, 2, "Coffee table", "120.00", 1, TABLE),
            ),
            _ship(12, "12.00"),
            refunds=(_refund(12, 1, ny("2026-04-03 11:00"), (1, 1), shipping="both"),),
        ),
        # A gift card sold and refunded: not a sale.
        Sale(
            13,
            ny("2026-03-18 20:00"),
            (
                _line(13, 1, "Gift card", "50.00", 1, GIFT, tax_rate=None, gift_card=True),
                _line(13, 2, "Aviator sunglasses", "10.00", 1, GOLD),
            ),
            _ship(13, "5.00"),
            refunds=(_refund(13, 1, ny("2026-03-19 09:00"), (1, 1)),),
        ),
        # Cancelled with the refund Shopify makes on cancelling: nothing left to return.
        Sale(
            14,
            ny("2026-04-02 10:00"),
            (
                _line(14, 1, "Aviator sunglasses", "30.00", 1, BLACK),
                _line(14, 2, "Leather case", "25.00", 1, CASE),
            ),
            _ship(14, "6.00"),
            refunds=(_refund(14, 1, ny("2026-04-02 16:00"), (1, 1), (2, 1), shipping="lines"),),
            cancelled_at=ny("2026-04-02 16:00"),
        ),
        # Prices that include tax.
        Sale(
            15,
            ny("2026-04-08 12:00"),
            (
                _line(15, 1, "Aviator sunglasses", "32.67", 2, BLACK),
                _line(15, 2, "Leather case", "27.22", 1, CASE),
            ),
            _ship(15, "10.89"),
            taxes_included=True,
            refunds=(_refund(15, 1, ny("2026-04-12 14:00"), (2, 1)),),
        ),
        # No processed_at: 23:55 on 15 April by created_at (16 April in UTC).
        Sale(
            16,
            ny("2026-04-15 23:55"),
            (_line(16, 1, "Coffee table", "120.00", 1, TABLE),),
            _ship(16, "0.00", "Free"),
            dated=False,
        ),
        # A tip, which is no sale.
        Sale(
            17,
            ny("2026-04-20 13:00"),
            (_line(17, 1, "Aviator sunglasses", "10.00", 3, GOLD),),
            _ship(17, "5.00"),
            tip="5.00",
        ),
        # Two orders of 10.00 and 10.01: the average, 10.005, rounds half up.
        Sale(
            18,
            ny("2026-04-24 09:00"),
            (_line(18, 1, "Leather case", "10.00", 1, CASE, tax_rate=None),),
        ),
        Sale(
            19,
            ny("2026-04-24 17:00"),
            (_line(19, 1, "Gift wrap", "10.01", 1, None, tax_rate=None),),
        ),
        # Paid in euros with every money part: discounts, tax, shipping; the shipping refunded
        # with a discrepancy, then the order cancelled. Shop money must win everywhere.
        Sale(
            20,
            ny("2026-04-05 11:00"),
            (
                _line(20, 1, "Aviator sunglasses", "30.00", 2, BLACK, discounts=((0, "6.00"),)),
                _line(20, 2, "Leather case", "25.00", 1, CASE, discounts=((0, "2.50"),)),
            ),
            _ship(20, "8.00"),
            (discount(0, "WELCOME10", "10.0", "percentage", selection="all"),),
            currency=EUR,
            refunds=(
                _refund(
                    20,
                    1,
                    ny("2026-04-18 10:00"),
                    (1, 1),
                    shipping="lines",
                    discrepancy=("0.50", "0.00"),
                ),
            ),
            cancelled_at=ny("2026-04-26 09:00"),
        ),
    ]


def extras(sale: Sale) -> list[Delivery]:
    """Deliveries that carry no sales figures: a fulfillment and a payment."""
    fulfillment = _FULFILLMENT | {
        "id": sale.id + 10**18,
        "order_id": sale.id,
        "name": f"#{1000 + sale.number}.1",
        "status": "success",
        "created_at": later(sale.placed, 60),
        "updated_at": later(sale.placed, 60),
        "line_items": [line_payload(sale, line) for line in sale.lines],
    }
    payment = _TRANSACTION | {
        "id": sale.id + 15 * 10**17,
        "order_id": sale.id,
        "kind": "sale",
        "status": "success",
        "amount": order_payload(sale, sale.placed)["total_price_set"]["presentment_money"][
            "amount"
        ],
        "currency": sale.currency.code,
        "created_at": sale.placed,
        "processed_at": sale.placed,
        "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{sale.id + 15 * 10**17}",
    }
    return [("fulfillments/create", fulfillment), ("order_transactions/create", payment)]


def deliveries_of(orders: Iterable[Sale], costs: float = 1) -> list[Delivery]:
    """The catalogue, then each order's deliveries, each payload once, in the order they happen."""
    out = catalogue(costs)
    for sale in orders:
        out += sale_deliveries(sale)
    return out


def march_and_april() -> list[Delivery]:
    """Every delivery of the scenario, once each."""
    orders = sales()
    return deliveries_of(orders) + extras(orders[6]) + extras(orders[7])


def repriced(sale: Sale, factor: int) -> Sale:
    """The same order (same ids) at `factor` times the prices: another shop's order."""

    def scaled(amount: str) -> str:
        return text(Decimal(amount) * factor)

    return replace(
        sale,
        lines=tuple(
            replace(
                line,
                price=scaled(line.price),
                discounts=tuple((i, scaled(a)) for i, a in line.discounts),
            )
            for line in sale.lines
        ),
        shipping=tuple(
            replace(
                s, price=scaled(s.price), discounts=tuple((i, scaled(a)) for i, a in s.discounts)
            )
            for s in sale.shipping
        ),
    )


def shuffled_twice(deliveries: list[Delivery], seed: int) -> list[tuple[str, Payload, str]]:
    """Each delivery twice, in a shuffled order: (topic, payload, webhook id).

    Half the second copies are retries (the same webhook id), half are the same event sent
    again under a new id, as Shopify may do.
    """
    rng = random.Random(seed)
    first = [
        (topic, payload, str(uuid.UUID(int=rng.getrandbits(128)))) for topic, payload in deliveries
    ]
    again = [
        (topic, payload, webhook_id if n % 2 else str(uuid.UUID(int=rng.getrandbits(128))))
        for n, (topic, payload, webhook_id) in enumerate(first)
    ]
    copies = first + again
    rng.shuffle(copies)
    return copies
