"""The simulated shop's customers, products (with their inventory) and carts, and its clock."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools import money as m
from devtools.shapes import (
    Payload,
    Shape,
    ascii_name,
    cents_of,
    gid,
    local,
    money,
    money_set,
    new_hex,
    new_id,
    sample,
    zulu,
)

Action = list[tuple[str, Payload]]
POOL = 200  # live entities kept per kind; older ones stop changing, so memory stays bounded
LARGE = 0.015  # share of new products with more variants than a webhook carries in full
_FIRST = ("Ava", "Noah", "Zoë", "Liam", "Maya", "Ethan", "Chloé", "Omar", "Priya", "Jonas")
_LAST = ("Martin", "Nguyen", "Müller", "Smith", "Tremblay", "García", "Okafor", "Singh", "Roy")
_ADJECTIVES = ("Classic", "Organic", "Vintage", "Everyday", "Alpine", "Coastal", "Linen")
_NOUNS = ("T-Shirt", "Hoodie", "Tote", "Mug", "Beanie", "Notebook", "Candle", "Sneaker")
_SIZES = ("Small", "Medium", "Large")


class Catalog:
    """Customers, products, inventory and carts; the shop's clock and its follow-up actions."""

    def __init__(self, rng: random.Random, start: datetime, shape: Shape) -> None:
        self.rng, self.now, self.shape = rng, start.astimezone(UTC), shape
        self.customers: dict[int, Payload] = {}
        self.products: dict[int, Payload] = {}  # every variant, whatever a webhook carries
        self.carts: dict[str, Payload] = {}  # open carts, no checkout yet
        self.items: dict[int, Payload] = {}  # inventory items by id
        self.levels: dict[int, Payload] = {}  # item id -> its level at the shop's location
        self.variant_product: dict[int, int] = {}
        self.in_use: set[int] = set()  # customers who checked out, products in carts: kept
        self.follow_up: list[Callable[[], Action]] = []
        self.location_id = new_id(rng)

    def catalog_menu(self) -> list[tuple[int, Callable[[], Action], bool]]:
        return [
            (8, self.new_customer, True),
            (5, self.update_customer, bool(self.customers)),
            (1, self.delete_customer, bool(self._unused(self.customers))),
            (5, self.new_product, True),
            (4, self.update_product, bool(self.products)),
            (1, self.delete_product, bool(self._unused(self.products))),
            (2, self.change_cost, bool(self.items)),
            (12, self.new_cart, bool(self.products)),
            (7, self.update_cart, bool(self.carts)),
        ]

    def new_id(self) -> int:
        return new_id(self.rng)

    def sample(self, name: str) -> Payload:
        return sample(name)

    def _stamp(self, previous: Payload | None = None) -> datetime:
        """A new version's updated_at: now, and always a whole second past the previous one."""
        stamp = self.now.replace(microsecond=0)
        if previous and previous.get("updated_at"):
            after = datetime.fromisoformat(previous["updated_at"]) + timedelta(seconds=1)
            stamp = max(stamp, after)
        self.now = max(self.now, stamp)
        return stamp

    def _keep(self, pool: dict[Any, Payload], key: Any, payload: Payload) -> None:
        pool[key] = payload
        if len(pool) > POOL:
            del pool[next(iter(pool))]

    def _unused(self, pool: dict[int, Payload]) -> list[int]:
        return [key for key in pool if key not in self.in_use]

    def new_customer(self) -> Action:
        cid, stamp = self.new_id(), self._stamp()
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        c = sample("customers_create")
        c.update(id=cid, admin_graphql_api_id=gid("Customer", cid), first_name=first,
                 last_name=last,
                 email=f"{ascii_name(first)}.{ascii_name(last)}.{cid % 9973}@example.com",
                 note=None, created_at=local(stamp), updated_at=local(stamp))  # fmt: skip
        c["default_address"].update(
            id=self.new_id(), customer_id=cid, first_name=first, last_name=last,
            name=f"{first} {last}",
        )  # fmt: skip
        self._keep(self.customers, cid, c)
        if self.rng.random() < 0.3:  # accepting marketing at sign-up updates the customer at once
            self.follow_up.append(lambda: self.update_customer(cid))
        return [("customers/create", c)]

    def update_customer(self, cid: int | None = None) -> Action:
        cid = self.rng.choice(list(self.customers)) if cid is None else cid
        if cid not in self.customers:
            return []
        c = copy.deepcopy(self.customers[cid])
        c.update(updated_at=local(self._stamp(c)), state="enabled",
                 phone=f"+1613555{self.rng.randint(0, 9999):04d}",
                 note=self.rng.choice((None, "VIP", "Prefers email", "Wholesale")))  # fmt: skip
        self.customers[cid] = c
        return [("customers/update", c)]

    def delete_customer(self) -> Action:
        cid = self.rng.choice(self._unused(self.customers))
        del self.customers[cid]
        body = {"id": cid, "tax_exemptions": [], "admin_graphql_api_id": gid("Customer", cid)}
        return [("customers/delete", body)]

    def new_product(self) -> Action:
        pid, stamp = self.new_id(), self._stamp()
        title = f"{self.rng.choice(_ADJECTIVES)} {self.rng.choice(_NOUNS)}"
        handle = f"{title.lower().replace(' ', '-')}-{pid % 9973}"
        p = sample("products_create")
        cents = self.rng.randint(5, 120) * 100 - 1
        if self.rng.random() < LARGE:  # a product past the 100 variants a webhook carries
            sizes = [f"Style {n}" for n in range(1, self.rng.randint(101, 106) + 1)]
        else:
            sizes = list(_SIZES[: self.rng.randint(1, 3)])
        variants = []
        for position, size in enumerate(sizes, 1):
            vid, quantity = self.new_id(), self.rng.randint(0, 200)
            v = copy.deepcopy(p["variants"][0])
            v.update(admin_graphql_api_id=gid("ProductVariant", vid), id=vid, product_id=pid,
                     position=position, title=size, option1=size, price=money(cents),
                     compare_at_price=money(cents + 500), sku=f"{handle}-{position}".upper(),
                     inventory_quantity=quantity, old_inventory_quantity=quantity,
                     inventory_item_id=self.new_id(), created_at=local(stamp),
                     updated_at=local(stamp))  # fmt: skip
            variants.append(v)
            self.variant_product[vid] = pid
        p.update(id=pid, admin_graphql_api_id=gid("Product", pid), title=title, handle=handle,
                 body_html=f"<p>{title}</p>", product_type=title.split()[-1], vendor="Cartwheel Co",
                 created_at=local(stamp), published_at=local(stamp), updated_at=local(stamp),
                 variants=variants)  # fmt: skip
        self._keep(self.products, pid, p)
        # Creating a product creates an inventory item per variant, costed at 40% of its price.
        items = [self._new_item(v, cents * 2 // 5, stamp) for v in variants]
        return [("products/create", self.product_body(p)), *items]

    def _new_item(self, v: Payload, cost: int, stamp: datetime) -> tuple[str, Payload]:
        item = m.inventory_item(v["inventory_item_id"], sku=v["sku"], cost_cents=cost,
                                created=stamp, at=stamp)  # fmt: skip
        self._keep(self.items, item["id"], item)
        return ("inventory_items/create", item)

    def product_body(self, p: Payload) -> Payload:
        """A product as a webhook of the claimed version carries it."""
        body = copy.deepcopy(p)
        limit = self.shape.variants_carried
        if limit is not None:
            body["variants"] = body["variants"][:limit]
        # Every variant's id and time, newest first, as Shopify's sample lists them.
        newest = sorted(p["variants"], key=lambda v: datetime.fromisoformat(v["updated_at"]),
                        reverse=True)  # fmt: skip
        body["variant_gids"] = [
            {"admin_graphql_api_id": v["admin_graphql_api_id"],
             "updated_at": zulu(datetime.fromisoformat(v["updated_at"]))}
            for v in newest
        ]  # fmt: skip
        return body

    def update_product(self) -> Action:
        p = copy.deepcopy(self.products[self.rng.choice(list(self.products))])
        stamp = self._stamp(p)
        v = self.rng.choice(p["variants"])
        p["updated_at"] = local(stamp)
        self.products[p["id"]] = p
        if self.rng.random() < 0.5:
            v["price"] = money(max(99, cents_of(v["price"]) + self.rng.choice((-300, -100, 200))))
            v["updated_at"] = local(stamp)
            return [("products/update", self.product_body(p))]
        # A stock count: the variant's quantity and its inventory level change together.
        level = self.stock_change(v["id"], -self.rng.randint(1, 5))
        return [("products/update", self.product_body(p)), *([level] if level else [])]

    def stock_change(self, variant_id: Any, delta: int) -> tuple[str, Payload] | None:
        """inventory_levels/update for units sold, counted or restocked; None for a variant
        the shop no longer keeps."""
        p = self.products.get(self.variant_product.get(variant_id, 0))
        v = next((v for v in p["variants"] if v["id"] == variant_id), None) if p else None
        if v is None:
            return None
        item_id = v["inventory_item_id"]
        stamp = self._stamp(self.levels.get(item_id))
        v["old_inventory_quantity"] = v["inventory_quantity"]
        v["inventory_quantity"] = max(0, v["inventory_quantity"] + delta)
        v["updated_at"] = local(max(stamp, datetime.fromisoformat(v["updated_at"])))
        level = m.inventory_level(item_id, self.location_id, v["inventory_quantity"], stamp)
        self.levels[item_id] = level
        return ("inventory_levels/update", level)

    def change_cost(self) -> Action:
        item = copy.deepcopy(self.items[self.rng.choice(list(self.items))])
        stamp = self._stamp(item)
        cost = cents_of(item["cost"]) if item["cost"] else 500
        item.update(cost=money(max(1, cost + self.rng.choice((-50, 25, 100)))),
                    updated_at=local(stamp))  # fmt: skip
        self.items[item["id"]] = item
        return [("inventory_items/update", item)]

    def delete_product(self) -> Action:
        pid = self.rng.choice(self._unused(self.products))
        del self.products[pid]
        return [("products/delete", {"id": pid})]

    def new_cart(self) -> Action:
        token, stamp = new_hex(self.rng), self._stamp()
        cart = sample("carts_create")
        size = min(len(self.products), self.rng.randint(1, 3))
        picked = self.rng.sample(list(self.products), k=size)
        lines = [self._cart_line(cart["line_items"][0], self.products[pid]) for pid in picked]
        cart.update(id=token, token=token, line_items=lines, created_at=zulu(stamp),
                    updated_at=zulu(stamp))  # fmt: skip
        self._keep(self.carts, token, cart)
        return [("carts/create", cart)]

    def _cart_line(self, template: Payload, product: Payload) -> Payload:
        v = self.rng.choice(product["variants"])
        line = copy.deepcopy(template)
        line.update(id=v["id"], variant_id=v["id"], product_id=product["id"],
                    key=f"{v['id']}:{new_hex(self.rng)}", price=v["price"],
                    original_price=v["price"], discounted_price=v["price"],
                    price_set=money_set(cents_of(v["price"])),
                    discounted_price_set=money_set(cents_of(v["price"])), sku=v["sku"],
                    vendor=product["vendor"],
                    title=f"{product['title']} - {v['title']}", total_discount="0.00",
                    total_discount_set=money_set(0))  # fmt: skip
        set_quantity(line, self.rng.randint(1, 3))
        self.in_use.add(product["id"])
        return line

    def update_cart(self) -> Action:
        cart = copy.deepcopy(self.carts[self.rng.choice(list(self.carts))])
        cart["updated_at"] = zulu(self._stamp(cart))
        set_quantity(self.rng.choice(cart["line_items"]), self.rng.randint(1, 4))
        self.carts[cart["token"]] = cart
        return [("carts/update", cart)]


def set_quantity(line: Payload, quantity: int) -> None:
    total = cents_of(line["price"]) * quantity
    line.update(quantity=quantity, line_price=money(total), original_line_price=money(total),
                line_price_set=money_set(total),
                original_line_price_set=money_set(total))  # fmt: skip
