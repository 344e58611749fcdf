"""The GraphQL queries cartwheel sends, and the mapping of their nodes to table rows.

Pure functions: GraphQL shapes in (camelCase, GIDs, MoneyBag), the same column values the
webhook path produces out (numeric ids from the GID suffix, shop-money decimals, lower-case
REST enums, aware datetimes). Columns the Admin API does not expose (orders' order_number and
checkout_id, customers' currency, checkouts' cart_token and email) are left out of the row so
that an upsert keeps whatever a webhook stored there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from models.payloads import BIGINT_MAX, normalize_token

_MONEY = "{ shopMoney { amount currencyCode } }"
_CUSTOMER_REF = (
    "customer { id firstName lastName defaultEmailAddress { emailAddress } "
    "defaultPhoneNumber { phoneNumber } }"
)
_RECOVER = re.compile(r"/checkouts/([^/?#]+)/recover")
# REST's fulfillment_status: null while unfulfilled, else these (GraphQL's other display
# states -- in progress, on hold, scheduled... -- are still unfulfilled to REST).
_FULFILLMENT = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


class MappingError(ValueError):
    """A node that cannot become a row (missing id, malformed value)."""


@dataclass(frozen=True)
class Resource:
    """One pullable resource: its connection, node fields and nested child connection."""

    name: str
    connection: str
    fields: str
    child: str | None = None
    child_fields: str = ""
    page_size: int = 50  # chosen so a page's requested cost stays under 1,000 points
    child_page: int = 10
    single: str = ""  # the root field that reads one node by id


RESOURCES: dict[str, Resource] = {
    "orders": Resource(
        "orders",
        "orders",
        "id name email createdAt updatedAt processedAt cancelledAt closedAt cancelReason "
        "displayFinancialStatus displayFulfillmentStatus currencyCode test sourceName cartToken "
        f"checkoutToken totalPriceSet {_MONEY} subtotalPriceSet {_MONEY} totalTaxSet {_MONEY} "
        f"totalDiscountsSet {_MONEY} currentTotalPriceSet {_MONEY} totalRefundedSet {_MONEY} "
        f"{_CUSTOMER_REF}",
        child="lineItems",
        child_fields="id sku title quantity currentQuantity originalUnitPriceSet "
        f"{_MONEY} product {{ id }} variant {{ id }}",
        page_size=10,
        child_page=10,
        single="order",
    ),
    "customers": Resource(
        "customers",
        "customers",
        "id firstName lastName state createdAt updatedAt defaultEmailAddress { emailAddress } "
        "defaultPhoneNumber { phoneNumber }",
        page_size=100,
    ),
    "products": Resource(
        "products",
        "products",
        "id title handle vendor productType status createdAt updatedAt publishedAt",
        child="variants",
        child_fields="id title sku price compareAtPrice inventoryQuantity updatedAt",
        page_size=15,
        child_page=50,
        single="product",
    ),
    "checkouts": Resource(
        "checkouts",
        "abandonedCheckouts",
        f"id abandonedCheckoutUrl createdAt updatedAt completedAt totalPriceSet {_MONEY} "
        f"subtotalPriceSet {_MONEY} customer {{ id }}",
        page_size=100,
    ),
}


def search_since(since: datetime | None) -> str:
    """Shopify search syntax for 'updated at or after `since`' (empty: everything)."""
    if since is None:
        return ""
    moment = since.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"updated_at:>='{moment}'"


def bulk_query(resource: Resource, since: datetime | None) -> str:
    """The query handed to bulkOperationRunQuery (no page sizes: Shopify pages for us)."""
    search = search_since(since)
    args = f'(query: "{search}")' if search else ""
    children = (
        f" {resource.child} {{ edges {{ node {{ {resource.child_fields} }} }} }}"
        if resource.child
        else ""
    )
    node = f"{resource.fields}{children}"
    return f"{{ {resource.connection}{args} {{ edges {{ node {{ {node} }} }} }} }}"


RUN_BULK = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status createdAt }
    userErrors { field message }
  }
}"""
BULK_FIELDS = (
    "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url "
    "partialDataUrl"
)
BULK_BY_ID = f"query BulkById($id: ID!) {{ bulkOperation(id: $id) {{ {BULK_FIELDS} }} }}"
CURRENT_BULK = f"{{ currentBulkOperation(type: QUERY) {{ {BULK_FIELDS} }} }}"


def page_query(resource: Resource) -> str:
    """One page of nodes updated since a time, oldest change first, children included."""
    children = ""
    if resource.child:
        children = (
            f" {resource.child}(first: {resource.child_page}) {{ pageInfo {{ hasNextPage "
            f"endCursor }} edges {{ node {{ {resource.child_fields} }} }} }}"
        )
    return (
        f"query Page($first: Int!, $after: String, $query: String) {{ "
        f"{resource.connection}(first: $first, after: $after, query: $query, sortKey: UPDATED_AT)"
        f" {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {resource.fields}{children} }}"
        f" }} }} }}"
    )


def children_query(resource: Resource) -> str:
    """The rest of one node's children, when a page held only the first of them."""
    return (
        f"query Children($id: ID!, $after: String) {{ {resource.single}(id: $id) {{ id "
        f"{resource.child}(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} "
        f"edges {{ node {{ {resource.child_fields} }} }} }} }} }}"
    )


@dataclass
class Record:
    """One mapped node: its key, column values, child rows and embedded customer."""

    key: int | str
    values: dict[str, Any]
    children: list[dict[str, Any]] = field(default_factory=list)
    customer: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None  # the source node, children inlined


def numeric_id(gid: Any) -> int:
    """`gid://shopify/Order/123` (or a bare number) -> 123."""
    text = str(gid or "").split("?", 1)[0].rsplit("/", 1)[-1]
    if not text.isdigit() or not 0 < int(text) <= BIGINT_MAX:
        raise MappingError(f"not a Shopify id: {str(gid)[:80]!r}")
    return int(text)


def _ref(obj: Any) -> int | None:
    return numeric_id(obj["id"]) if isinstance(obj, dict) and obj.get("id") else None


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"not a timestamp: {str(value)[:40]!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _money(bag: Any) -> Decimal | None:
    amount = (bag or {}).get("shopMoney", {}).get("amount") if isinstance(bag, dict) else None
    return _decimal(amount)


def _decimal(amount: Any) -> Decimal | None:
    if amount is None:
        return None
    try:
        return Decimal(str(amount))
    except InvalidOperation as exc:
        raise MappingError(f"not an amount: {str(amount)[:40]!r}") from exc


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def _customer(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict) or not obj.get("id"):
        return None
    return {
        "shopify_id": numeric_id(obj["id"]),
        "email": (obj.get("defaultEmailAddress") or {}).get("emailAddress"),
        "first_name": obj.get("firstName"),
        "last_name": obj.get("lastName"),
        "phone": (obj.get("defaultPhoneNumber") or {}).get("phoneNumber"),
    }


def map_order(node: dict[str, Any], children: list[dict[str, Any]]) -> Record:
    """An Order node and its LineItem nodes -> orders and order_line_items rows."""
    total = node.get("totalPriceSet")
    values = {
        "name": node.get("name"),
        "email": node.get("email"),
        "customer_id": _ref(node.get("customer")),
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT.get(str(node.get("displayFulfillmentStatus"))),
        "currency": node.get("currencyCode")
        or (total or {}).get("shopMoney", {}).get("currencyCode"),
        "total_price": _money(total),
        "subtotal_price": _money(node.get("subtotalPriceSet")),
        "total_tax": _money(node.get("totalTaxSet")),
        "total_discounts": _money(node.get("totalDiscountsSet")),
        "current_total_price": _money(node.get("currentTotalPriceSet")),
        "total_refunded": _money(node.get("totalRefundedSet")) or Decimal(0),
        "cancel_reason": _lower(node.get("cancelReason")),
        "cart_token": normalize_token(node.get("cartToken")),
        "checkout_token": normalize_token(node.get("checkoutToken")),
        "source_name": node.get("sourceName"),
        "test": node.get("test"),
        "created_at": _time(node.get("createdAt")),
        "processed_at": _time(node.get("processedAt")),
        "cancelled_at": _time(node.get("cancelledAt")),
        "closed_at": _time(node.get("closedAt")),
        "updated_at": _time(node.get("updatedAt")),
    }
    lines = [
        {
            "shopify_id": numeric_id(c["id"]),
            "product_id": _ref(c.get("product")),
            "variant_id": _ref(c.get("variant")),
            "sku": c.get("sku"),
            "title": c.get("title"),
            "quantity": int(c.get("quantity") or 0),
            "current_quantity": c.get("currentQuantity"),
            "price": _money(c.get("originalUnitPriceSet")),
        }
        for c in children
    ]
    return Record(numeric_id(node.get("id")), values, lines, _customer(node.get("customer")))


def map_customer(node: dict[str, Any], children: list[dict[str, Any]]) -> Record:
    """A Customer node -> a customers row."""
    values = {
        "email": (node.get("defaultEmailAddress") or {}).get("emailAddress"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "phone": (node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        "state": _lower(node.get("state")),
        "created_at": _time(node.get("createdAt")),
        "updated_at": _time(node.get("updatedAt")),
    }
    return Record(numeric_id(node.get("id")), values)


def map_product(node: dict[str, Any], children: list[dict[str, Any]]) -> Record:
    """A Product node and its ProductVariant nodes -> products and product_variants rows."""
    variants = [
        {
            "shopify_id": numeric_id(v["id"]),
            "title": v.get("title"),
            "sku": v.get("sku"),
            "price": _decimal(v.get("price")),
            "compare_at_price": _decimal(v.get("compareAtPrice")),
            "inventory_quantity": v.get("inventoryQuantity"),
            "updated_at": _time(v.get("updatedAt")),
        }
        for v in children
    ]
    prices = [v["price"] for v in variants if v["price"] is not None]
    values = {
        "title": node.get("title"),
        "handle": node.get("handle"),
        "vendor": node.get("vendor"),
        "product_type": node.get("productType"),
        "status": _lower(node.get("status")),
        "price": min(prices) if prices else None,
        "created_at": _time(node.get("createdAt")),
        "published_at": _time(node.get("publishedAt")),
        "updated_at": _time(node.get("updatedAt")),
    }
    return Record(numeric_id(node.get("id")), values, variants)


def map_checkout(node: dict[str, Any], children: list[dict[str, Any]]) -> Record:
    """An AbandonedCheckout node -> a checkouts row, keyed by the token in its recovery URL."""
    found = _RECOVER.search(str(node.get("abandonedCheckoutUrl") or ""))
    token = normalize_token(found.group(1)) if found else None
    if not token:
        raise MappingError("abandoned checkout without a recovery URL holding its token")
    total = node.get("totalPriceSet")
    values = {
        "shopify_id": numeric_id(node.get("id")),
        "customer_id": _ref(node.get("customer")),
        "currency": (total or {}).get("shopMoney", {}).get("currencyCode"),
        "total_price": _money(total),
        "subtotal_price": _money(node.get("subtotalPriceSet")),
        "created_at": _time(node.get("createdAt")),
        "completed_at": _time(node.get("completedAt")),
        "updated_at": _time(node.get("updatedAt")),
    }
    return Record(token, values, customer=_customer(node.get("customer")))


MAPPERS = {
    "orders": map_order,
    "customers": map_customer,
    "products": map_product,
    "checkouts": map_checkout,
}


def map_node(resource: Resource, node: dict[str, Any], children: list[dict[str, Any]]) -> Record:
    """Map a node (any nested connection already flattened into `children`)."""
    record = MAPPERS[resource.name](node, children)
    payload = {k: v for k, v in node.items() if k != resource.child and k != "__parentId"}
    if resource.child:
        payload[resource.child] = children
    record.payload = payload
    return record
