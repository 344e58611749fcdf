"""The resource registry: one entry per Shopify resource cartwheel stores (see registry.py)."""

from __future__ import annotations

from core.topics import RECORDED_TOPICS
from resources import (
    carts,
    checkouts,
    customers,
    fulfillments,
    inventory,
    order_edits,
    orders,
    products,
    refunds,
    transactions,
)
from resources.registry import Resource

# Registry order is write order within a wave: a table's rows before those pointing at them.
RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        customers.RESOURCE,
        products.RESOURCE,
        inventory.ITEMS,
        inventory.COSTS,
        inventory.LEVELS,
        orders.RESOURCE,
        order_edits.RESOURCE,
        refunds.RESOURCE,
        transactions.RESOURCE,
        fulfillments.RESOURCE,
        carts.RESOURCE,
        checkouts.RESOURCE,
    )
}

# topic -> the resource whose data it carries (a version, or a deletion)
_BY_TOPIC: dict[str, Resource] = {
    topic: r for r in RESOURCES.values() for topic in (*r.topics, r.delete_topic) if topic
}
ENTITY_TOPICS: frozenset[str] = frozenset(_BY_TOPIC)
TOPICS: frozenset[str] = ENTITY_TOPICS | RECORDED_TOPICS


def get(name: str) -> Resource:
    """The registry entry of a resource; KeyError for an unknown name."""
    return RESOURCES[name]


def for_topic(topic: str) -> Resource | None:
    """The resource a topic carries data of, or None (recorded topics, unknown topics)."""
    return _BY_TOPIC.get(topic)


def path_accepts(path: str, topic: str) -> bool:
    """Whether POST /webhooks/<path> may carry this topic.

    Each resource's path takes its own topics (and the path named by the topic's group); the
    customers path also takes the customer compliance topics, which belong to no resource.
    """
    owner = _BY_TOPIC.get(topic)
    if owner is not None:
        # orders/edited belongs to order_edits, but is subscribed with the other orders/ topics.
        return path in (owner.name, topic.split("/", 1)[0])
    return path == "customers" and topic.startswith("customers/") and topic in TOPICS


def ingestible() -> dict[str, Resource]:
    """Resources that /ingest takes, by name."""
    return {name: r for name, r in RESOURCES.items() if r.ingest_topic}
