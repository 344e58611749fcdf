"""The webhook topics cartwheel accepts, and the resource each one belongs to."""

from __future__ import annotations

ENTITY_TOPICS: dict[str, str] = {
    "customers/create": "customers",
    "customers/update": "customers",
    "customers/enable": "customers",
    "customers/disable": "customers",
    "customers/delete": "customers",
    "products/create": "products",
    "products/update": "products",
    "products/delete": "products",
    "orders/create": "orders",
    "orders/updated": "orders",
    "orders/paid": "orders",
    "orders/cancelled": "orders",
    "orders/fulfilled": "orders",
    "orders/partially_fulfilled": "orders",
    "orders/edited": "orders",
    "orders/delete": "orders",
    "carts/create": "carts",
    "carts/update": "carts",
    "checkouts/create": "checkouts",
    "checkouts/update": "checkouts",
    "checkouts/delete": "checkouts",
}

# Recorded in the event log; what they do to a tenant's data is the lifecycle jobs' business.
LIFECYCLE_TOPICS: dict[str, str] = {
    "app/uninstalled": "app",
    "customers/data_request": "compliance",
    "customers/redact": "compliance",
    "shop/redact": "compliance",
}

# Recorded only; a running backfill watches for its bulk operation's finish notice.
NOTIFICATION_TOPICS: dict[str, str] = {"bulk_operations/finish": "bulk"}

TOPICS: dict[str, str] = {**ENTITY_TOPICS, **LIFECYCLE_TOPICS, **NOTIFICATION_TOPICS}

RESOURCES: tuple[str, ...] = ("customers", "products", "orders", "carts", "checkouts")


def resource_of(topic: str) -> str | None:
    """The resource a topic belongs to, or None for an unknown topic."""
    return TOPICS.get(topic)


def is_delete(topic: str) -> bool:
    """Whether a topic removes its resource."""
    return topic.endswith("/delete")


def path_accepts(resource: str, topic: str) -> bool:
    """Whether POST /webhooks/<resource> may carry this topic.

    A customers path also takes the customer compliance topics, which belong to no other path.
    """
    owner = TOPICS.get(topic)
    if owner == resource:
        return True
    return resource == "customers" and topic.startswith("customers/")
