"""Customers: `customers/*` webhooks, /ingest, and the Admin API's `customers` connection."""

from __future__ import annotations

from typing import Any

from models import Customer
from models.base import table_of
from resources import graphql as gql
from resources.fields import ShopifyId, Timestamp, Versioned, optional, text
from resources.registry import Pull, PullContext, Pulled, Resource


class CustomerPayload(Versioned):
    id = ShopifyId(required=True)
    email = text(320)
    first_name = text()
    last_name = text()
    phone = text(64)
    state = text(32)
    currency = text(8)
    created_at = optional(Timestamp())


def map_customer(
    node: dict[str, Any], children: list[dict[str, Any]], context: PullContext
) -> Pulled:
    """A Customer node -> a customers row (the Admin API has no customer currency)."""
    values = {
        "email": (node.get("defaultEmailAddress") or {}).get("emailAddress"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "phone": (node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        "state": gql.lower(node.get("state")),
        "created_at": gql.time(node.get("createdAt")),
        "updated_at": gql.time(node.get("updatedAt")),
    }
    return Pulled(gql.numeric_id(node.get("id")), values)


RESOURCE = Resource(
    name="customers",
    table=table_of(Customer),
    key="shopify_id",
    payload_key="id",
    schema=CustomerPayload(),
    columns=("email", "first_name", "last_name", "phone", "state", "currency", "created_at"),
    # An order may bring its customer before customers/create does, without a creation time;
    # the late create then loses last-writer-wins but still fills that in.
    facts=("created_at",),
    topics=("customers/create", "customers/update", "customers/enable", "customers/disable"),
    delete_topic="customers/delete",
    ingest_topic="customers/update",
    pull=Pull(
        connection="customers",
        fields="id firstName lastName state createdAt updatedAt "
        "defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber }",
        map_node=map_customer,
        gid_type="Customer",
        page_size=100,
    ),
)
