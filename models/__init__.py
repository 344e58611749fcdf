"""SQLAlchemy models, the session scope and payload schemas."""

from models.accounts import ApiKey, Invite, RefreshToken, User
from models.base import Base
from models.entities import (
    Cart,
    Checkout,
    CheckoutTombstone,
    Customer,
    Order,
    OrderLineItem,
    Product,
    ProductVariant,
)
from models.events import DeadLetter, WebhookEvent
from models.lifecycle import CustomerExport, LifecycleAction
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
    "Customer",
    "CustomerExport",
    "DeadLetter",
    "Invite",
    "LifecycleAction",
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
