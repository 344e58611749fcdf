"""SQLAlchemy models, the session scope and payload schemas."""

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
from models.tenant import Tenant

__all__ = [
    "Base",
    "Cart",
    "Checkout",
    "CheckoutTombstone",
    "Customer",
    "DeadLetter",
    "Order",
    "OrderLineItem",
    "Product",
    "ProductVariant",
    "Tenant",
    "WebhookEvent",
]
