"""Erase a person from Shopify payloads while keeping the facts metrics need: pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Keys whose values identify or describe a person, wherever they appear in a payload: names,
# emails, phones, addresses, notes and what a browser or buyer typed in.
PERSONAL_KEYS = frozenset(
    {
        "email", "contact_email", "phone", "first_name", "last_name", "company",
        "billing_address", "shipping_address", "default_address", "addresses", "destination",
        "address1", "address2", "city", "zip", "province", "latitude", "longitude",
        "note", "note_attributes", "attributes", "properties", "browser_ip", "client_details",
        "landing_site", "landing_site_ref", "referring_site", "customer_locale",
        "email_marketing_consent", "sms_marketing_consent", "buyer_accepts_marketing",
        "sms_marketing_phone", "payment_details", "device_id",
    }
)  # fmt: skip

# What stays of a customer object: ids, dates, state and the money it spent.
CUSTOMER_FACTS = frozenset(
    {
        "id", "admin_graphql_api_id", "created_at", "updated_at", "state", "currency",
        "orders_count", "total_spent", "last_order_id", "tax_exempt", "verified_email",
    }
)  # fmt: skip


def redact_payload(value: Any) -> Any:
    """A copy with every personal field set to null and every customer object cut to its facts."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in PERSONAL_KEYS:
                out[key] = None
            elif key == "customer" and isinstance(item, dict):
                out[key] = customer_facts(item)
            else:
                out[key] = redact_payload(item)
        return out
    if isinstance(value, list):
        return [redact_payload(item) for item in value]
    return value


def customer_facts(customer: dict[str, Any]) -> dict[str, Any]:
    """A customer object reduced to its non-personal facts."""
    return {k: v for k, v in customer.items() if k in CUSTOMER_FACTS}


def redact_event_payload(topic: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Redact one stored delivery; a customers/* body is itself a customer object."""
    if topic.startswith("customers/") and "customer" not in payload:
        return customer_facts(payload)
    redacted: dict[str, Any] = redact_payload(payload)
    return redacted


# Topics of things that belong to an order and name it by `order_id`.
ORDER_PARTS = ("refunds", "order_transactions", "fulfillments")


@dataclass(frozen=True)
class Person:
    """Who a compliance request is about, as the request and our rows identify them."""

    customer_id: int
    emails: frozenset[str]
    order_ids: frozenset[int]
    checkout_tokens: frozenset[str]
    checkout_ids: frozenset[int]
    cart_tokens: frozenset[str]

    def mentioned_in(self, topic: str, payload: dict[str, Any]) -> bool:
        """Whether a delivery with this topic and body concerns this person."""
        resource = topic.split("/", 1)[0]
        customer = payload.get("customer")
        if isinstance(customer, dict) and _id(customer.get("id")) == self.customer_id:
            return True
        email = payload.get("email")
        if isinstance(email, str) and email.lower() in self.emails:
            return True
        token = payload.get("token")
        token = token.split("?", 1)[0] if isinstance(token, str) else None
        if topic == "orders/edited":
            edit = payload.get("order_edit")
            return isinstance(edit, dict) and _id(edit.get("order_id")) in self.order_ids
        if resource == "customers":
            return _id(payload.get("id")) == self.customer_id
        if resource == "orders":
            return _id(payload.get("id")) in self.order_ids
        if resource == "checkouts":
            return token in self.checkout_tokens or _id(payload.get("id")) in self.checkout_ids
        if resource == "carts":
            return token in self.cart_tokens
        if resource in ORDER_PARTS:
            return _id(payload.get("order_id")) in self.order_ids
        return False


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
