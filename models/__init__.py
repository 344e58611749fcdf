"""The tables, the session scopes and the tenant-scoped select helper."""

from models.accounts import ApiKey, Invite, RefreshToken, User
from models.base import Base
from models.checkouts import Cart, Checkout, CheckoutTombstone
from models.compliance import ComplianceAction, CustomerExport
from models.customers import Customer
from models.events import DeadLetter, WebhookEvent
from models.orders import Order, OrderLineItem
from models.products import Product, ProductVariant
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
    "ComplianceAction",
    "Customer",
    "CustomerExport",
    "DeadLetter",
    "Invite",
    "Order",
    "OrderLineItem",
    "Product",
    "ProductVariant",
    "ReconcileRun",
    "RefreshToken",
    "ShopCredential",
    "SyncWatermark",
    "Tenant",
    "User",
    "WebhookEvent",
]
