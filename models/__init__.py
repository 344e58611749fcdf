"""The tables, the session scopes and the tenant-scoped select helper."""

from models.accounts import ApiKey, Invite, RefreshToken, User
from models.analytics import (
    CohortCell,
    CustomerAnalytics,
    CustomerOrderDay,
    RfmSegmentTotal,
    RfmSnapshot,
)
from models.base import Base
from models.checkouts import Cart, Checkout, CheckoutTombstone
from models.compliance import ComplianceAction, ComplianceHold, CustomerExport
from models.customers import Customer
from models.events import DeadLetter, WebhookEvent
from models.inventory import InventoryItem, InventoryItemCost, InventoryLevel
from models.orders import (
    Order,
    OrderDiscountAllocation,
    OrderDiscountApplication,
    OrderDiscountCode,
    OrderDuty,
    OrderEdit,
    OrderLineItem,
    OrderShippingLine,
    OrderTaxLine,
)
from models.products import Product, ProductVariant
from models.refunds import (
    Fulfillment,
    FulfillmentLineItem,
    OrderAdjustment,
    OrderTransaction,
    Refund,
    RefundDuty,
    RefundLineItem,
    RefundShippingLine,
)
from models.rollups import ProductSalesDaily, RollupZone, SalesDaily
from models.sync import (
    BackfillCheckpoint,
    BackfillRun,
    ReconcileRun,
    ShopCredential,
    SyncWatermark,
)
from models.tenant import Tenant

__all__ = [
    "ApiKey",
    "BackfillCheckpoint",
    "BackfillRun",
    "Base",
    "Cart",
    "Checkout",
    "CheckoutTombstone",
    "CohortCell",
    "ComplianceAction",
    "ComplianceHold",
    "Customer",
    "CustomerAnalytics",
    "CustomerExport",
    "CustomerOrderDay",
    "DeadLetter",
    "Fulfillment",
    "FulfillmentLineItem",
    "InventoryItem",
    "InventoryItemCost",
    "InventoryLevel",
    "Invite",
    "Order",
    "OrderAdjustment",
    "OrderDiscountAllocation",
    "OrderDiscountApplication",
    "OrderDiscountCode",
    "OrderDuty",
    "OrderEdit",
    "OrderLineItem",
    "OrderShippingLine",
    "OrderTaxLine",
    "OrderTransaction",
    "Product",
    "ProductSalesDaily",
    "ProductVariant",
    "ReconcileRun",
    "RefreshToken",
    "Refund",
    "RefundDuty",
    "RefundLineItem",
    "RefundShippingLine",
    "RfmSegmentTotal",
    "RfmSnapshot",
    "RollupZone",
    "SalesDaily",
    "ShopCredential",
    "SyncWatermark",
    "Tenant",
    "User",
    "WebhookEvent",
]
