"""The fake shop's data: orders with line items, customers, products with variants, checkouts.

Nodes are kept in GraphQL Admin API shape (camelCase fields, GIDs, MoneyBag amounts as
decimal strings) so the resolvers can project them directly. Ids are above 2**53, as real
Shopify ids are, to catch any float on the way.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

ID_BASE = {
    "Order": 9_100_000_000_000_000_000,
    "LineItem": 9_200_000_000_000_000_000,
    "Customer": 9_000_000_000_000_000_000,
    "Product": 8_800_000_000_000_000_000,
    "ProductVariant": 8_900_000_000_000_000_000,
    "AbandonedCheckout": 8_700_000_000_000_000_000,
}
# Shopify's published plans; bucket = 20 s of restore, as the current docs' tables imply.
PLANS: dict[str, tuple[int, float]] = {
    "legacy": (1000, 50.0),
    "standard": (2000, 100.0),
    "advanced": (4000, 200.0),
    "plus": (20000, 1000.0),
    "enterprise": (40000, 2000.0),
}
RESOURCES = {
    "orders": "Order",
    "customers": "Customer",
    "products": "Product",
    "abandonedCheckouts": "AbandonedCheckout",
}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def timestamp(moment: datetime) -> str:
    """Shopify's DateTime scalar: UTC, second precision, Z suffix."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def money(amount: Decimal, currency: str = "USD") -> dict[str, Any]:
    value = {
        "__typename": "MoneyV2",
        "amount": str(amount.quantize(Decimal("0.01"))),
        "currencyCode": currency,
    }
    return {"__typename": "MoneyBag", "shopMoney": value, "presentmentMoney": dict(value)}


@dataclass
class ShopData:
    """One fake shop: its token, rate-limit plan and data."""

    domain: str
    token: str
    bucket_size: int = PLANS["standard"][0]
    restore_rate: float = PLANS["standard"][1]
    bulk_concurrency: int | None = None  # None: as the API version implies
    webhook_url: str | None = None
    webhook_secret: str | None = None
    nodes: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in RESOURCES.values()}
    )
    lock: threading.RLock = field(default_factory=threading.RLock)
    _counters: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def next_id(self, kind: str) -> int:
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return ID_BASE[kind] + n

    def by_gid(self, value: str) -> dict[str, Any] | None:
        kind = value.split("/")[3] if value.count("/") >= 4 else ""
        if kind in self.nodes:
            return self.nodes[kind].get(value)
        for node in self.nodes["Order"].values():
            for item in node["lineItems"]:
                if item["id"] == value:
                    return item
        return None

    def listing(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.nodes[kind].values())

    def seed(
        self,
        *,
        orders: int = 0,
        customers: int | None = None,
        products: int | None = None,
        checkouts: int = 0,
        now: datetime | None = None,
    ) -> None:
        """Add generated data: customers and products first, then orders that use them."""
        now = now or datetime.now(UTC)
        customers = max(1, orders // 4) if customers is None else customers
        products = max(1, min(200, orders // 10)) if products is None else products
        with self.lock:
            for _ in range(customers):
                self.add_customer(now)
            for _ in range(products):
                self.add_product(now)
            for _ in range(orders):
                self.add_order(now)
            for _ in range(checkouts):
                self.add_checkout(now)

    def _times(self, now: datetime) -> tuple[datetime, datetime]:
        created = now - timedelta(days=30) + timedelta(seconds=self.rng.randrange(29 * 86400))
        return created, min(now, created + timedelta(seconds=self.rng.randrange(86400)))

    def add_customer(self, now: datetime) -> dict[str, Any]:
        n = self.next_id("Customer")
        created, updated = self._times(now)
        node: dict[str, Any] = {
            "__typename": "Customer",
            "id": gid("Customer", n),
            "legacyResourceId": str(n),
            "firstName": f"First{n % 1000}",
            "lastName": f"Last{n % 997}",
            "defaultEmailAddress": {
                "__typename": "CustomerEmailAddress",
                "emailAddress": f"c{n % 10**6}@example.com",
            },
            "defaultPhoneNumber": None,
            "state": self.rng.choice(["ENABLED", "DISABLED"]),
            "createdAt": timestamp(created),
            "updatedAt": timestamp(updated),
        }
        self.nodes["Customer"][node["id"]] = node
        return node

    def add_product(self, now: datetime) -> dict[str, Any]:
        n = self.next_id("Product")
        created, updated = self._times(now)
        variants = []
        for v in range(self.rng.randint(1, 4)):
            vid = self.next_id("ProductVariant")
            price = Decimal(self.rng.randrange(500, 20000)) / 100
            variants.append(
                {
                    "__typename": "ProductVariant",
                    "id": gid("ProductVariant", vid),
                    "legacyResourceId": str(vid),
                    "title": f"Size {v + 1}",
                    "sku": f"SKU-{vid % 10**6}",
                    "price": str(price),
                    "compareAtPrice": None,
                    "inventoryQuantity": self.rng.randrange(0, 100),
                    "updatedAt": timestamp(updated),
                }
            )
        node: dict[str, Any] = {
            "__typename": "Product",
            "id": gid("Product", n),
            "legacyResourceId": str(n),
            "title": f"Product {n % 10**4}",
            "handle": f"product-{n % 10**6}",
            "vendor": "Fake Co",
            "productType": "Widgets",
            "status": "ACTIVE",
            "createdAt": timestamp(created),
            "updatedAt": timestamp(updated),
            "publishedAt": timestamp(created),
            "variants": variants,
        }
        self.nodes["Product"][node["id"]] = node
        return node

    def add_order(self, now: datetime) -> dict[str, Any]:
        n = self.next_id("Order")
        created, updated = self._times(now)
        customers = self.nodes["Customer"]
        customer = customers[self.rng.choice(list(customers))] if customers else None
        items = [self._line_item() for _ in range(self.rng.randint(1, 4))]
        subtotal = sum(
            (
                Decimal(i["originalUnitPriceSet"]["shopMoney"]["amount"]) * i["quantity"]
                for i in items
            ),
            Decimal(0),
        )
        tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
        number = n - ID_BASE["Order"]
        node: dict[str, Any] = {
            "__typename": "Order",
            "id": gid("Order", n),
            "legacyResourceId": str(n),
            "name": f"#{1000 + number}",
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
            "test": False,
            "sourceName": "web",
            "cartToken": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "checkoutToken": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "totalPriceSet": money(subtotal + tax),
            "subtotalPriceSet": money(subtotal),
            "totalTaxSet": money(tax),
            "totalDiscountsSet": money(Decimal(0)),
            "currentTotalPriceSet": money(subtotal + tax),
            "totalRefundedSet": money(Decimal(0)),
            "customer": customer,
            "lineItems": items,
        }
        self.nodes["Order"][node["id"]] = node
        return node

    def _line_item(self) -> dict[str, Any]:
        lid = self.next_id("LineItem")
        products = self.nodes["Product"]
        product = products[self.rng.choice(list(products))] if products else None
        variant = self.rng.choice(product["variants"]) if product else None
        price = Decimal(variant["price"]) if variant else Decimal("10.00")
        quantity = self.rng.randint(1, 3)
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", lid),
            "sku": variant["sku"] if variant else None,
            "title": product["title"] if product else "Custom item",
            "quantity": quantity,
            "currentQuantity": quantity,
            "originalUnitPriceSet": money(price),
            "product": product,
            "variant": variant,
        }

    def add_checkout(self, now: datetime) -> dict[str, Any]:
        n = self.next_id("AbandonedCheckout")
        created, updated = self._times(now)
        token = uuid.UUID(int=self.rng.getrandbits(128)).hex
        total = Decimal(self.rng.randrange(1000, 30000)) / 100
        customers = self.nodes["Customer"]
        node: dict[str, Any] = {
            "__typename": "AbandonedCheckout",
            "id": gid("AbandonedCheckout", n),
            "abandonedCheckoutUrl": f"https://{self.domain}/{n % 10**9}/checkouts/{token}"
            f"/recover?key={uuid.UUID(int=self.rng.getrandbits(128)).hex}",
            "name": f"#{n}",
            "createdAt": timestamp(created),
            "updatedAt": timestamp(updated),
            "completedAt": None,
            "totalPriceSet": money(total),
            "subtotalPriceSet": money(total),
            "customer": customers[self.rng.choice(list(customers))] if customers else None,
        }
        self.nodes["AbandonedCheckout"][node["id"]] = node
        return node

    def touch(self, node_id: str, at: datetime | None = None, **changes: Any) -> dict[str, Any]:
        """Change a node as the merchant would: new values and a newer updatedAt."""
        with self.lock:
            node = self.by_gid(node_id)
            if node is None:
                raise KeyError(node_id)
            node.update(changes)
            node["updatedAt"] = timestamp(at or datetime.now(UTC))
            return node

    def set_total(self, order_id: str, amount: Decimal, at: datetime | None = None) -> None:
        """Reprice an order (an edit the webhooks may have missed)."""
        self.touch(order_id, at, totalPriceSet=money(amount), currentTotalPriceSet=money(amount))
