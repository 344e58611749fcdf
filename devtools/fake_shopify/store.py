"""The fake shop's data: customers, products with variants and inventory, checkouts, orders.

Nodes are kept in GraphQL Admin API shape (camelCase fields, GIDs, MoneyBag amounts as
decimal strings) so the resolvers can project them directly. Ids are above 2**53, as real
Shopify ids are, to catch any float on the way. Orders, with their refunds, transactions and
fulfillments, are built in `orders.py`.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from devtools.fake_shopify import orders
from devtools.fake_shopify.scalars import gid, money, money_v2, timestamp

_KINDS = (
    "Order",
    "LineItem",
    "ShippingLine",
    "OrderTransaction",
    "Refund",
    "RefundLineItem",
    "RefundShippingLine",
    "OrderAdjustment",
    "Fulfillment",
    "FulfillmentLineItem",
    "Duty",
    "Customer",
    "Product",
    "ProductVariant",
    "InventoryItem",
    "InventoryLevel",
    "Location",
    "AbandonedCheckout",
)
# One id range per type, all above 2**53 and far apart.
ID_BASE = {kind: 8_000_000_000_000_000_000 + i * 10**16 for i, kind in enumerate(_KINDS)}
# Shopify's published plans; bucket = 20 s of restore, as the current docs' tables imply.
PLANS: dict[str, tuple[int, float]] = {
    "legacy": (1000, 50.0),
    "standard": (2000, 100.0),
    "advanced": (4000, 200.0),
    "plus": (20000, 1000.0),
    "enterprise": (40000, 2000.0),
}
# Root connections and the type of their nodes.
RESOURCES = {
    "orders": "Order",
    "customers": "Customer",
    "products": "Product",
    "abandonedCheckouts": "AbandonedCheckout",
    "inventoryItems": "InventoryItem",
}
# Root fields reading one node by id, and the type they return.
SINGLE = {
    "order": "Order",
    "customer": "Customer",
    "product": "Product",
    "abandonedCheckout": "AbandonedCheckout",
    "inventoryItem": "InventoryItem",
    "refund": "Refund",
    "fulfillment": "Fulfillment",
}
# Connections that take no sortKey argument.
UNSORTED = frozenset({"inventoryItems"})
# Fields that are GraphQL lists of objects (not connections): a bulk query may not hold a
# connection inside one. `transactions` is a list on Order and a connection on Refund.
LIST_FIELDS = frozenset(
    {
        "refunds",
        "fulfillments",
        "transactions",
        "taxLines",
        "discountAllocations",
        "duties",
        "trackingInfo",
        "quantities",
    }
)
COST_SHARE = Decimal("0.4")  # a stocked variant's unit cost, as a share of its price
QUANTITY_NAMES = ("available", "committed", "incoming", "on_hand", "reserved")


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
    # Every node that is not a root connection's (line items, refunds, levels...), by gid.
    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _counters: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def next_id(self, kind: str) -> int:
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return ID_BASE[kind] + n

    def new_node(self, typename: str, /, **fields: Any) -> dict[str, Any]:
        """A node of a nested type with a fresh id, findable by `by_gid`."""
        node = {"__typename": typename, "id": gid(typename, self.next_id(typename)), **fields}
        self.index[node["id"]] = node
        return node

    def by_gid(self, value: str) -> dict[str, Any] | None:
        kind = value.split("/")[3] if value.count("/") >= 4 else ""
        if kind in self.nodes and value in self.nodes[kind]:
            return self.nodes[kind][value]
        found = self.index.get(value)
        if found is None and kind == "ProductVariant":  # products stored whole by a test
            variants = (v for p in self.nodes["Product"].values() for v in p["variants"])
            found = next((v for v in variants if v["id"] == value), None)
        return found

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
        inventory: bool = False,
    ) -> None:
        """Add generated data: customers and products first, then orders that use them.

        With `inventory`, each variant's inventory item (its cost, its stock at the first
        location) is listed under `inventoryItems` too; without, variants only name theirs."""
        now = now or datetime.now(UTC)
        customers = max(1, orders // 4) if customers is None else customers
        products = max(1, min(200, orders // 10)) if products is None else products
        with self.lock:
            for _ in range(customers):
                self.add_customer(now)
            for _ in range(products):
                self.add_product(now, inventory=inventory)
            for _ in range(orders):
                self.add_order(now)
            for _ in range(checkouts):
                self.add_checkout(now)

    def times(self, now: datetime) -> tuple[datetime, datetime]:
        created = now - timedelta(days=30) + timedelta(seconds=self.rng.randrange(29 * 86400))
        return created, min(now, created + timedelta(seconds=self.rng.randrange(86400)))

    def add_customer(self, now: datetime) -> dict[str, Any]:
        n = self.next_id("Customer")
        created, updated = self.times(now)
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

    def add_product(self, now: datetime, *, inventory: bool = False) -> dict[str, Any]:
        """A product with 1-4 variants (with `inventory`, each stocked at the first location)."""
        n = self.next_id("Product")
        created, updated = self.times(now)
        variants = []
        for v in range(self.rng.randint(1, 4)):
            vid = self.next_id("ProductVariant")
            price = Decimal(self.rng.randrange(500, 20000)) / 100
            stock = self.rng.randrange(0, 100)
            sku = f"SKU-{vid % 10**6}"
            item = (
                self.add_inventory_item(
                    created, sku=sku, cost=price * COST_SHARE, levels={0: stock}
                )
                if inventory
                else {"__typename": "InventoryItem", "id": gid("InventoryItem", vid)}
            )
            variants.append(
                {
                    "__typename": "ProductVariant",
                    "id": gid("ProductVariant", vid),
                    "legacyResourceId": str(vid),
                    "title": f"Size {v + 1}",
                    "sku": sku,
                    "price": str(price),
                    "compareAtPrice": None,
                    "inventoryQuantity": stock,
                    "updatedAt": timestamp(updated),
                    "inventoryItem": item,
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

    def location(self, number: int = 0) -> dict[str, Any]:
        """The shop's `number`-th location (made as needed)."""
        while len(self.locations) <= number:
            self.locations.append(self.new_node("Location", name=f"Shop {len(self.locations)}"))
        return self.locations[number]

    def add_inventory_item(
        self,
        now: datetime | None = None,
        *,
        sku: str | None = None,
        cost: Decimal | None = None,
        levels: dict[int, int] | None = None,
        tracked: bool = True,
    ) -> dict[str, Any]:
        """An inventory item with a unit cost (None: unknown) and, per location number, the
        quantity available there."""
        at = timestamp(now or datetime.now(UTC))
        n = self.next_id("InventoryItem")
        item: dict[str, Any] = {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", n),
            "legacyResourceId": str(n),
            "sku": sku,
            "tracked": tracked,
            "requiresShipping": True,
            "unitCost": None if cost is None else money_v2(cost),
            "countryCodeOfOrigin": "US",
            "harmonizedSystemCode": None,
            "createdAt": at,
            "updatedAt": at,
            "inventoryLevels": [],
        }
        for number, available in (levels or {}).items():
            item["inventoryLevels"].append(self._level(item, self.location(number), available, at))
        self.nodes["InventoryItem"][item["id"]] = item
        return item

    def _level(
        self, item: dict[str, Any], location: dict[str, Any], available: int, at: str
    ) -> dict[str, Any]:
        number = self.next_id("InventoryLevel")
        # Shopify's level ids name their item in a query string.
        level_id = f"{gid('InventoryLevel', number)}?inventory_item_id={item['legacyResourceId']}"
        level = {
            "__typename": "InventoryLevel",
            "id": level_id,
            "location": location,
            "quantities": [
                {"__typename": "InventoryQuantity", "name": name, "quantity": 0}
                for name in QUANTITY_NAMES
            ],
            "updatedAt": at,
        }
        self.index[level_id] = level
        _set_quantity(level, available)
        return level

    def set_available(
        self, item_id: str, available: int, *, location: int = 0, at: datetime | None = None
    ) -> dict[str, Any]:
        """Set an item's available quantity at a location (stocking it there if need be)."""
        when = timestamp(at or datetime.now(UTC))
        with self.lock:
            item = self.nodes["InventoryItem"][item_id]
            place = self.location(location)
            level = next((lv for lv in item["inventoryLevels"] if lv["location"] is place), None)
            if level is None:
                level = self._level(item, place, available, when)
                item["inventoryLevels"].append(level)
            _set_quantity(level, available)
            level["updatedAt"] = when
            return level

    def set_unit_cost(self, item_id: str, cost: Decimal | None, at: datetime | None = None) -> None:
        """Change an item's unit cost, as the merchant would."""
        self.touch(item_id, at, unitCost=None if cost is None else money_v2(cost))

    def add_checkout(self, now: datetime) -> dict[str, Any]:
        n = self.next_id("AbandonedCheckout")
        created, updated = self.times(now)
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

    add_order = orders.add_order
    add_transaction = orders.add_transaction
    add_refund = orders.add_refund
    add_fulfillment = orders.add_fulfillment
    seed_refund_cases = orders.seed_refund_cases

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


def _set_quantity(level: dict[str, Any], available: int) -> None:
    """Available and on hand move together (nothing is committed in the fake)."""
    for q in level["quantities"]:
        if q["name"] in ("available", "on_hand"):
            q["quantity"] = available
