"""Schemas of the data endpoints' entities (they generate the OpenAPI): what a list item and a
single row carry. Ids are strings of digits and money exact decimal strings (fields.py).
"""

from __future__ import annotations

from marshmallow import Schema, fields

from dashboard_api.views.data.fields import BIGINT_MAX as BIGINT_MAX
from dashboard_api.views.data.fields import (
    IdString,
    Money,
    Rate,
    id_field,
    many,
    money_field,
    presentment_field,
    ref_field,
)
from dashboard_api.views.data.fields import no_nul as no_nul
from dashboard_api.views.data.money_schemas import FulfillmentOut, RefundOut, TransactionOut


class Stamped(Schema):
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class CustomerOut(Stamped):
    id = id_field()
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    orders_count = fields.Integer(metadata={"description": "Orders, cancelled ones included."})
    total_spent = Money(
        metadata={"description": "Sum of (total - refunded) over orders not cancelled."}
    )


class VariantOut(Schema):
    id = id_field()
    title = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    price = Money(allow_none=True)
    compare_at_price = Money(allow_none=True)
    inventory_quantity = fields.Integer(allow_none=True)
    inventory_item_id = ref_field("Its inventory item (Shopify id): unit cost and levels")


class ProductOut(Stamped):
    id = id_field()
    title = fields.String(allow_none=True)
    handle = fields.String(allow_none=True)
    vendor = fields.String(allow_none=True)
    product_type = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    price = Money(allow_none=True, metadata={"description": "Lowest variant price."})
    published_at = fields.DateTime(allow_none=True)
    variants = fields.List(fields.Nested(VariantOut))
    variants_partial = fields.Boolean(
        metadata={
            "description": "The last version carried only some variants in full; the others "
            "are as they were until the Admin API fills them in."
        }
    )


class LineItemOut(Schema):
    id = id_field()
    product_id = ref_field("Product (Shopify id)")
    variant_id = ref_field("Variant (Shopify id)")
    sku = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    vendor = fields.String(allow_none=True)
    quantity = fields.Integer()
    current_quantity = fields.Integer(allow_none=True)
    gift_card = fields.Boolean(allow_none=True)
    price = money_field("Unit price.")
    price_presentment = presentment_field("the unit price")
    total_discount = money_field("Line-level discounts only.")
    discount_allocated = money_field("Every discount allocated to the line, order shares too.")
    discount_allocated_presentment = presentment_field()
    tax = money_field("The line's taxes.")
    tax_presentment = presentment_field()
    duties = money_field("The line's duties.")
    duties_presentment = presentment_field()


class ShippingLineOut(Schema):
    id = id_field()
    title = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    price = money_field()
    price_presentment = presentment_field("the price")
    discounted_price = money_field("The price less its discounts.")
    discount_allocated = money_field()
    discount_allocated_presentment = presentment_field()
    tax = money_field()
    tax_presentment = presentment_field()
    is_removed = fields.Boolean(allow_none=True)


class DiscountApplicationOut(Schema):
    index = fields.Integer(
        attribute="position",
        metadata={"description": "Its place in the order's list, which allocations point at."},
    )
    type = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    value = money_field("An amount, or a percentage when `value_type` is `percentage`.")
    value_type = fields.String(allow_none=True)
    allocation_method = fields.String(allow_none=True)
    target_selection = fields.String(allow_none=True)
    target_type = fields.String(allow_none=True)


class DiscountAllocationOut(Schema):
    line_item_id = ref_field("The line it took money off (Shopify id)")
    shipping_line_id = ref_field("The shipping line it took money off (Shopify id)")
    application_index = fields.Integer(
        allow_none=True, metadata={"description": "The `index` of its discount application."}
    )
    amount = money_field()
    amount_presentment = presentment_field()


class DiscountCodeOut(Schema):
    code = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    amount = money_field()


class TaxLineOut(Schema):
    title = fields.String(allow_none=True)
    rate = Rate(allow_none=True, metadata={"description": "Exact decimal: 0.13 is 13%."})
    price = money_field()
    price_presentment = presentment_field()
    channel_liable = fields.Boolean(allow_none=True)


class DutyOut(Schema):
    id = id_field()
    line_item_id = ref_field("The line it is charged on (Shopify id)")
    harmonized_system_code = fields.String(allow_none=True)
    country_code_of_origin = fields.String(allow_none=True)
    price = money_field()
    price_presentment = presentment_field()


class OrderOut(Stamped):
    id = id_field()
    name = fields.String(allow_none=True)
    order_number = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    customer_id = ref_field("Customer (Shopify id)")
    financial_status = fields.String(allow_none=True)
    fulfillment_status = fields.String(allow_none=True)
    currency = fields.String(allow_none=True, metadata={"description": "The shop currency."})
    presentment_currency = fields.String(
        allow_none=True, metadata={"description": "The buyer's currency."}
    )
    taxes_included = fields.Boolean(allow_none=True)
    total_line_items_price = money_field("Line prices times quantities, before discounts.")
    total_price = money_field()
    subtotal_price = money_field()
    total_tax = money_field()
    total_discounts = money_field()
    total_shipping_price = money_field()
    total_duties = money_field()
    total_tip_received = money_field()
    current_total_price = money_field()
    total_refunded = money_field("What the order's refunds returned.")
    total_price_presentment = presentment_field("the total price")
    subtotal_price_presentment = presentment_field("the subtotal price")
    total_tax_presentment = presentment_field("the total tax")
    total_discounts_presentment = presentment_field("the total discounts")
    total_shipping_price_presentment = presentment_field("the total shipping price")
    total_refunded_presentment = presentment_field("the total refunded")
    cancel_reason = fields.String(allow_none=True)
    cart_token = fields.String(allow_none=True)
    checkout_token = fields.String(allow_none=True)
    source_name = fields.String(allow_none=True)
    test = fields.Boolean(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    line_items = many(LineItemOut)
    shipping_lines = many(ShippingLineOut)
    discount_applications = many(DiscountApplicationOut)
    discount_allocations = many(DiscountAllocationOut, "Per line item and shipping line.")
    discount_codes = many(DiscountCodeOut)
    tax_lines = many(TaxLineOut, "The order's taxes by rate, lines and shipping together.")
    duties = many(DutyOut)
    refunds = many(RefundOut, "Its refunds, oldest first, with their parts.")
    transactions = many(TransactionOut, "Its transactions, oldest first, refunds' included.")
    fulfillments = many(FulfillmentOut, "Its fulfillments, oldest first, with their lines.")


class CheckoutOut(Stamped):
    token = fields.String()
    id = IdString(
        attribute="shopify_id", allow_none=True, metadata={"description": "Shopify id, if known"}
    )
    cart_token = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    customer_id = ref_field("Customer (Shopify id)")
    status = fields.String(metadata={"description": "open, abandoned, completed or recovered"})
    currency = fields.String(allow_none=True)
    total_price = Money(allow_none=True)
    subtotal_price = Money(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    abandoned_at = fields.DateTime(allow_none=True)
    recovered_at = fields.DateTime(allow_none=True)


class CartOut(Stamped):
    token = fields.String()
    status = fields.String(metadata={"description": "open, abandoned or converted"})
    item_count = fields.Integer(allow_none=True)
    total_price = Money(allow_none=True)
    currency = fields.String(allow_none=True)
    abandoned_at = fields.DateTime(allow_none=True)
    converted_at = fields.DateTime(allow_none=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page schema: the items and the cursor of the next page (null on the last)."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                allow_none=True, required=True, metadata={"description": "Null on the last page."}
            ),
        },
        name=name,
    )
