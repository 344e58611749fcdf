"""Schemas of the money resources: refunds, order transactions, fulfillments, inventory.

A list item is the row with its parts; the single row (`*DetailOut`) adds what a list of
another resource gives (a refund's transactions, an inventory item's levels).
"""

from __future__ import annotations

from marshmallow import Schema, fields

from dashboard_api.views.data.fields import (
    IdString,
    id_field,
    many,
    money_field,
    presentment_field,
    ref_field,
)


class TransactionOut(Schema):
    id = id_field()
    order_id = ref_field("Order (Shopify id)")
    refund_id = ref_field("The refund it belongs to (Shopify id)")
    parent_id = ref_field("The transaction it follows, e.g. the authorization of a capture")
    kind = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    gateway = fields.String(allow_none=True)
    amount = money_field("In `currency`: the buyer's, as webhooks send it.")
    currency = fields.String(allow_none=True)
    amount_shop = money_field("In the shop currency, where the source says (else null).")
    error_code = fields.String(allow_none=True)
    source_name = fields.String(allow_none=True)
    test = fields.Boolean(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)


class RefundLineItemOut(Schema):
    id = id_field()
    line_item_id = ref_field("The order line refunded (Shopify id)")
    quantity = fields.Integer()
    restock_type = fields.String(allow_none=True)
    location_id = ref_field("Where the units were restocked (Shopify id)")
    gift_card = fields.Boolean(allow_none=True)
    price = money_field("The order line's unit price.")
    subtotal = money_field("After the line's discounts, before tax.")
    subtotal_presentment = presentment_field("the subtotal")
    total_tax = money_field()
    total_tax_presentment = presentment_field("the total tax")


class RefundShippingLineOut(Schema):
    id = id_field()
    shipping_line_id = ref_field("The order's shipping line refunded (Shopify id)")
    subtotal = money_field()
    subtotal_presentment = presentment_field("the subtotal")
    tax = money_field()
    tax_presentment = presentment_field("the tax")


class OrderAdjustmentOut(Schema):
    id = id_field()
    kind = fields.String(
        allow_none=True, metadata={"description": "`refund_discrepancy` or `shipping_refund`"}
    )
    reason = fields.String(allow_none=True)
    amount = money_field()
    amount_presentment = presentment_field()
    tax_amount = money_field()
    tax_amount_presentment = presentment_field()


class RefundDutyOut(Schema):
    duty_id = ref_field("The order's duty refunded (Shopify id)")
    amount = money_field()
    amount_presentment = presentment_field()


class RefundOut(Schema):
    id = id_field()
    order_id = IdString(metadata={"description": "Order (Shopify id)"})
    note = fields.String(allow_none=True)
    restock = fields.Boolean(allow_none=True)
    total_refunded = money_field("The money it returned, in the shop currency.")
    total_refunded_presentment = presentment_field("the money it returned")
    created_at = fields.DateTime(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)
    refund_line_items = many(RefundLineItemOut, "Goods refunded.")
    refund_shipping_lines = many(RefundShippingLineOut, "Shipping refunded.")
    order_adjustments = many(OrderAdjustmentOut)
    duties = many(RefundDutyOut, "Duties refunded.")


class RefundDetailOut(RefundOut):
    """One refund with its parts and its transactions."""

    transactions = many(TransactionOut, "The money moved back.")


class FulfilledLineOut(Schema):
    line_item_id = ref_field("The order line (Shopify id)")
    quantity = fields.Integer(allow_none=True)


class FulfillmentOut(Schema):
    id = id_field()
    order_id = ref_field("Order (Shopify id)")
    name = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    shipment_status = fields.String(allow_none=True)
    service = fields.String(allow_none=True)
    tracking_company = fields.String(allow_none=True)
    tracking_numbers = fields.List(fields.String(), allow_none=True)
    tracking_urls = fields.List(fields.String(), allow_none=True)
    location_id = ref_field("The location it ships from (Shopify id)")
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    line_items = many(FulfilledLineOut, "The order lines it fulfilled, and how many units.")


class InventoryItemOut(Schema):
    id = id_field()
    sku = fields.String(allow_none=True)
    cost = money_field("Unit cost in the shop currency; null when not recorded.")
    tracked = fields.Boolean(allow_none=True)
    requires_shipping = fields.Boolean(allow_none=True)
    country_code_of_origin = fields.String(allow_none=True)
    harmonized_system_code = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class InventoryCostOut(Schema):
    recorded_at = fields.DateTime(metadata={"description": "From when the item had this cost."})
    cost = money_field()


class InventoryLevelOut(Schema):
    inventory_item_id = IdString(metadata={"description": "Inventory item (Shopify id)"})
    location_id = IdString(metadata={"description": "Location (Shopify id)"})
    available = fields.Integer(
        allow_none=True, metadata={"description": "Units available; null when not tracked."}
    )
    updated_at = fields.DateTime(allow_none=True)


class InventoryItemDetailOut(InventoryItemOut):
    """One inventory item with the costs it has had and its levels."""

    costs = many(InventoryCostOut, "Every cost it has had, newest first.")
    levels = many(InventoryLevelOut, "Units available per location.")
