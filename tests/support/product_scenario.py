"""The sales scenario (tests/support/sales_scenario.py) dressed for product and list tests:
product types and vendors, customers with tags (one later deleted), orders from several sales
channels and guests, inventory levels at two locations; and a shop registered in a time zone.

Only payload fields change, never a money field: every version of an order gets the same
customer and channel, so the sales report's figures stay what the sales oracle says.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.accounts import Account
from tests.support.pipeline import drain_all
from tests.support.sales_scenario import (
    BLACK,
    CASE,
    GOLD,
    ORDER,
    PRODUCT,
    TABLE,
    Delivery,
    Payload,
    Sale,
    deliveries_of,
    extras,
    ny,
    sales,
    shuffled_twice,
)
from tests.support.samples import sample_json
from tests.support.webhooks import Sender

CUSTOMER = 8_100_000_000_000_000_000
LOCATIONS = (8_200_000_000_000_000_001, 8_200_000_000_000_000_002)
# product -> (product type, vendor): two types, two vendors, one product of neither kind.
KINDS = {
    PRODUCT + 1: ("Sunglasses", "Ray Works"),
    PRODUCT + 2: ("Furniture", "Oak & Co"),
    PRODUCT + 3: ("Accessories", "Ray Works"),
    PRODUCT + 4: ("", "Cartwheel Goods"),
}
# customer number -> tags as Shopify sends them (one comma-separated string).
TAGS = {1: "VIP, wholesale", 2: "vip", 3: "", 4: "=cmd|' /C calc'!A0, newsletter"}
# order number -> customer number (absent: a guest order).
BUYERS = {1: 1, 2: 1, 3: 2, 5: 1, 6: 2, 7: 3, 8: 1, 9: 3, 11: 2, 12: 3, 13: 4, 14: 4, 15: 1,
          16: 2, 20: 3}  # fmt: skip
DELETED_CUSTOMER = 4
# Inventory available per item and location (None: not tracked there).
LEVELS = {BLACK: (7, 3), GOLD: (0, None), TABLE: (2, 0), CASE: (None, None)}

_CUSTOMER = sample_json("2026-04/customers_create")
_LEVEL = sample_json("2026-04/inventory_levels_update")


def channel_of(number: int) -> str | None:
    """web for most orders, pos for every third, none for every seventh."""
    if number % 7 == 0:
        return None
    return "pos" if number % 3 == 0 else "web"


def customer_payload(n: int) -> Payload:
    first = '=HYPERLINK("http://x")' if n == 4 else f"Buyer{n}"
    return _CUSTOMER | {
        "id": CUSTOMER + n,
        "admin_graphql_api_id": f"gid://shopify/Customer/{CUSTOMER + n}",
        "email": f"customer{n}@example.com",
        "first_name": first,
        "last_name": "+Smith" if n == 2 else "Doe",
        "tags": TAGS[n],
        "created_at": ny("2026-01-10 10:00"),
        "updated_at": ny(f"2026-01-1{n} 10:00"),
    }


def dressed(topic: str, payload: Payload) -> Payload:
    """The payload with its product kind, customer and channel."""
    if topic.startswith("products/"):
        kind, vendor = KINDS[payload["id"]]
        return payload | {"product_type": kind, "vendor": vendor}
    if topic.startswith("orders/") and topic != "orders/delete":
        number = payload["id"] - ORDER
        out = copy.deepcopy(payload) | {"source_name": channel_of(number)}
        buyer = BUYERS.get(number)
        out["customer"] = None if buyer is None else customer_payload(buyer)
        return out
    return payload


def level_payloads() -> list[Delivery]:
    out: list[Delivery] = []
    for variant, counts in LEVELS.items():
        for location, available in zip(LOCATIONS, counts, strict=True):
            item = variant.inventory_item_id
            out.append(
                (
                    "inventory_levels/update",
                    _LEVEL
                    | {
                        "inventory_item_id": item,
                        "location_id": location,
                        "available": available,
                        "updated_at": ny("2026-04-30 18:00"),
                        "admin_graphql_api_id": "gid://shopify/InventoryLevel/"
                        f"{location}?inventory_item_id={item}",
                    },
                )
            )
    return out


def shop_data(orders: Iterable[Sale] | None = None, costs: float = 1) -> list[Delivery]:
    """Customers, the catalogue and the orders, dressed, and inventory levels (what
    `deletions` deletes goes after them, in order)."""
    chosen = list(sales() if orders is None else orders)
    data = [("customers/create", customer_payload(n)) for n in TAGS]
    data += [(t, dressed(t, p)) for t, p in deliveries_of(chosen, costs)]
    data += level_payloads()
    if orders is None:
        data += extras(chosen[6])
    return data


def deletions() -> list[Delivery]:
    """Deliveries sent after all the others: a customer deleted."""
    return [("customers/delete", {"id": CUSTOMER + DELETED_CUSTOMER})]


def deliver_shuffled(
    client: FlaskClient, settings: Settings, account: Account, data: list[Delivery], seed: int
) -> None:
    """Every payload twice, shuffled, through /webhooks and the real drain."""
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    copies = shuffled_twice(data, seed)
    for n in range(0, len(copies), 40):
        for topic, payload, webhook_id in copies[n : n + 40]:
            response = sender.send(topic, payload, webhook_id=webhook_id)
            assert response.status_code == 200, (topic, response.get_json())
        drain_all(settings)


def deliver_in_order(
    client: FlaskClient, settings: Settings, account: Account, data: list[Delivery]
) -> None:
    sender = Sender(client, shop=account["shop"], secret=account["webhook_secret"])
    for topic, payload in data:
        assert sender.send(topic, payload).status_code == 200, topic
    drain_all(settings)
